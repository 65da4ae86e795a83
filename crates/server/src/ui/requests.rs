//! Provision-request pages: the request form (from selected hits), the
//! list (a researcher's own, or the staff queue), and a request's page with
//! the actions its viewer may take. Every action calls the `requests` crate,
//! which decides whether it is allowed.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use requests::{Container, NewRequest, Request, Status, PLATE_FORMATS};
use serde::Deserialize;

use super::{error_page, lang_of, layout, sign_in_first, timestamp, Lang};
use crate::auth::{Caller, MaybeCaller};
use crate::provision::{compound_ids, status_filter};
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/requests", get(list_page).post(submit))
        .route("/requests/new", get(new_page))
        .route("/requests/{id}", get(request_page))
        .route("/requests/{id}/{action}", post(act))
}

fn csrf(caller: &Caller) -> &str {
    caller.csrf.as_deref().unwrap_or("")
}

fn compounds_grid(ids: &[library::CompoundId], shipment: &[Container]) -> Markup {
    html! {
        table.grid #request-compounds {
            tbody {
                @for id in ids {
                    tr {
                        td { img.depiction loading="lazy" width="150" height="112" alt=(id) src={ "/api/v1/compounds/" (id) "/depiction.svg?size=150" }; }
                        td { a href={ "/compounds/" (id) } { (id) } }
                        @if let Some(c) = shipment.iter().find(|c| c.compound == *id) {
                            td.shipped { (c.barcode) " " (c.well) }
                        }
                    }
                }
            }
        }
    }
}

async fn new_page(
    State(_state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let lang = lang_of(&headers);
    let here = uri.path_and_query().map_or("/requests/new", |p| p.as_str()).to_owned();
    let Some(caller) = caller else { return sign_in_first(&here) };
    let t = lang.texts();
    // Checkboxes send `ids` once per ticked hit.
    let query = uri.query().unwrap_or("");
    let ids = match compound_ids(query.split('&').filter_map(|p| p.strip_prefix("ids="))) {
        Ok(ids) => ids,
        Err(e) => return error_page(lang, Some(&caller), &e),
    };
    let joined: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let body = html! {
        h1 { (t.new_request) }
        form #request-form.search method="post" action={ "/requests?csrf=" (csrf(&caller)) } {
            input type="hidden" name="compounds" value=(joined.join(","));
            p { strong #request-count { (ids.len()) } " " (t.compounds) }
            label { (t.purpose) input #purpose name="purpose" required; }
            label { (t.amount) input #amount name="amount" required value="10 µL, 10 mM (DMSO)"; }
            label { (t.plate_format)
                select #plate-format name="plate_format" {
                    @for f in PLATE_FORMATS { option value=(f) selected[f == "384-well"] { (f) } }
                }
            }
            button #submit-request type="submit" { (t.submit_request) }
        }
        (compounds_grid(&ids, &[]))
    };
    layout(lang, Some(&caller), &here, t.new_request, body).into_response()
}

#[derive(Deserialize)]
struct SubmitForm {
    compounds: String,
    purpose: String,
    amount: String,
    plate_format: String,
}

async fn submit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Form(f): Form<SubmitForm>,
) -> Response {
    let lang = lang_of(&headers);
    let made = async {
        let new = NewRequest {
            compounds: compound_ids(f.compounds.split(','))?,
            purpose: f.purpose,
            amount: f.amount,
            plate_format: f.plate_format,
        };
        Ok::<_, ApiError>(state.requests.submit(&caller.actor, new).await?)
    };
    match made.await {
        Ok(r) => Redirect::to(&format!("/requests/{}", r.id)).into_response(),
        Err(e) => error_page(lang, Some(&caller), &e),
    }
}

#[derive(Deserialize)]
struct ListParams {
    status: Option<String>,
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Query(p): Query<ListParams>,
) -> Response {
    let lang = lang_of(&headers);
    let Some(caller) = caller else { return sign_in_first("/requests") };
    let t = lang.texts();
    let listed = async {
        let status = status_filter(p.status.as_deref())?;
        Ok::<_, ApiError>(state.requests.list(&caller.actor, status).await?)
    };
    let list = match listed.await {
        Ok(l) => l,
        Err(e) => return error_page(lang, Some(&caller), &e),
    };
    let queue = caller.actor.can(accounts::Permission::ReviewRequests);
    let title = if queue { t.requests_queue } else { t.requests_mine };
    let body = html! {
        h1 { (title) }
        nav.filters {
            a href="/requests" { "*" }
            @for s in Status::ALL { " · " a href={ "/requests?status=" (s) } { (lang.status(s)) } }
        }
        @if list.is_empty() {
            p #no-requests { (t.no_requests) }
        } @else {
            table.grid #requests {
                thead { tr { th { "#" } th { (t.requester) } th { (t.status) } th { (t.compounds) } th { (t.purpose) } th { (t.created) } } }
                tbody { @for r in &list { tr {
                    td { a.request-link href={ "/requests/" (r.id) } { "#" (r.id) } }
                    td { (r.requester) }
                    td { span class={ "status " (r.status) } { (lang.status(r.status)) } }
                    td.num { (r.compounds.len()) }
                    td { (r.purpose) }
                    td { (timestamp(r.created_at)) }
                } } }
            }
        }
    };
    layout(lang, Some(&caller), "/requests", title, body).into_response()
}

/// Suggested containers for a shipment: one daughter plate named after the
/// request, filled row by row in the requested format (tubes get one
/// barcode each). Staff overwrite them with what they actually used.
fn suggested(r: &Request) -> Vec<(String, String)> {
    let columns = match r.plate_format.as_str() {
        "96-well" => 12,
        "384-well" => 24,
        "1536-well" => 48,
        _ => 0,
    };
    r.compounds
        .iter()
        .enumerate()
        .map(|(n, _)| match n.checked_div(columns) {
            None => (format!("T{:06}-{:04}", r.id, n + 1), String::new()),
            Some(row) => {
                let row = row as u8;
                let row_name = if row < 26 {
                    char::from(b'A' + row).to_string()
                } else {
                    format!("A{}", char::from(b'A' + row - 26))
                };
                (format!("DP{:06}", r.id), format!("{row_name}{:02}", n % columns + 1))
            }
        })
        .collect()
}

async fn request_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let lang = lang_of(&headers);
    let here = format!("/requests/{id}");
    let Some(caller) = caller else { return sign_in_first(&here) };
    let r = match state.requests.get(&caller.actor, id).await {
        Ok(r) => r,
        Err(e) => return error_page(lang, Some(&caller), &e.into()),
    };
    let t = lang.texts();
    let reviewer = caller.actor.can(accounts::Permission::ReviewRequests);
    let own = r.requester_id == caller.actor.user_id;
    let action = |what: &str| format!("/requests/{id}/{what}?csrf={}", csrf(&caller));
    let body = html! {
        h1 { (t.request) " #" (r.id) " " span #request-status class={ "status " (r.status) } { (lang.status(r.status)) } }
        table.kv {
            tr { th { (t.requester) } td #request-requester { (r.requester) } }
            tr { th { (t.purpose) } td { (r.purpose) } }
            tr { th { (t.amount) } td { (r.amount) } }
            tr { th { (t.plate_format) } td { (r.plate_format) } }
            tr { th { (t.created) } td { (timestamp(r.created_at)) } }
            @if let Some(by) = &r.reviewer { tr { th { (t.reviewer) } td { (by) } } }
            @if !r.review_note.is_empty() { tr { th { (t.note) } td #review-note { (r.review_note) } } }
        }
        @if reviewer && !own && r.status == Status::Submitted {
            section.actions {
                form method="post" action=(action("approve")) {
                    label { (t.note) input #approve-note name="note"; }
                    button #approve type="submit" { (t.approve) }
                }
                form method="post" action=(action("reject")) {
                    label { (t.note) input #reject-note name="note" required; }
                    button #reject type="submit" { (t.reject) }
                }
            }
        }
        @if own && r.status == Status::Submitted {
            form method="post" action=(action("cancel")) { button #cancel type="submit" { (t.cancel_request) } }
        }
        @if reviewer && r.status == Status::Approved {
            form #shipment-form method="post" action=(action("ship")) {
                h2 { (t.shipment) }
                table.grid {
                    thead { tr { th { (t.compounds) } th { (t.barcode) } th { (t.well) } } }
                    tbody { @for (c, (barcode, well)) in r.compounds.iter().zip(suggested(&r)) { tr {
                        td { (c) }
                        td { input name={ "barcode_" (c) } value=(barcode) required; }
                        td { input name={ "well_" (c) } value=(well); }
                    } } }
                }
                button #ship type="submit" { (t.ship) }
            }
        }
        h2 { (t.compounds) " (" (r.compounds.len()) ")" }
        (compounds_grid(&r.compounds, &r.shipment))
    };
    layout(lang, Some(&caller), &here, &format!("{} #{id}", t.request), body).into_response()
}

async fn act(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let lang: Lang = lang_of(&headers);
    let note = form.get("note").map_or("", String::as_str);
    let done = match action.as_str() {
        "approve" => state.requests.approve(&caller.actor, id, note).await,
        "reject" => state.requests.reject(&caller.actor, id, note).await,
        "cancel" => state.requests.cancel(&caller.actor, id).await,
        "ship" => {
            let request = match state.requests.get(&caller.actor, id).await {
                Ok(r) => r,
                Err(e) => return error_page(lang, Some(&caller), &e.into()),
            };
            let containers: Vec<Container> = request
                .compounds
                .iter()
                .map(|c| Container {
                    compound: *c,
                    barcode: form.get(&format!("barcode_{c}")).cloned().unwrap_or_default(),
                    well: form.get(&format!("well_{c}")).cloned().unwrap_or_default(),
                })
                .collect();
            state.requests.ship(&caller.actor, id, &containers).await
        }
        other => {
            let e = ApiError::not_found(format!("no action '{other}' on requests"));
            return error_page(lang, Some(&caller), &e);
        }
    };
    match done {
        Ok(_) => Redirect::to(&format!("/requests/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&caller), &e.into()),
    }
}

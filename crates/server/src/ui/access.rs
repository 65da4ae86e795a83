//! Biobank access-request pages (bilingual): the request form under a
//! cross-search result, the list of requests the viewer may see, and a
//! request's page with each biobank's state, the steps the viewer may take
//! and each biobank's message thread. Every action goes through the
//! `negotiator` crate, which decides whether it is allowed.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use biobank::protect::BankAnswer;
use maud::{html, Markup};
use negotiator::{NewRequest, State as Step};

use super::{error_page, lang_of, layout, sign_in_first, timestamp, Lang};
use crate::auth::{Caller, MaybeCaller};
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/biobanks/requests", get(list_page).post(submit))
        .route("/biobanks/requests/{id}", get(request_page))
        .route("/biobanks/requests/{id}/{action}", post(act))
}

struct Words {
    heading: &'static str,
    request_access: &'static str,
    title: &'static str,
    project: &'static str,
    purpose: &'static str,
    ethics: &'static str,
    wanted: &'static str,
    asked: &'static str,
    submit: &'static str,
    requests: &'static str,
    none: &'static str,
    requester: &'static str,
    submitted: &'static str,
    state: &'static str,
    message: &'static str,
    send: &'static str,
    query: &'static str,
    records: &'static str,
    /// One per [`Step::ALL`].
    states: [&'static str; 7],
    /// Button labels, one per [`Step::ALL`].
    moves: [&'static str; 7],
}

const JA: Words = Words {
    heading: "試料・データの利用申請",
    request_access: "この検索結果について利用を申請する",
    title: "申請名",
    project: "研究課題",
    purpose: "利用目的",
    ethics: "倫理審査（委員会名と承認番号）",
    wanted: "希望する試料・データ（種類・量）",
    asked: "申請先バイオバンク",
    submit: "申請する",
    requests: "利用申請",
    none: "表示できる申請はありません。",
    requester: "申請者",
    submitted: "申請日時",
    state: "状況",
    message: "メッセージ",
    send: "送信",
    query: "検索条件",
    records: "承認された試料の記録（JSON）",
    states: ["申請済み", "審査中", "承認", "不承認", "提供済み", "完了", "取り下げ"],
    moves: [
        "申請",
        "審査を開始",
        "承認する",
        "不承認にする",
        "提供済みにする",
        "完了にする",
        "取り下げる",
    ],
};

const EN: Words = Words {
    heading: "Access to samples and data",
    request_access: "Request access for this result",
    title: "Title",
    project: "Project",
    purpose: "Purpose",
    ethics: "Ethics approval (committee and number)",
    wanted: "Samples and data wanted (kinds, amounts)",
    asked: "Biobanks asked",
    submit: "Submit request",
    requests: "Access requests",
    none: "No requests you may see.",
    requester: "Requester",
    submitted: "Submitted",
    state: "State",
    message: "Message",
    send: "Send",
    query: "Query",
    records: "Approved sample records (JSON)",
    states: [
        "submitted",
        "under review",
        "approved",
        "rejected",
        "transferred",
        "closed",
        "withdrawn",
    ],
    moves: ["submit", "start review", "approve", "reject", "mark transferred", "close", "withdraw"],
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    }
}

fn index(s: Step) -> usize {
    Step::ALL.iter().position(|x| *x == s).expect("every state is listed")
}

fn csrf(caller: &Caller) -> &str {
    caller.csrf.as_deref().unwrap_or("")
}

/// The request form shown under a result: the query travels with it, and
/// the biobanks with 10 or more matching donors are offered.
pub(super) fn form(
    lang: Lang,
    caller: &Caller,
    query: &biobank::Query,
    banks: &[BankAnswer],
) -> Markup {
    let w = words(lang);
    let json = serde_json::to_string(query).expect("a query serialises");
    html! {
        details #access-request {
            summary { (w.request_access) }
            form #access-form.search method="post" action={ "/biobanks/requests?csrf=" (csrf(caller)) } {
                input type="hidden" name="query" value=(json);
                fieldset { legend { (w.asked) }
                    @for b in banks.iter().filter(|b| b.exists) {
                        label.inline { input type="checkbox" name="biobanks" value=(b.biobank) checked; " "
                            (if lang == Lang::Ja { &b.name_ja } else { &b.name }) }
                    }
                }
                label { (w.title) input #access-title name="title" required; }
                label { (w.project) input #access-project name="project" required; }
                label { (w.purpose) textarea #access-purpose name="purpose" required {} }
                label { (w.ethics) input #access-ethics name="ethics" required; }
                label { (w.wanted) textarea #access-wanted name="wanted" required {} }
                button #access-submit type="submit" { (w.submit) }
            }
        }
    }
}

async fn submit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang_of(&headers);
    let field =
        |k: &str| fields.iter().find(|(n, _)| n == k).map_or(String::new(), |(_, v)| v.clone());
    let made = async {
        let query = serde_json::from_str(&field("query"))
            .map_err(|e| ApiError::bad_request(format!("the query is not readable: {e}")))?;
        let new = NewRequest {
            title: field("title"),
            project: field("project"),
            purpose: field("purpose"),
            ethics: field("ethics"),
            wanted: field("wanted"),
            query,
            biobanks: fields
                .iter()
                .filter(|(n, _)| n == "biobanks")
                .map(|(_, v)| v.clone())
                .collect(),
        };
        crate::access::submit(&state, &caller, new).await
    };
    match made.await {
        Ok(r) => Redirect::to(&format!("/biobanks/requests/{}", r.id)).into_response(),
        Err(e) => error_page(lang, Some(&caller), &e),
    }
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&headers);
    let Some(caller) = caller else { return sign_in_first("/biobanks/requests") };
    let w = words(lang);
    let list = match state.negotiator.list(&caller.actor).await {
        Ok(l) => l,
        Err(e) => return error_page(lang, Some(&caller), &e.into()),
    };
    let body = html! {
        h1 { (w.requests) }
        @if list.is_empty() { p #no-access-requests { (w.none) } }
        @else {
            table.grid #access-requests {
                thead { tr { th { "#" } th { (w.title) } th { (w.requester) } th { (w.state) } th { (w.submitted) } } }
                tbody { @for r in &list { tr {
                    td { a href={ "/biobanks/requests/" (r.id) } { (r.id) } }
                    td { (r.title) }
                    td { (r.requester) }
                    td { @for p in &r.parts { span class={ "status " (p.state.as_str()) } { (p.biobank) ": " (w.states[index(p.state)]) } " " } }
                    td { (timestamp(r.submitted_at)) }
                } } }
            }
        }
    };
    layout(lang, Some(&caller), "/biobanks/requests", w.requests, body).into_response()
}

async fn request_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let lang = lang_of(&headers);
    let here = format!("/biobanks/requests/{id}");
    let Some(caller) = caller else { return sign_in_first(&here) };
    let w = words(lang);
    let r = match state.negotiator.get(&caller.actor, id).await {
        Ok(r) => r,
        Err(e) => return error_page(lang, Some(&caller), &e.into()),
    };
    let action = |what: &str| format!("/biobanks/requests/{id}/{what}?csrf={}", csrf(&caller));
    let body = html! {
        h1 { (w.heading) " #" (r.id) }
        table.kv {
            tr { th { (w.title) } td #access-request-title { (r.title) } }
            tr { th { (w.requester) } td { (r.requester) } }
            tr { th { (w.project) } td { (r.project) } }
            tr { th { (w.purpose) } td { (r.purpose) } }
            tr { th { (w.ethics) } td { (r.ethics) } }
            tr { th { (w.wanted) } td { (r.wanted) } }
            tr { th { (w.query) } td { code { (r.query) } } }
            tr { th { (w.submitted) } td { (timestamp(r.submitted_at)) } }
        }
        @for p in &r.parts {
            section.part data-biobank=(p.biobank) {
                h2 { (p.biobank) " — " span.state class={ "status " (p.state.as_str()) } { (w.states[index(p.state)]) } }
                ol.thread {
                    @for e in r.events.iter().filter(|e| e.biobank == p.biobank) {
                        li {
                            (timestamp(e.at)) " " strong { (e.by) } " "
                            @if let Some(s) = e.state { span class={ "status " (s.as_str()) } { (w.states[index(s)]) } " " }
                            (e.message)
                        }
                    }
                }
                @if r.requester == caller.actor.username && matches!(p.state, Step::Approved | Step::Transferred) {
                    p { a.records href={ "/api/v1/biobank-requests/" (r.id) "/records?biobank=" (p.biobank) } { (w.records) } }
                }
                @if !p.next.is_empty() {
                    form.step method="post" action=(action("step")) {
                        input type="hidden" name="biobank" value=(p.biobank);
                        label { (w.message) input name="message"; }
                        @for s in &p.next {
                            button type="submit" name="to" value=(s.as_str()) data-to=(s.as_str()) { (w.moves[index(*s)]) }
                        }
                    }
                }
                form.message method="post" action=(action("message")) {
                    input type="hidden" name="biobank" value=(p.biobank);
                    label { (w.message) input name="text" required; }
                    button type="submit" { (w.send) }
                }
            }
        }
    };
    layout(lang, Some(&caller), &here, &format!("{} #{id}", w.heading), body).into_response()
}

async fn act(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang_of(&headers);
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str());
    let n = &state.negotiator;
    let done = match action.as_str() {
        "step" => match Step::ALL.into_iter().find(|s| s.as_str() == field("to")) {
            Some(to) => n.step(&caller.actor, id, field("biobank"), to, field("message")).await,
            None => {
                Err(negotiator::NegotiatorError::Invalid(format!("no state '{}'", field("to"))))
            }
        },
        "message" => n.message(&caller.actor, id, field("biobank"), field("text")).await,
        other => {
            let e = ApiError::not_found(format!("no action '{other}' on access requests"));
            return error_page(lang, Some(&caller), &e);
        }
    };
    match done {
        Ok(_) => Redirect::to(&format!("/biobanks/requests/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&caller), &e.into()),
    }
}

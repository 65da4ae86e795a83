//! The web portal's pages, rendered on the server (maud). Every page works
//! without JavaScript except the structure editor; every action the pages
//! offer goes through the same domain calls as the API.

mod access;
mod biobanks;
mod charts;
mod i18n;
mod jobs;
mod predict;
mod requests;
mod screens;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::{cleared_session_cookie, cookie, session_cookie, Caller, MaybeCaller};
use crate::hits::{self, HitRow, Mode, SearchParams};
use crate::{ApiError, AppState};
pub use i18n::Lang;
use i18n::Texts;

const PAGE_SIZE: usize = 25;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(switch_language))
        .route("/search", get(search_page))
        .route("/compounds/{id}", get(compound_page))
        .route("/docking", post(predict::dock))
        .route("/docking/new", get(predict::new_screen))
        .route("/audit", get(audit_page))
        .merge(requests::routes())
        .merge(jobs::routes())
        .merge(screens::routes())
        .merge(biobanks::routes())
        .merge(access::routes())
}

pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, "lang").and_then(|c| Lang::from_code(&c)).unwrap_or(Lang::Ja)
}

/// Only paths on this site: `next` and `back` must never send a user
/// elsewhere (an open redirect would lend our name to phishing). Browsers
/// drop tabs and line breaks from URLs (`/\t/evil.example` becomes
/// `//evil.example`) and read `\\` as `/`, so any of those, any other
/// control character or space, refuses the path.
fn local_path(path: Option<&str>) -> String {
    match path {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
                && p.len() <= 2048 =>
        {
            p.to_owned()
        }
        _ => "/search".to_owned(),
    }
}

pub(crate) fn layout(
    lang: Lang,
    caller: Option<&Caller>,
    here: &str,
    title: &str,
    body: Markup,
) -> Markup {
    let t = lang.texts();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(csrf) = caller.and_then(|c| c.csrf.as_deref()) {
                    meta name="csrf-token" content=(csrf);
                }
                title { (title) " — Soyaku" }
                link rel="stylesheet" href="/static/soyaku.css";
            }
            body {
                header.top {
                    a.brand href="/search" { "創薬 Soyaku" }
                    @if let Some(c) = caller {
                        nav {
                            a href="/search" { (t.nav_search) }
                            a #nav-requests href="/requests" { (t.nav_requests) }
                            a #nav-jobs href="/jobs" { (t.nav_jobs) }
                            @if c.actor.can(accounts::Permission::ViewScreens) {
                                a #nav-screens href="/screens" { (t.nav_screens) }
                            }
                            a #nav-biobanks href="/biobanks" { (t.nav_biobanks) }
                            @if c.actor.can(accounts::Permission::ImportCompounds) {
                                a #nav-import href="/import" { (t.nav_import) }
                            }
                            @if c.actor.can(accounts::Permission::ViewAuditLog) {
                                a href="/audit" { (t.nav_audit) }
                            }
                        }
                    }
                    div.right {
                        a #lang-switch href={ "/lang/" (lang.other().code()) "?back=" (encode(here)) } { (t.switch_to) }
                        @if let Some(c) = caller {
                            span.who { (t.signed_in_as) " " strong #whoami { (c.actor.display_name) } " (" (lang.role(c.actor.role)) ")" }
                            form.inline method="post" action={ "/logout?csrf=" (c.csrf.as_deref().unwrap_or("")) } {
                                button #sign-out type="submit" { (t.sign_out) }
                            }
                        }
                    }
                }
                main { (body) }
                script src="/static/soyaku.js" {}
            }
        }
    }
}

pub(crate) fn error_page(lang: Lang, caller: Option<&Caller>, e: &ApiError) -> Response {
    let t = lang.texts();
    let body = html! { section.error { h1 { (t.error) } p #error-message { (e.message) } } };
    let mut response = (e.status, layout(lang, caller, "/search", t.error, body)).into_response();
    if let Some(refusal) = e.refusal() {
        response.extensions_mut().insert(refusal);
    }
    response
}

/// Percent-encodes a value for a query string.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn home(MaybeCaller(caller): MaybeCaller) -> Redirect {
    Redirect::to(if caller.is_some() { "/search" } else { "/login" })
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
    /// 1: wrong credentials; 2: the form's anti-forgery check failed.
    failed: Option<u8>,
    /// Seconds to wait after too many failures.
    wait: Option<u64>,
}

/// The cookie that pairs a sign-in form with the browser it was served to.
const LOGIN_COOKIE: &str = "soyaku_login";

/// The sign-in form. It carries a fresh secret that is also set as a
/// cookie, and a sign-in must send both (login CSRF: another site must not
/// be able to sign a visitor in to an account of its choosing, whose
/// searches and requests it could then read).
async fn login_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<NextParam>,
) -> Response {
    let lang = lang_of(&headers);
    let t = lang.texts();
    let next = local_path(p.next.as_deref());
    let form_token = accounts::random_secret();
    let body = html! {
        p.tagline { (t.title) }
        section.login {
            h1 { (t.sign_in) }
            @if let Some(wait) = p.wait { p.error #login-error { (t.throttled) " " (wait) } }
            @else if p.failed == Some(2) { p.error #login-error { (t.form_expired) } }
            @else if p.failed.is_some() { p.error #login-error { (t.bad_credentials) } }
            form method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                input type="hidden" name="form_token" value=(form_token);
                label { (t.username) input #username name="username" autocomplete="username" required; }
                label { (t.password) input #password type="password" name="password" autocomplete="current-password" required; }
                button #sign-in type="submit" { (t.sign_in) }
            }
        }
    };
    let cookie = format!(
        "{LOGIN_COOKIE}={form_token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if state.secure_cookies { "; Secure" } else { "" }
    );
    ([(header::SET_COOKIE, cookie)], layout(lang, None, "/login", t.sign_in, body)).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
    #[serde(default)]
    form_token: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    client: crate::auth::ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = local_path(f.next.as_deref());
    let paired = cookie(&headers, LOGIN_COOKIE).is_some_and(|c| {
        !f.form_token.is_empty()
            && crate::auth::constant_time_eq(c.as_bytes(), f.form_token.as_bytes())
    });
    if !paired {
        return Redirect::to(&format!("/login?failed=2&next={}", encode(&next))).into_response();
    }
    let address = client.ip().map(|ip| ip.to_string());
    match state.accounts.sign_in_from(&f.username, &f.password, address.as_deref()).await {
        Ok((_, session)) => (
            [(header::SET_COOKIE, session_cookie(&session.token, state.secure_cookies))],
            Redirect::to(&next),
        )
            .into_response(),
        Err(accounts::AccountError::BadCredentials) => {
            Redirect::to(&format!("/login?failed=1&next={}", encode(&next))).into_response()
        }
        Err(accounts::AccountError::Throttled { retry_after }) => {
            Redirect::to(&format!("/login?wait={retry_after}&next={}", encode(&next)))
                .into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn logout(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let token = cookie(&headers, crate::auth::SESSION_COOKIE);
    if let Err(e) = state.accounts.sign_out(&caller.actor, token.as_deref()).await {
        return ApiError::from(e).into_response();
    }
    ([(header::SET_COOKIE, cleared_session_cookie())], Redirect::to("/login")).into_response()
}

#[derive(Deserialize)]
struct BackParam {
    back: Option<String>,
}

async fn switch_language(Path(code): Path<String>, Query(p): Query<BackParam>) -> Response {
    let lang = Lang::from_code(&code).unwrap_or(Lang::Ja);
    let cookie = format!("lang={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&local_path(p.back.as_deref()))).into_response()
}

/// Sends a visitor who is not signed in to the sign-in page, and back here after.
pub(crate) fn sign_in_first(here: &str) -> Response {
    Redirect::to(&format!("/login?next={}", encode(here))).into_response()
}

#[derive(Deserialize, Default)]
struct GridParams {
    sort: Option<String>,
    page: Option<usize>,
}

async fn search_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(params): Query<SearchParams>,
    Query(grid): Query<GridParams>,
) -> Response {
    let lang = lang_of(&headers);
    let here = uri.path_and_query().map_or("/search", |p| p.as_str()).to_owned();
    let Some(caller) = caller else { return sign_in_first(&here) };
    let t = lang.texts();
    let mut outcome = if params.query.trim().is_empty() && params.mode != Mode::Pick {
        None
    } else {
        match hits::run(&state, &caller, &params).await {
            Ok(o) => Some(o),
            Err(e) => return error_page(lang, Some(&caller), &e),
        }
    };
    // Picks keep their MaxMin order unless asked otherwise.
    let default_sort = if params.mode == Mode::Pick { "rank" } else { "score" };
    let sort = grid.sort.clone().unwrap_or_else(|| default_sort.into());
    if let Some(o) = outcome.as_mut() {
        sort_hits(&mut o.hits, &sort);
    }
    let view = match &outcome {
        Some(o) => {
            let pages = o.hits.len().div_ceil(PAGE_SIZE).max(1);
            let page = grid.page.unwrap_or(1).clamp(1, pages);
            let start = ((page - 1) * PAGE_SIZE).min(o.hits.len());
            let shown = &o.hits[start..(start + PAGE_SIZE).min(o.hits.len())];
            let flags = match alert_flags(&state, shown).await {
                Ok(flags) => flags,
                Err(e) => return error_page(lang, Some(&caller), &e),
            };
            Some(GridPage { sort, page, pages, shown, flags })
        }
        None => None,
    };
    let not_ready = hits::require_ready(&state).err();
    let body = html! {
        h1 { (t.search_title) }
        @if let Some(e) = &not_ready { p.notice #starting { (t.starting) ": " (e.message) } }
        (search_form(t, &params))
        @if let (Some(o), Some(view)) = (&outcome, &view) {
            (results(
                t,
                &params,
                o,
                view,
                caller.actor.can(accounts::Permission::RequestCompounds),
                caller.actor.can(accounts::Permission::RunModels),
            ))
        }
    };
    layout(lang, Some(&caller), &here, t.search_title, body).into_response()
}

fn search_form(t: &Texts, p: &SearchParams) -> Markup {
    let (similar, pick) = (p.mode == Mode::Similar, p.mode == Mode::Pick);
    html! {
        form #search-form.search method="get" action="/search" {
            fieldset.mode {
                label { input #mode-similar type="radio" name="mode" value="similar" checked[similar]; " " (t.similar) }
                label { input #mode-substructure type="radio" name="mode" value="substructure" checked[p.mode == Mode::Substructure]; " " (t.substructure) }
                label { input #mode-pick type="radio" name="mode" value="pick" checked[pick]; " " (t.pick) }
            }
            div.editor {
                button #draw type="button" { (t.draw) }
                div #jsme {}
            }
            label.query { (t.query_label)
                input #query name="query" value=(p.query) placeholder=(t.query_hint) autocomplete="off" spellcheck="false";
            }
            div.options {
                label { (t.top) input #top type="number" name="top" min="1" max=(hits::MAX_HITS) value=(p.top.unwrap_or(50)); }
                label { (t.threshold) input #threshold type="number" name="threshold" min="0" max="1" step="0.05" value=[p.threshold]; }
            }
            button #search type="submit" { (t.search) }
        }
    }
}

fn sort_key(h: &HitRow, key: &str) -> f64 {
    match key {
        "mol_wt" => h.mol_wt,
        "clogp" => h.clogp,
        "tpsa" => h.tpsa,
        "hbd" => f64::from(h.hbd),
        "hba" => f64::from(h.hba),
        "id" => h.id.0 as f64,
        _ => -h.score,
    }
}

/// Hits sorted as the grid asks (`sort` is a column, `-column` for
/// descending, `rank` for the order found).
fn sort_hits(hits: &mut [HitRow], sort: &str) {
    if sort == "rank" {
        return;
    }
    let (key, descending) = match sort.strip_prefix('-') {
        Some(k) => (k, true),
        None => (sort, false),
    };
    hits.sort_by(|a, b| {
        let order = sort_key(a, key).total_cmp(&sort_key(b, key));
        if descending {
            order.reverse()
        } else {
            order
        }
    });
}

/// PAINS-free and Brenk-free for each shown hit. Alerts are not stored
/// (matching them costs more than registering), so they are matched here,
/// for one page at a time.
async fn alert_flags(state: &AppState, shown: &[HitRow]) -> Result<Vec<(bool, bool)>, ApiError> {
    let smiles: Vec<String> = shown.iter().map(|h| h.smiles.clone()).collect();
    state
        .chemistry(move || {
            smiles
                .iter()
                .map(|s| {
                    let alerts =
                        chem::Molecule::from_smiles(s).map(|m| m.alerts()).unwrap_or_default();
                    (
                        !alerts.iter().any(|a| a.catalog == "PAINS"),
                        !alerts.iter().any(|a| a.catalog == "Brenk"),
                    )
                })
                .collect()
        })
        .await
}

/// One page of a sorted hit list.
struct GridPage<'a> {
    sort: String,
    page: usize,
    pages: usize,
    shown: &'a [HitRow],
    flags: Vec<(bool, bool)>,
}

fn results(
    t: &Texts,
    params: &SearchParams,
    o: &hits::Outcome,
    view: &GridPage<'_>,
    can_request: bool,
    can_dock: bool,
) -> Markup {
    let can_pick = can_request || can_dock;
    let query = serde_urlencoded_params(params);
    let (sort, page, pages) = (view.sort.as_str(), view.page, view.pages);
    let shown = view.shown.iter().zip(&view.flags);
    let link = |sort: &str, page: usize| format!("/search?{query}&sort={sort}&page={page}");
    let head = |name: &str, label: &str| {
        let next = if sort == name { format!("-{name}") } else { name.to_owned() };
        html! { th { a.sort href=(link(&next, 1)) data-sort=(name) { (label) } } }
    };
    html! {
        section #results {
            p.summary {
                strong #hit-count { (o.hits.len()) } " " (t.hits) " · " (format!("{:.1} ms", o.elapsed_ms))
                " · " a #export-csv href={ "/api/v1/search?" (query) "&format=csv" } { (t.export_csv) }
                " · " a #export-sdf href={ "/api/v1/search?" (query) "&format=sdf" } { (t.export_sdf) }
            }
            @if o.partial { p.notice #partial { (t.partial) } }
            @if o.hits.is_empty() {
                p #no-hits { (t.no_hits) }
            } @else {
                form #pick method="get" action="/requests/new" {
                @if can_request {
                    button #request-selected type="submit" { (t.request_selected) }
                }
                @if can_dock {
                    " " button #dock-selected type="submit" formaction="/docking/new" { (t.dock_selected) }
                }
                table.grid #hits {
                    thead { tr {
                        @if can_pick { th {} }
                        th { (t.structure) }
                        (head("id", "ID"))
                        (head("score", t.score))
                        (head("mol_wt", "MW"))
                        (head("clogp", "cLogP"))
                        (head("tpsa", "TPSA"))
                        (head("hbd", "HBD"))
                        (head("hba", "HBA"))
                        th { "Lipinski" }
                        th { "Veber" }
                        th { "PAINS" }
                        th { "Brenk" }
                    } }
                    tbody {
                        @for (h, (pains_free, brenk_free)) in shown {
                            tr.hit {
                                @if can_pick { td { input.pick type="checkbox" name="ids" value=(h.id); } }
                                td { img.depiction loading="lazy" width="180" height="135" alt=(h.smiles) src={ "/api/v1/compounds/" (h.id) "/depiction.svg?size=180" }; }
                                td { a.compound-link href={ "/compounds/" (h.id) } { (h.id) } br; code.smiles { (h.smiles) } }
                                td.num.score { (format!("{:.3}", h.score)) }
                                td.num.mol-wt { (format!("{:.1}", h.mol_wt)) }
                                td.num { (format!("{:.2}", h.clogp)) }
                                td.num { (format!("{:.1}", h.tpsa)) }
                                td.num { (h.hbd) }
                                td.num { (h.hba) }
                                td { (flag(t, h.lipinski)) }
                                td { (flag(t, h.veber)) }
                                td.pains { (flag(t, *pains_free)) }
                                td.brenk { (flag(t, *brenk_free)) }
                            }
                        }
                    }
                }
                }
                nav.pages {
                    @if page > 1 { a #prev-page href=(link(sort, page - 1)) { (t.previous) } }
                    span #page { (t.page) " " (page) " / " (pages) }
                    @if page < pages { a #next-page href=(link(sort, page + 1)) { (t.next) } }
                }
            }
        }
    }
}

fn flag(t: &Texts, ok: bool) -> Markup {
    html! { span class=(if ok { "flag ok" } else { "flag bad" }) { (if ok { t.yes } else { t.no }) } }
}

/// The search parameters as a query string, for links that repeat the search.
fn serde_urlencoded_params(p: &SearchParams) -> String {
    let value = serde_json::to_value(p).expect("params serialise");
    let mut parts = Vec::new();
    if let Value::Object(map) = value {
        for (k, v) in map {
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s,
                other => other.to_string(),
            };
            parts.push(format!("{k}={}", encode(&text)));
        }
    }
    parts.join("&")
}

/// A compound page's options: `taxon` keeps one species' predicted targets.
#[derive(Deserialize)]
struct CompoundParams {
    taxon: Option<u32>,
}

async fn compound_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<CompoundParams>,
) -> Response {
    let lang = lang_of(&headers);
    let here = format!("/compounds/{id}");
    let Some(caller) = caller else { return sign_in_first(&here) };
    let t = lang.texts();
    let record = match crate::api::compound_record(&state, &caller, &id).await {
        Ok(r) => r,
        Err(e) => return error_page(lang, Some(&caller), &e),
    };
    let text = |k: &str| shown(&record[k]);
    let descriptor_keys = [
        ("mol_wt", "MW"),
        ("exact_mol_wt", "Exact MW"),
        ("clogp", "cLogP"),
        ("tpsa", "TPSA"),
        ("hbd", "HBD"),
        ("hba", "HBA"),
        ("rotatable_bonds", "RotB"),
        ("rings", "Rings"),
        ("aromatic_rings", "Aromatic rings"),
        ("heavy_atoms", "Heavy atoms"),
        ("formal_charge", "Charge"),
        ("fraction_csp3", "Fsp3"),
    ];
    let flag_keys = [
        ("lipinski", "Lipinski"),
        ("veber", "Veber"),
        ("pains_free", "PAINS-free"),
        ("brenk_free", "Brenk-free"),
    ];
    let alerts: Vec<String> = record["alerts"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let body = html! {
        h1 { (t.compound) " " span #compound-id { (text("id")) } }
        div.compound {
            img.depiction.large width="400" height="300" alt=(text("smiles")) src={ "/api/v1/compounds/" (text("id")) "/depiction.svg?size=400" };
            table.kv {
                caption { (t.identity) }
                tr { th { "SMILES" } td { code #compound-smiles { (text("smiles")) } } }
                tr { th { "InChIKey" } td { code { (text("inchikey")) } } }
                tr { th { "InChI" } td { code.wrap { (text("inchi")) } } }
            }
            table.kv {
                caption { (t.descriptors) }
                @for (k, label) in descriptor_keys { tr { th { (label) } td.num { (text(k)) } } }
            }
            table.kv #flags {
                caption { (t.flags) }
                @for (k, label) in flag_keys { tr { th { (label) } td { (flag(t, record[k].as_bool().unwrap_or(false))) } } }
                tr { th { (t.alerts) } td { @if alerts.is_empty() { (t.none) } @else { (alerts.join("; ")) } } }
            }
        }
        (tier_table(t.batches, "batches", &record["batches"]))
        (tier_table(t.samples, "samples", &record["samples"]))
        (tier_table(t.related, "related", &record["related"]))
        (screens::compound_curves(&state, &caller, lang, &text("id")).await)
        (predict::compound_predictions(&state, &caller, lang, &text("id"), &text("smiles"), p.taxon).await)
    };
    layout(lang, Some(&caller), &here, &text("id"), body).into_response()
}

/// A JSON value as shown on a page: measured numbers to four decimals (the
/// stored doubles carry float noise), nothing as a dash.
pub(crate) fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        Value::Number(n) if n.is_f64() => {
            let text = format!("{:.4}", n.as_f64().unwrap_or(f64::NAN));
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
        other => other.to_string(),
    }
}

/// A table of one registry tier (rows of the same keys).
fn tier_table(title: &str, id: &str, rows: &Value) -> Markup {
    let rows = rows.as_array().cloned().unwrap_or_default();
    let columns: Vec<String> = rows
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    html! {
        section.tier id=(id) {
            h2 { (title) " (" (rows.len()) ")" }
            @if !rows.is_empty() {
                table.grid {
                    thead { tr { @for c in &columns { th { (c) } } } }
                    tbody { @for r in &rows { tr { @for c in &columns {
                        td { (shown(&r[c])) }
                    } } } }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct AuditPageParams {
    before: Option<i64>,
}

async fn audit_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Query(p): Query<AuditPageParams>,
) -> Response {
    let lang = lang_of(&headers);
    let Some(caller) = caller else { return sign_in_first("/audit") };
    let t = lang.texts();
    let query = accounts::AuditQuery { before_id: p.before, limit: 100, ..Default::default() };
    let entries = match state.accounts.audit_log(&caller.actor, &query).await {
        Ok(e) => e,
        Err(e) => return error_page(lang, Some(&caller), &ApiError::from(e)),
    };
    let body = html! {
        h1 { (t.audit_title) }
        table.grid #audit {
            thead { tr { th { "#" } th { (t.when) } th { (t.who) } th { (t.action) } th { (t.target) } th { (t.detail) } } }
            tbody { @for e in &entries { tr {
                td.num { (e.id) } td { (timestamp(e.at)) } td { (e.username) } td { code { (e.action) } } td { (e.target) } td { code.wrap { (e.detail.to_string()) } }
            } } }
        }
        @if let Some(last) = entries.last().filter(|_| entries.len() == 100) {
            a #older href={ "/audit?before=" (last.id) } { (t.next) }
        }
    };
    layout(lang, Some(&caller), "/audit", t.audit_title, body).into_response()
}

/// UTC date and time of a Unix timestamp, `YYYY-MM-DD hh:mm:ss`.
fn timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_civil_utc() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(timestamp(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(timestamp(1_795_305_600), "2026-11-22 00:00:00 UTC");
    }

    #[test]
    fn numbers_are_shown_rounded() {
        assert_eq!(shown(&serde_json::json!(2.792580000000001)), "2.7926");
        assert_eq!(shown(&serde_json::json!(56.99)), "56.99");
        assert_eq!(shown(&serde_json::json!(3)), "3");
        assert_eq!(shown(&serde_json::json!(1.0)), "1");
        assert_eq!(shown(&Value::Null), "—");
    }

    #[test]
    fn redirects_stay_on_the_site() {
        assert_eq!(local_path(Some("/compounds/SY-0000001")), "/compounds/SY-0000001");
        for outside in ["https://evil.example", "//evil.example", "/\\evil.example", "evil"] {
            assert_eq!(local_path(Some(outside)), "/search", "{outside}");
        }
    }
}

//! Screening pages: the runs one may see (and, for staff, the form that
//! records one from its files), a run's page — QC table, plate heat maps,
//! hits, confirmation curves as dose–response plots, the seeds found, and
//! a button that recomputes the run from its kept files.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use campaigns::{Curve, Run};
use maud::{html, Markup};
use screening::{RunReport, Score};
use serde::Deserialize;

use super::charts::{dose_plot, heat_map, legend};
use super::{error_page, lang_of, layout, shown, sign_in_first, timestamp, Lang};
use crate::auth::{Caller, MaybeCaller};
use crate::error::Upload;
use crate::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/screens",
            get(list_page)
                .post(record)
                .layer(DefaultBodyLimit::max(crate::screens::RUN_UPLOAD_LIMIT))
                .layer(axum::middleware::from_fn(crate::deadline::long_upload)),
        )
        .route("/screens/{id}", get(run_page))
        .route("/screens/{id}/confirm", post(confirm))
        .route("/screens/{id}/verify", post(verify))
}

/// The words of these pages.
struct Words {
    title: &'static str,
    record: &'static str,
    project: &'static str,
    run_title: &'static str,
    requester: &'static str,
    protocol: &'static str,
    map: &'static str,
    plates: &'static str,
    platelist: &'static str,
    record_run: &'static str,
    none: &'static str,
    recorded: &'static str,
    plates_passed: &'static str,
    hits: &'static str,
    seeds: &'static str,
    qc: &'static str,
    passed: &'static str,
    failed: &'static str,
    heat_maps: &'static str,
    heat_note: &'static str,
    well: &'static str,
    compound: &'static str,
    concentration: &'static str,
    score: &'static str,
    confirm: &'static str,
    points_hint: &'static str,
    curves: &'static str,
    class: &'static str,
    decision: &'static str,
    verify: &'static str,
    verified: &'static str,
    differs: &'static str,
    files: &'static str,
    engine: &'static str,
}

const JA: Words = Words {
    title: "スクリーニング",
    record: "ランを登録する",
    project: "課題",
    run_title: "題名",
    requester: "依頼者（ユーザー名）",
    protocol: "プロトコル（TOML）",
    map: "プレートマップ（CSV）",
    plates: "プレートリーダーのファイル（複数可）",
    platelist: "プレートリスト（任意）",
    record_run: "解析して登録",
    none: "閲覧できるランはありません。",
    recorded: "登録",
    plates_passed: "QC合格プレート",
    hits: "ヒット",
    seeds: "見出されたシーズ",
    qc: "プレートQC",
    passed: "合格",
    failed: "不合格",
    heat_maps: "プレートヒートマップ",
    heat_note: "色はプロトコルのスコア（枠：緑＝ニュートラル、紫＝ポジティブ対照）。",
    well: "ウェル",
    compound: "化合物",
    concentration: "濃度 (M)",
    score: "スコア",
    confirm: "用量反応で確認",
    points_hint: "1行に「濃度(mol/L),応答」",
    curves: "確認試験（用量反応）",
    class: "NCGCクラス",
    decision: "判定",
    verify: "元ファイルから再計算して照合",
    verified: "再計算の結果は記録と一致しました。",
    differs: "再計算の結果が記録と異なります：",
    files: "ファイルのSHA-256",
    engine: "解析エンジン",
};

const EN: Words = Words {
    title: "Screening",
    record: "Record a run",
    project: "Project",
    run_title: "Title",
    requester: "Requester (username)",
    protocol: "Protocol (TOML)",
    map: "Plate map (CSV)",
    plates: "Plate-reader files (several)",
    platelist: "Plate list (optional)",
    record_run: "Analyse and record",
    none: "No runs you may see.",
    recorded: "Recorded",
    plates_passed: "Plates passing QC",
    hits: "Hits",
    seeds: "Seeds found",
    qc: "Plate QC",
    passed: "pass",
    failed: "fail",
    heat_maps: "Plate heat maps",
    heat_note: "Colour is the protocol's score (outline: green neutral, purple positive control).",
    well: "Well",
    compound: "Compound",
    concentration: "Concentration (M)",
    score: "Score",
    confirm: "Confirm with a dose–response",
    points_hint: "one 'concentration (mol/L),response' per line",
    curves: "Confirmation (dose–response)",
    class: "NCGC class",
    decision: "Decision",
    verify: "Recompute from the kept files and compare",
    verified: "Recomputed: the results match the record.",
    differs: "Recomputed: the results differ from the record:",
    files: "Files SHA-256",
    engine: "Engine",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    }
}

fn csrf(caller: &Caller) -> &str {
    caller.csrf.as_deref().unwrap_or("")
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&headers);
    let Some(caller) = caller else { return sign_in_first("/screens") };
    let w = words(lang);
    let listed = async {
        let runs = state.campaigns.runs(&caller.actor).await?;
        let seeds = state.campaigns.seeds(&caller.actor).await?;
        Ok::<_, campaigns::CampaignError>((runs, seeds))
    };
    let (runs, seeds) = match listed.await {
        Ok(x) => x,
        Err(e) => return error_page(lang, Some(&caller), &e.into()),
    };
    let body = html! {
        h1 { (w.title) }
        p { (w.seeds) ": " strong #seed-count { (seeds.len()) } }
        @if runs.is_empty() {
            p #no-runs { (w.none) }
        } @else {
            table.grid #runs {
                thead { tr { th { "#" } th { (w.run_title) } th { (w.project) } th { (w.requester) }
                    th { (w.plates_passed) } th { (w.hits) } th { (w.recorded) } } }
                tbody {
                    @for r in &runs {
                        tr {
                            td { a href={ "/screens/" (r.id) } { (r.id) } }
                            td { (r.title) }
                            td { (r.project) }
                            td { (r.requester.as_deref().unwrap_or("—")) }
                            td { (shown(&r.summary["passed"])) " / " (shown(&r.summary["plates"])) }
                            td { (shown(&r.summary["hits"])) }
                            td { (timestamp(r.recorded_at)) }
                        }
                    }
                }
            }
        }
        @if caller.actor.can(accounts::Permission::RecordScreens) {
            h2 { (w.record) }
            form #record-form.search method="post" enctype="multipart/form-data" action={ "/screens?csrf=" (csrf(&caller)) } {
                label { (w.project) input #run-project name="project" required; }
                label { (w.run_title) input #run-title name="title"; }
                label { (w.requester) input #run-requester name="requester"; }
                label { (w.protocol) input #run-protocol type="file" name="protocol" required; }
                label { (w.map) input #run-map type="file" name="map" required; }
                label { (w.plates) input #run-plates type="file" name="plates" multiple required; }
                label { (w.platelist) input #run-platelist type="file" name="platelist"; }
                button #record-run type="submit" { (w.record_run) }
            }
        }
    };
    layout(lang, Some(&caller), "/screens", w.title, body).into_response()
}

async fn record(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    upload: Result<Upload, crate::ApiError>,
) -> Response {
    let lang = lang_of(&headers);
    let recorded = async {
        state.campaigns.admit_run(&caller.actor)?;
        let Upload(multipart) = upload?;
        let new = crate::screens::new_run(multipart).await?;
        Ok::<_, crate::ApiError>(state.campaigns.record_run(&caller.actor, new).await?)
    };
    match recorded.await {
        Ok(run) => Redirect::to(&format!("/screens/{}", run.id)).into_response(),
        Err(e) => error_page(lang, Some(&caller), &e),
    }
}

/// The score's colour range on heat maps: percent inhibition saturates at
/// ±100, z and B scores at ±4.
fn colour_limit(score: Score) -> f64 {
    match score {
        Score::PercentInhibition => 100.0,
        Score::RobustZ | Score::BScore => 4.0,
    }
}

/// Plates drawn on a page at most; the rest are in the API's answer.
const MAX_HEAT_MAPS: usize = 48;

fn qc_table(w: &Words, run: &Run) -> Markup {
    let rows = run.plates.as_array().cloned().unwrap_or_default();
    html! {
        table.grid #qc-table {
            thead { tr { th { "file" } th { "plate" } th { "rep" } th { "Z′" } th { "robust Z′" }
                th { "S/B" } th { "CV neg %" } th { "CV pos %" } th { "edge" } th { "row/col" } th { "QC" } } }
            tbody {
                @for p in &rows {
                    @let ok = p["passed"].as_bool().unwrap_or(false);
                    tr.qc-row.(if ok { "pass" } else { "fail" }) {
                        td { (shown(&p["file"])) }
                        td { (shown(&p["plate"])) }
                        td { (shown(&p["replicate"])) }
                        @for k in ["z_prime", "robust_z_prime", "signal_to_background", "cv_neutral", "cv_positive", "edge_effect", "row_col_effect"] {
                            td.num { (shown(&p[k])) }
                        }
                        td {
                            @if ok { (w.passed) } @else {
                                strong { (w.failed) } " "
                                small { (p["failures"].as_array().map(|f| f.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; ")).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn heat_maps(w: &Words, report: &RunReport) -> Markup {
    let limit = colour_limit(report.protocol.score);
    html! {
        h2 { (w.heat_maps) " (" (report.protocol.score.as_str()) ")" }
        p { (w.heat_note) } (legend(limit))
        div.heatmaps {
            @for (i, p) in report.plates.iter().take(MAX_HEAT_MAPS).enumerate() {
                figure {
                    (heat_map(&format!("heat-{i}"), p.format, &p.values, p.result.score(report.protocol.score), &p.roles, limit))
                    figcaption { (p.plate) " r" (p.replicate) " · " (p.file) }
                }
            }
        }
        @if report.plates.len() > MAX_HEAT_MAPS {
            p { "… " (report.plates.len() - MAX_HEAT_MAPS) " more: /api/v1/screens/…" }
        }
    }
}

fn curve_figure(w: &Words, c: &Curve) -> Markup {
    let ic50 = c.fit["ic50"].as_f64().map_or("—".to_owned(), |x| format!("{x:.3e} M"));
    let ci = match (c.fit["ic50_ci"]["low"].as_f64(), c.fit["ic50_ci"]["high"].as_f64()) {
        (Some(lo), Some(hi)) => format!(" ({lo:.2e}–{hi:.2e})"),
        _ => String::new(),
    };
    html! {
        figure.curve #{ "curve-" (c.id) } {
            (dose_plot(&format!("plot-{}", c.id), &c.points, &c.fit))
            figcaption {
                a href={ "/compounds/" (c.compound) } { (c.compound) } " · IC50 " (ic50) (ci)
                " · " (w.class) " " strong.class { (c.class) }
                " · " (w.decision) ": " span.decision.(if c.decision == "seed" { "seed" } else { "not-seed" }) { (c.decision) }
            }
        }
    }
}

/// Dose–response figures for a compound page: the curves of the runs the
/// viewer may see.
pub async fn compound_curves(state: &AppState, caller: &Caller, lang: Lang, id: &str) -> Markup {
    let w = words(lang);
    match state.campaigns.curves(&caller.actor, None, Some(id)).await {
        Ok(curves) if !curves.is_empty() => html! {
            h2 { (w.curves) }
            div.curves { @for c in &curves { (curve_figure(w, c)) } }
        },
        _ => html! {},
    }
}

#[derive(Deserialize)]
struct Verified {
    verified: Option<String>,
}

async fn run_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::extract::Query(v): axum::extract::Query<Verified>,
) -> Response {
    let lang = lang_of(&headers);
    let here = format!("/screens/{id}");
    let Some(caller) = caller else { return sign_in_first(&here) };
    let w = words(lang);
    let loaded = async {
        let (run, report) = state.campaigns.report(&caller.actor, id).await?;
        let hits = state.campaigns.hits(&caller.actor, id).await?;
        let curves = state.campaigns.curves(&caller.actor, Some(id), None).await?;
        Ok::<_, campaigns::CampaignError>((run, report, hits, curves))
    };
    let (run, report, hits, curves) = match loaded.await {
        Ok(x) => x,
        Err(e) => return error_page(lang, Some(&caller), &e.into()),
    };
    let staff = caller.actor.can(accounts::Permission::RecordScreens);
    let body = html! {
        h1 { (w.title) " #" (run.id) ": " (run.title) }
        @if let Some(v) = &v.verified {
            @if v.is_empty() {
                p #verification.ok { (w.verified) }
            } @else {
                p #verification.bad { (w.differs) " " (v) }
            }
        }
        dl.facts {
            dt { (w.project) } dd #run-project-shown { (run.project) }
            dt { (w.requester) } dd { (run.requester.as_deref().unwrap_or("—")) }
            dt { (w.protocol) } dd { (run.protocol) " · " (report.protocol.score.as_str()) " ≥ " (report.protocol.threshold) }
            dt { (w.plates_passed) } dd #plates-passed { (shown(&run.summary["passed"])) " / " (shown(&run.summary["plates"])) }
            dt { (w.hits) } dd #hit-count { (shown(&run.summary["hits"])) " / " (shown(&run.summary["scored"])) }
            dt { (w.recorded) } dd { (run.recorded_by) ", " (timestamp(run.recorded_at)) }
            dt { (w.files) } dd { code { (run.files_sha256) } }
            dt { (w.engine) } dd { (run.engine) }
        }
        form.inline method="post" action={ "/screens/" (run.id) "/verify?csrf=" (csrf(&caller)) } {
            button #verify-run type="submit" { (w.verify) }
        }
        h2 { (w.qc) }
        (qc_table(w, &run))
        (heat_maps(w, &report))
        h2 { (w.hits) }
        table.grid #hits-table {
            thead { tr { th { "plate" } th { (w.well) } th { (w.compound) } th { (w.concentration) } th { (w.score) }
                @if staff { th { (w.confirm) } } } }
            tbody {
                @for h in &hits {
                    tr.hit {
                        td { (h.plate) }
                        td { (h.well) }
                        td { @match &h.compound { Some(c) => a href={ "/compounds/" (c) } { (c) }, None => "—" } }
                        td.num { (h.concentration.map_or("—".to_owned(), |c| format!("{c:.2e}"))) }
                        td.num { (format!("{:.2}", h.score)) }
                        @if staff {
                            td {
                                @if let Some(c) = &h.compound {
                                    form.confirm method="post" action={ "/screens/" (run.id) "/confirm?csrf=" (csrf(&caller)) } {
                                        input type="hidden" name="compound" value=(c);
                                        textarea name="points" rows="3" cols="28" placeholder=(w.points_hint) required {}
                                        button type="submit" { (w.confirm) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !curves.is_empty() {
            h2 { (w.curves) }
            div.curves { @for c in &curves { (curve_figure(w, c)) } }
        }
    };
    layout(lang, Some(&caller), &here, w.title, body).into_response()
}

#[derive(Deserialize)]
struct ConfirmForm {
    compound: String,
    points: String,
}

/// Reads `concentration,response` lines (commas, tabs or spaces), naming
/// the first line that is not two numbers.
fn points(text: &str) -> Result<Vec<(f64, f64)>, crate::ApiError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let mut f = l.split([',', '\t', ' ']).filter(|x| !x.is_empty());
            match (f.next().map(str::parse::<f64>), f.next().map(str::parse::<f64>), f.next()) {
                (Some(Ok(x)), Some(Ok(y)), None) => Ok((x, y)),
                _ => Err(crate::ApiError::bad_request(format!(
                    "line {}: '{l}' is not 'concentration,response'",
                    i + 1
                ))),
            }
        })
        .collect()
}

async fn confirm(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<ConfirmForm>,
) -> Response {
    let lang = lang_of(&headers);
    let done = async {
        let points = points(&f.points)?;
        Ok::<_, crate::ApiError>(
            state.campaigns.confirm(&caller.actor, id, &f.compound, &points).await?,
        )
    };
    match done.await {
        Ok((curve, _)) => {
            Redirect::to(&format!("/screens/{id}#curve-{}", curve.id)).into_response()
        }
        Err(e) => error_page(lang, Some(&caller), &e),
    }
}

async fn verify(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let lang = lang_of(&headers);
    match state.campaigns.verify(&caller.actor, id).await {
        Ok(v) => {
            let said = super::encode(&v.differences.join("; "));
            Redirect::to(&format!("/screens/{id}?verified={said}")).into_response()
        }
        Err(e) => error_page(lang, Some(&caller), &e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_points_are_read_or_the_bad_line_named() {
        assert_eq!(
            points("1e-9,5\n\n1e-8\t20\n1e-7 60\n").unwrap(),
            [(1e-9, 5.0), (1e-8, 20.0), (1e-7, 60.0)]
        );
        let e = points("1e-9,5\nabc,1\n").unwrap_err();
        assert!(e.message.starts_with("line 2:"), "{}", e.message);
    }
}

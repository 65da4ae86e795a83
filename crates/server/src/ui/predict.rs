//! Predictions on the compound page: the ADMET profile (ADMET-AI, with each
//! value's percentile among approved drugs) and the likely targets (ChEMBL
//! multitask model, linked to ChEMBL's target pages).

use maud::{html, Markup};
use serde_json::Value;

use crate::auth::Caller;
use crate::ui::i18n::Lang;
use crate::AppState;

struct Words {
    admet: &'static str,
    admet_note: &'static str,
    endpoint: &'static str,
    value: &'static str,
    spread: &'static str,
    units: &'static str,
    percentile: &'static str,
    weak: &'static str,
    out_of_domain: &'static str,
    targets: &'static str,
    targets_note: &'static str,
    target: &'static str,
    organism: &'static str,
    all_species: &'static str,
    human_only: &'static str,
    probability: &'static str,
    nearest: &'static str,
    failed: &'static str,
    docking: &'static str,
    docking_note: &'static str,
    quick: &'static str,
    standard: &'static str,
    dock: &'static str,
    docked: &'static str,
    score: &'static str,
    rank: &'static str,
    job: &'static str,
    finished: &'static str,
}

const JA: Words = Words {
    admet: "ADMET 予測 (ADMET-AI 2.0.1)",
    admet_note: "値はアンサンブル 5 モデルの平均、± はそのばらつき。百分位は承認薬 2,845 品目の予測値の中での位置。",
    endpoint: "項目",
    value: "予測値",
    spread: "±",
    units: "単位",
    percentile: "承認薬中の百分位",
    weak: "精度の低い項目",
    out_of_domain: "この構造にはモデルの特徴量で表せない原子・結合があり、適用範囲外です。",
    targets: "標的予測 (ChEMBL 37 マルチタスクモデル)",
    targets_note: "ChEMBL 37 の生物活性データで学習したモデルによる活性確率。標的名と生物種は ChEMBL 36 の標的辞書による (いずれも CC BY-SA 3.0, EMBL-EBI)。",
    target: "標的",
    organism: "生物種",
    all_species: "全生物種",
    human_only: "ヒトのみ",
    probability: "活性確率",
    nearest: "ライブラリ中の類似化合物",
    failed: "予測できませんでした",
    docking: "ドッキング (AutoDock Vina)",
    docking_note: "DOCKSTRING の 58 標的から選び、ジョブとして実行します。進捗はジョブのページに表示され、中止できます。",
    quick: "簡易 (exhaustiveness 1)",
    standard: "標準 (exhaustiveness 8)",
    dock: "ドッキングを開始",
    docked: "この化合物のドッキング結果（閲覧できるジョブ）",
    score: "スコア (kcal/mol)",
    rank: "順位",
    job: "ジョブ",
    finished: "完了",
};

const EN: Words = Words {
    admet: "Predicted ADMET (ADMET-AI 2.0.1)",
    admet_note: "Values are the mean of a five-model ensemble, ± its spread. The percentile places the value among the predictions for 2,845 approved drugs.",
    endpoint: "Endpoint",
    value: "Value",
    spread: "±",
    units: "Units",
    percentile: "Percentile among approved drugs",
    weak: "weak endpoint",
    out_of_domain: "This structure has atoms or bonds the models' features cannot describe: it is outside their applicability domain.",
    targets: "Predicted targets (ChEMBL 37 multitask model)",
    targets_note: "Probability of activity from a model trained on ChEMBL 37 bioactivities; target names and organisms from ChEMBL 36's target dictionary (both CC BY-SA 3.0, EMBL-EBI).",
    target: "Target",
    organism: "Organism",
    all_species: "All species",
    human_only: "Human only",
    probability: "Probability",
    nearest: "Nearest library compounds",
    failed: "Prediction failed",
    docking: "Docking (AutoDock Vina)",
    docking_note: "Pick one of DOCKSTRING's 58 targets; the docking runs as a job whose page shows its progress and can cancel it.",
    quick: "quick (exhaustiveness 1)",
    standard: "standard (exhaustiveness 8)",
    dock: "Start docking",
    docked: "This compound's docking results (jobs you can see)",
    score: "Score (kcal/mol)",
    rank: "Rank",
    job: "Job",
    finished: "Finished",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    }
}

fn number(v: &Value) -> String {
    let x = v.as_f64().unwrap_or(f64::NAN);
    if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// NCBI taxon of *Homo sapiens*, the compound page's one-species choice.
const HUMAN: u32 = 9606;

/// The prediction sections of a compound page; nothing for a role that may
/// not run models.
pub async fn compound_predictions(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    id: &str,
    smiles: &str,
    taxon: Option<u32>,
) -> Markup {
    if !caller.actor.can(accounts::Permission::RunModels) {
        return html! {};
    }
    let w = words(lang);
    let admet = crate::predict::admet_profiles(state, caller, vec![smiles.to_owned()]).await;
    let targets = crate::predict::target_prediction(state, caller, smiles, 10, 5, taxon).await;
    let docked = docking_results(state, caller, id).await;
    html! {
        section #admet {
            h2 { (w.admet) }
            @match admet.as_ref().map(|r| &r[0]) {
                Ok(profile) => {
                    p.note { (w.admet_note) }
                    @if profile["in_domain"] == Value::Bool(false) { p.warning { (w.out_of_domain) } }
                    table.grid {
                        thead { tr { th { (w.endpoint) } th { (w.value) } th { (w.spread) } th { (w.units) } th { (w.percentile) } } }
                        tbody {
                            @for p in profile["predictions"].as_array().into_iter().flatten() {
                                tr data-endpoint=(p["endpoint"].as_str().unwrap_or("")) {
                                    td {
                                        (p["label"].as_str().unwrap_or("")) " "
                                        code { (p["endpoint"].as_str().unwrap_or("")) }
                                        @if p["weak"] == Value::Bool(true) { " " span.badge { (w.weak) } }
                                    }
                                    td.num { (number(&p["value"])) }
                                    td.num { (number(&p["spread"])) }
                                    td { (p["units"].as_str().unwrap_or("")) }
                                    td.percentile {
                                        span.bar { span.fill style={ "width:" (p["drugbank_percentile"].as_f64().unwrap_or(0.0).round()) "%" } {} }
                                        " " (format!("{:.0}", p["drugbank_percentile"].as_f64().unwrap_or(0.0)))
                                    }
                                }
                            }
                        }
                    }
                }
                Err(e) => p.error { (w.failed) ": " (e.message) }
            }
        }
        section #targets {
            h2 { (w.targets) }
            @match &targets {
                Ok(t) => {
                    p.note { (w.targets_note) }
                    // The network predicts each species' ortholog as its own target.
                    p #species {
                        @for (key, label, href) in [
                            (None, w.all_species, format!("/compounds/{id}#targets")),
                            (Some(HUMAN), w.human_only, format!("/compounds/{id}?taxon={HUMAN}#targets")),
                        ] {
                            @if taxon == key { strong aria-current="true" { (label) } }
                            @else { a href=(href) { (label) } }
                            " "
                        }
                    }
                    table.grid {
                        thead { tr { th { "#" } th { (w.target) } th { (w.organism) } th { (w.probability) } } }
                        tbody {
                            @for (i, target) in t["targets"].as_array().into_iter().flatten().enumerate() {
                                @let id = target["chembl_id"].as_str().unwrap_or("");
                                tr {
                                    td.num { (i + 1) }
                                    td {
                                        a href={ "https://www.ebi.ac.uk/chembl/target_report_card/" (id) "/" } { (id) }
                                        " " span.target-name { (target["name"].as_str().unwrap_or("")) }
                                    }
                                    td.organism {
                                        @match target["organism"].as_str() {
                                            Some(organism) => i { (organism) },
                                            None => { "NCBI taxon " (target["ncbi_taxon"]) },
                                        }
                                    }
                                    td.num { (number(&target["probability"])) }
                                }
                            }
                        }
                    }
                    @let nearest = t["nearest_library_compounds"].as_array().cloned().unwrap_or_default();
                    @if !nearest.is_empty() {
                        h3 { (w.nearest) }
                        ul #nearest {
                            @for n in &nearest {
                                @let id = n["id"].as_str().unwrap_or("");
                                li { a href={ "/compounds/" (id) } { (id) } " " code { (n["smiles"].as_str().unwrap_or("")) } " (" (number(&n["score"])) ")" }
                            }
                        }
                    }
                }
                Err(e) => p.error { (w.failed) ": " (e.message) }
            }
        }
        section #docking {
            h2 { (w.docking) }
            @if !docked.is_empty() {
                h3 { (w.docked) }
                table.grid #docked {
                    thead { tr { th { (w.target) } th { (w.score) } th { (w.rank) } th { (w.job) } th { (w.finished) } } }
                    tbody {
                        @for d in &docked {
                            tr {
                                td { (d.target) }
                                td.num.score { (format!("{:.2}", d.score)) }
                                td.num { (d.rank) " / " (d.of) }
                                td { a href={ "/jobs/" (d.job) } { "#" (d.job) } }
                                td { (d.finished.map(super::timestamp).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
            (dock_form(w, caller, &[id]))
        }
    }
}

/// One docking of a compound, from a finished job's ranking.
struct Docked {
    job: i64,
    target: String,
    score: f64,
    rank: usize,
    of: usize,
    finished: Option<i64>,
}

/// The docking jobs the caller may see (their own; every job for roles that
/// see all) that ranked compound `id`, best score first. Docking results are
/// job results, so this reads the newest jobs the queue lists.
async fn docking_results(state: &AppState, caller: &Caller, id: &str) -> Vec<Docked> {
    let Ok(jobs) = state.jobs.list(&caller.actor).await else { return Vec::new() };
    let mut docked: Vec<Docked> = jobs
        .iter()
        .filter(|j| j.kind == "dock" && j.status == jobs::Status::Succeeded)
        .filter_map(|j| {
            let result = j.result.as_ref()?;
            let ranking = result["ranking"].as_array()?;
            let (at, row) = ranking.iter().enumerate().find(|(_, r)| r["name"] == id)?;
            Some(Docked {
                job: j.id,
                target: result["target"].as_str().unwrap_or_default().to_owned(),
                score: row["score"].as_f64()?,
                rank: at + 1,
                of: ranking.len(),
                finished: j.finished_at,
            })
        })
        .collect();
    docked.sort_by(|a, b| a.score.total_cmp(&b.score));
    docked
}

/// The docking form for `ids`: a target, a search effort, start.
fn dock_form(w: &Words, caller: &Caller, ids: &[&str]) -> Markup {
    html! {
        p.note { (w.docking_note) }
        form #dock-form.search method="post" action={ "/docking?csrf=" (caller.csrf.as_deref().unwrap_or("")) } {
            input type="hidden" name="compounds" value=(ids.join(","));
            select #dock-target name="target" {
                @for t in docking::targets() { option value=(t.name) { (t.name) } }
            }
            select #dock-exhaustiveness name="exhaustiveness" {
                option value="8" { (w.standard) }
                option value="1" { (w.quick) }
            }
            button #start-docking type="submit" { (w.dock) }
        }
    }
}

/// `GET /docking/new?ids=…`: the search page's selection, to dock.
pub async fn new_screen(
    super::MaybeCaller(caller): super::MaybeCaller,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let lang = super::lang_of(&headers);
    let here = uri.path_and_query().map_or("/docking/new", |p| p.as_str()).to_owned();
    let Some(caller) = caller else { return super::sign_in_first(&here) };
    if let Err(e) = caller.actor.require(accounts::Permission::RunModels) {
        return super::error_page(lang, Some(&caller), &e.into());
    }
    // Checkboxes send `ids` once per ticked hit.
    let query = uri.query().unwrap_or("");
    let ids = match crate::provision::compound_ids(
        query.split('&').filter_map(|p| p.strip_prefix("ids=")),
    ) {
        Ok(ids) if !ids.is_empty() => ids,
        Ok(_) => {
            return super::error_page(
                lang,
                Some(&caller),
                &crate::ApiError::bad_request("tick the compounds to dock"),
            )
        }
        Err(e) => return super::error_page(lang, Some(&caller), &e),
    };
    let w = words(lang);
    let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let body = html! {
        h1 { (w.docking) }
        p { strong #dock-count { (ids.len()) } " · " (names.join(", ")) }
        (dock_form(w, &caller, &refs))
    };
    super::layout(lang, Some(&caller), "/docking/new", w.docking, body).into_response()
}

#[derive(serde::Deserialize)]
pub struct DockForm {
    /// Registry ids, comma-separated.
    compounds: String,
    target: String,
    exhaustiveness: u32,
}

/// The compound page's docking form: queues the job and opens its page.
pub async fn dock(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<AppState>>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    axum::Form(f): axum::Form<DockForm>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let request = crate::docking::DockRequest {
        target: Some(f.target),
        receptor: None,
        smiles: Vec::new(),
        compounds: f
            .compounds
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        exhaustiveness: Some(f.exhaustiveness),
    };
    match crate::docking::start(&state, &caller, request).await {
        Ok(job) => axum::response::Redirect::to(&format!("/jobs/{}", job.id)).into_response(),
        Err(e) => super::error_page(super::lang_of(&headers), Some(&caller), &e),
    }
}

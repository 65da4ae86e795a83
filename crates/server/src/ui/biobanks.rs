//! The biobank cross-search page: a criteria form (disease by ICD-10 code
//! or Japanese/English name, sex, age at collection, sample type or group,
//! data available, consent for a use, recontact) and the answer per
//! biobank in explicit units — donors, samples, aliquots — as protected as
//! the caller's role requires. The same path as the Beacon API answers it.

use std::sync::Arc;

use axum::extract::{Query as UrlQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use biobank::beacon::Entry;
use biobank::protect::Reported;
use biobank::terms::{DataType, SampleGroup, SampleType};
use biobank::{Granularity, Query, Sex};
use maud::{html, Markup};
use serde::Deserialize;

use super::{error_page, lang_of, layout, sign_in_first, Lang};
use crate::auth::MaybeCaller;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/biobanks", get(search_page))
}

struct Words {
    title: &'static str,
    synthetic: &'static str,
    disease: &'static str,
    disease_hint: &'static str,
    sex: &'static str,
    any: &'static str,
    female: &'static str,
    male: &'static str,
    age: &'static str,
    sample_type: &'static str,
    data: &'static str,
    consent: &'static str,
    commercial: &'static str,
    health: &'static str,
    recontact: &'static str,
    search: &'static str,
    biobank: &'static str,
    donors: &'static str,
    samples: &'static str,
    aliquots: &'static str,
    exists: &'static str,
    yes: &'static str,
    no: &'static str,
    fewer: &'static str,
    boolean_note: &'static str,
    count_note: &'static str,
    nodes: &'static str,
    requests: &'static str,
    collection: &'static str,
    /// ok, timeout, unreachable, refused, bad request, failed.
    node_states: [&'static str; 6],
}

const JA: Words = Words {
    title: "バイオバンク横断検索",
    synthetic: "表示しているのは合成デモデータです（実在の参加者の情報は含みません）。",
    disease: "疾患",
    disease_hint: "ICD-10コード（C50）または病名（乳癌、2型糖尿病）",
    sex: "性別",
    any: "指定なし",
    female: "女性",
    male: "男性",
    age: "採取時年齢",
    sample_type: "試料の種類",
    data: "利用可能なデータ",
    consent: "同意の範囲",
    commercial: "営利目的での利用を含む",
    health: "保健医療研究",
    recontact: "再連絡可能",
    search: "検索",
    biobank: "バイオバンク",
    donors: "提供者数",
    samples: "試料数",
    aliquots: "分注数",
    exists: "該当あり",
    yes: "あり（10人以上）",
    no: "なし（10人未満）",
    fewer: "10未満",
    boolean_note: "あなたの権限では該当の有無（10人以上か）だけが表示されます。",
    count_note: "件数は参加者保護のため雑音を加えて表示し、10未満は表示しません。",
    nodes: "各バイオバンクの応答",
    requests: "利用申請の一覧",
    collection: "コレクション（コホートID）",
    node_states: [
        "応答あり",
        "時間切れ",
        "接続できません",
        "拒否",
        "検索条件を解釈できません",
        "エラー",
    ],
};

const EN: Words = Words {
    title: "Biobank cross-search",
    synthetic: "You are searching SYNTHETIC demo data (no real participants).",
    disease: "Disease",
    disease_hint: "ICD-10 code (C50) or disease name (乳癌, type 2 diabetes mellitus)",
    sex: "Sex",
    any: "any",
    female: "female",
    male: "male",
    age: "Age at collection",
    sample_type: "Sample type",
    data: "Data available",
    consent: "Consent allows",
    commercial: "commercial use",
    health: "health/medical research",
    recontact: "may be recontacted",
    search: "Search",
    biobank: "Biobank",
    donors: "Donors",
    samples: "Samples",
    aliquots: "Aliquots",
    exists: "Matches",
    yes: "yes (10 or more)",
    no: "no (fewer than 10)",
    fewer: "<10",
    boolean_note: "Your role sees only whether a biobank has 10 or more matching donors.",
    count_note: "Counts carry protective noise; fewer than 10 is not shown.",
    nodes: "Biobank nodes",
    requests: "Access requests",
    collection: "Collection (cohort id)",
    node_states: [
        "answered",
        "timed out",
        "unreachable",
        "refused",
        "query not understood",
        "error",
    ],
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    }
}

#[derive(Deserialize, Default)]
struct Criteria {
    disease: Option<String>,
    sex: Option<String>,
    age_min: Option<String>,
    age_max: Option<String>,
    sample_type: Option<String>,
    data: Option<String>,
    consent: Option<String>,
    recontact: Option<String>,
    collection: Option<String>,
}

impl Criteria {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    fn any(&self) -> bool {
        [
            &self.disease,
            &self.sex,
            &self.age_min,
            &self.age_max,
            &self.sample_type,
            &self.data,
            &self.consent,
            &self.recontact,
            &self.collection,
        ]
        .iter()
        .any(|v| Criteria::given(v).is_some())
    }

    fn query(&self) -> Result<Query, ApiError> {
        let mut parts = Vec::new();
        let bad = |m: String| ApiError::bad_request(m);
        if let Some(d) = Criteria::given(&self.disease) {
            parts.push(Query::Disease(d.to_owned()));
        }
        if let Some(s) = Criteria::given(&self.sex) {
            parts.push(Query::Sex(Sex::parse(s).ok_or_else(|| bad(format!("sex '{s}'")))?));
        }
        let age = |v: &Option<String>, default: u8| -> Result<u8, ApiError> {
            Criteria::given(v).map_or(Ok(default), |a| {
                a.parse().map_err(|_| bad(format!("age '{a}' is not a whole number")))
            })
        };
        if Criteria::given(&self.age_min).is_some() || Criteria::given(&self.age_max).is_some() {
            parts.push(Query::Age {
                min: age(&self.age_min, 0)?,
                max: age(&self.age_max, u8::MAX)?,
            });
        }
        if let Some(t) = Criteria::given(&self.sample_type) {
            parts.push(Query::SampleType(t.to_owned()));
        }
        if let Some(d) = Criteria::given(&self.data) {
            parts.push(Query::Data(d.to_owned()));
        }
        if let Some(c) = Criteria::given(&self.consent) {
            parts.push(
                serde_json::from_value(serde_json::json!({"consent": c}))
                    .map_err(|_| bad(format!("consent '{c}'")))?,
            );
        }
        if Criteria::given(&self.recontact).is_some() {
            parts.push(Query::Recontact);
        }
        if let Some(c) = Criteria::given(&self.collection) {
            parts.push(Query::Collection(c.to_owned()));
        }
        Ok(Query::And(parts))
    }
}

fn form(w: &Words, lang: Lang, c: &Criteria) -> Markup {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let chosen = |v: &Option<String>, key: &str| v.as_deref() == Some(key);
    let label = |ja: &'static str, en: &'static str| if lang == Lang::Ja { ja } else { en };
    html! {
        form #biobank-form.search method="get" action="/biobanks" {
            label { (w.disease) input #bb-disease name="disease" list="icd10" value=(value(&c.disease)) placeholder=(w.disease_hint); }
            datalist #icd10 {
                @for d in &biobank::terms::icd10().codes {
                    option value=(d.code) { (d.code) " " (label(d.japanese, d.english)) }
                }
            }
            label { (w.sex)
                select #bb-sex name="sex" {
                    option value="" { (w.any) }
                    option value="female" selected[chosen(&c.sex, "female")] { (w.female) }
                    option value="male" selected[chosen(&c.sex, "male")] { (w.male) }
                }
            }
            label { (w.age)
                span.range {
                    input #bb-age-min name="age_min" type="number" min="0" max="130" value=(value(&c.age_min));
                    "–"
                    input #bb-age-max name="age_max" type="number" min="0" max="130" value=(value(&c.age_max));
                }
            }
            label { (w.sample_type)
                select #bb-sample-type name="sample_type" {
                    option value="" { (w.any) }
                    @for g in SampleGroup::ALL {
                        option value=(g.key()) selected[chosen(&c.sample_type, g.key())] { (label(g.japanese(), g.label())) }
                    }
                    @for t in SampleType::ALL {
                        option value=(t.key()) selected[chosen(&c.sample_type, t.key())] { "· " (label(t.japanese(), t.label())) }
                    }
                }
            }
            label { (w.data)
                select #bb-data name="data" {
                    option value="" { (w.any) }
                    @for d in DataType::ALL {
                        option value=(d.key()) selected[chosen(&c.data, d.key())] { (label(d.japanese(), d.label())) }
                    }
                }
            }
            label { (w.consent)
                select #bb-consent name="consent" {
                    option value="" { (w.any) }
                    option value="commercial" selected[chosen(&c.consent, "commercial")] { (w.commercial) }
                    option value="health_medical" selected[chosen(&c.consent, "health_medical")] { (w.health) }
                }
            }
            label { (w.collection)
                input #bb-collection name="collection" value=(value(&c.collection)) placeholder="tmm-birth-three-generation";
            }
            label.check { input #bb-recontact type="checkbox" name="recontact" value="1" checked[c.recontact.is_some()]; (w.recontact) }
            button #bb-search type="submit" { (w.search) }
        }
    }
}

async fn search_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    uri: axum::http::Uri,
    UrlQuery(criteria): UrlQuery<Criteria>,
) -> Response {
    let lang = lang_of(&headers);
    let here = uri.path_and_query().map_or("/biobanks", |p| p.as_str()).to_owned();
    let Some(caller) = caller else { return sign_in_first(&here) };
    let w = words(lang);
    let answered = if criteria.any() {
        let asked = async {
            let query = criteria.query()?;
            let request = biobank::beacon::Request::for_query(&query, Granularity::Count);
            let (g, gathered) = crate::beacon::protected(
                &state,
                Some(&caller),
                &crate::auth::ClientAddr::unknown(),
                Entry::Individuals,
                request,
                "page:biobanks",
            )
            .await?;
            Ok::<_, ApiError>((g, gathered, query))
        };
        match asked.await {
            Ok(a) => Some(a),
            Err(e) => return error_page(lang, Some(&caller), &e),
        }
    } else {
        None
    };
    let shown = |r: Option<Reported>| match r {
        Some(Reported::About(n)) => n.to_string(),
        Some(Reported::FewerThan(_)) => w.fewer.to_owned(),
        None => "—".to_owned(),
    };
    let name = |b: &biobank::protect::BankAnswer| {
        if lang == Lang::Ja {
            b.name_ja.clone()
        } else {
            b.name.clone()
        }
    };
    let body = html! {
        h1 { (w.title) }
        p { a #access-requests-link href="/biobanks/requests" { (w.requests) } }
        @if state.cross_search.identity.synthetic { p.note #synthetic-note { (w.synthetic) } }
        (form(w, lang, &criteria))
        @if let Some((granularity, answer, query)) = &answered {
            @if *granularity == Granularity::Boolean {
                p.note #granularity-note { (w.boolean_note) }
            } @else {
                p.note #granularity-note { (w.count_note) }
            }
            table.grid #biobank-results {
                thead { tr {
                    th { (w.biobank) }
                    @if *granularity == Granularity::Boolean { th { (w.exists) } }
                    @else { th { (w.donors) } th { (w.samples) } th { (w.aliquots) } }
                } }
                tbody {
                    @for b in &answer.banks {
                        tr data-biobank=(b.biobank) {
                            td { (name(b)) }
                            @if *granularity == Granularity::Boolean {
                                td.exists { @if b.exists { (w.yes) } @else { (w.no) } }
                            } @else {
                                td.num.donors { (shown(b.donors)) }
                                td.num.samples { (shown(b.samples)) }
                                td.num.aliquots { (shown(b.aliquots)) }
                            }
                        }
                    }
                }
            }
            h2 { (w.nodes) }
            ul #node-status {
                @for n in &answer.nodes {
                    @let (key, i) = node_state(&n.status);
                    li data-node=(n.node) data-status=(key) {
                        (n.node) ": " (w.node_states[i]) " (" (n.ms) " ms)"
                    }
                }
            }
            @if *granularity == Granularity::Count && caller.actor.can(accounts::Permission::RequestBiobankAccess) {
                (super::access::form(lang, &caller, query, &answer.banks))
            }
        }
    };
    layout(lang, Some(&caller), &here, w.title, body).into_response()
}

/// A node status's key (for tests and styles) and its label's index.
fn node_state(s: &federation::Status) -> (&'static str, usize) {
    use federation::Status;
    match s {
        Status::Ok => ("ok", 0),
        Status::Timeout => ("timeout", 1),
        Status::Unreachable(_) => ("unreachable", 2),
        Status::Refused(_) => ("refused", 3),
        Status::BadRequest(_) => ("bad_request", 4),
        Status::Failed(_) => ("failed", 5),
    }
}

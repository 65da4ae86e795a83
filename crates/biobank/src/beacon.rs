//! The GA4GH Beacon v2 framework as Soyaku speaks it: the request body,
//! filters, and the response documents (`info`, `filtering_terms`,
//! result sets, errors). Nodes answer in it and the cross-search reads it
//! back, so one module owns both directions and they cannot drift apart.
//!
//! Beacon filters are a conjunction; the cross-search's full AND/OR/NOT
//! query travels in `query.requestParameters.soyakuQuery` (the framework
//! leaves `requestParameters` to the implementation), with the filters it
//! can express alongside for other Beacon clients.
//!
//! Each result set is one biobank (`setType: dataset`). `resultsCount` is
//! in the entry's own unit (donors for individuals, samples for
//! biosamples); `info` carries the biobank's names and all three units —
//! donors, samples, aliquots — each either `{"about": n}` (noisy) or
//! `{"fewer_than": 10}` (suppressed), so a count never silently changes
//! unit.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::protect::{BankAnswer, Granularity, Reported};
use crate::query::{Query, QueryError};
use crate::terms::{icd10, DataType, SampleType};

/// The framework version spoken.
pub const API_VERSION: &str = "v2.0.0";

/// The entry types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// Participants (counted in donors).
    Individuals,
    /// Samples.
    Biosamples,
}

impl Entry {
    /// The entity name in schemas (`individual`, `biosample`).
    pub fn entity(self) -> &'static str {
        match self {
            Entry::Individuals => "individual",
            Entry::Biosamples => "biosample",
        }
    }

    /// The endpoint path segment.
    pub fn path(self) -> &'static str {
        match self {
            Entry::Individuals => "individuals",
            Entry::Biosamples => "biosamples",
        }
    }

    /// The count this entry type reports as `resultsCount`.
    fn count(self, bank: &BankAnswer) -> Option<Reported> {
        match self {
            Entry::Individuals => bank.donors,
            Entry::Biosamples => bank.samples,
        }
    }
}

/// A Beacon filter: an ontology term id, or an alphanumeric filter with an
/// operator and value (`age`, `consent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Term id, e.g. `ICD10:E11`, `NCIT:C16576`, `UBERON:0001977`, `age`.
    pub id: String,
    /// Operator of an alphanumeric filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Value of an alphanumeric filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Filter {
    /// An ontology-term filter.
    pub fn term(id: &str) -> Filter {
        Filter { id: id.to_owned(), operator: None, value: None }
    }

    /// The criterion this filter stands for.
    pub fn criterion(&self) -> Result<Query, QueryError> {
        let bad = |m: String| Err(QueryError(m));
        match (self.id.trim(), self.operator.as_deref(), self.value.as_deref()) {
            ("age", Some(op), Some(v)) => {
                let Ok(n) = v.trim().parse::<u8>() else {
                    return bad(format!("age '{v}' is not a whole number of years"));
                };
                Ok(match op {
                    ">=" => Query::Age { min: n, max: u8::MAX },
                    ">" => Query::Age { min: n.saturating_add(1), max: u8::MAX },
                    "<=" => Query::Age { min: 0, max: n },
                    "<" => Query::Age { min: 0, max: n.saturating_sub(1) },
                    "=" => Query::Age { min: n, max: n },
                    other => return bad(format!("age takes >=, >, <=, < or =, not '{other}'")),
                })
            }
            ("consent", _, Some(v)) => {
                serde_json::from_value(json!({"consent": v})).or_else(|_| {
                    bad(format!(
                        "consent '{v}' is not commercial, health_medical, non_genetic or ancestry"
                    ))
                })
            }
            ("collection", _, Some(v)) => Ok(Query::Collection(v.trim().to_owned())),
            ("NCIT:C16576", ..) => Ok(Query::Sex(crate::Sex::Female)),
            ("NCIT:C20197", ..) => Ok(Query::Sex(crate::Sex::Male)),
            (id, ..) => {
                let code = id.strip_prefix("ICD10:").unwrap_or(id);
                if icd10().id(code).is_some() {
                    Ok(Query::Disease(code.to_owned()))
                } else if SampleType::parse(id).is_some() {
                    Ok(Query::SampleType(id.to_owned()))
                } else if DataType::parse(id).is_some() {
                    Ok(Query::Data(id.to_owned()))
                } else {
                    bad(format!("unknown filter '{id}'; see filtering_terms"))
                }
            }
        }
    }
}

/// The conjunction of `filters`; no filters match everyone.
pub fn query_of(filters: &[Filter]) -> Result<Query, QueryError> {
    if filters.is_empty() {
        return Ok(Query::Age { min: 0, max: u8::MAX });
    }
    Ok(Query::And(filters.iter().map(Filter::criterion).collect::<Result<_, _>>()?))
}

/// Filters from a GET request's comma-separated `filters=` parameter.
pub fn filters_from_list(list: &str) -> Vec<Filter> {
    list.split(',').map(str::trim).filter(|f| !f.is_empty()).map(Filter::term).collect()
}

/// A Beacon v2 request body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Request {
    /// Request meta.
    #[serde(default)]
    pub meta: RequestMeta,
    /// The query.
    #[serde(default)]
    pub query: RequestQuery,
}

/// `meta` of a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestMeta {
    /// Framework version the client speaks.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Schemas asked for (ignored: only the defaults are served).
    #[serde(default)]
    pub requested_schemas: Vec<Value>,
}

impl Default for RequestMeta {
    fn default() -> RequestMeta {
        RequestMeta { api_version: api_version(), requested_schemas: Vec::new() }
    }
}

fn api_version() -> String {
    API_VERSION.to_owned()
}

/// `query` of a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestQuery {
    /// Filters (a conjunction).
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Implementation parameters; `soyakuQuery` holds a full query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<Value>,
    /// `boolean`, `count` or `record` (default `boolean`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_granularity: Option<String>,
    /// Paging of record-level answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Value>,
}

impl Request {
    /// A request for `query` at `granularity`.
    pub fn for_query(query: &Query, granularity: Granularity) -> Request {
        Request {
            meta: RequestMeta::default(),
            query: RequestQuery {
                filters: Vec::new(),
                request_parameters: Some(json!({"soyakuQuery": query})),
                requested_granularity: Some(granularity_name(granularity).to_owned()),
                pagination: None,
            },
        }
    }

    /// A request from filters (a GET request or a plain Beacon client).
    pub fn from_filters(filters: Vec<Filter>, granularity: Option<String>) -> Request {
        Request {
            meta: RequestMeta::default(),
            query: RequestQuery {
                filters,
                request_parameters: None,
                requested_granularity: granularity,
                pagination: None,
            },
        }
    }

    /// The query asked: the full one if given, else the filters'.
    pub fn query(&self) -> Result<Query, QueryError> {
        match self.query.request_parameters.as_ref().and_then(|p| p.get("soyakuQuery")) {
            Some(q) => serde_json::from_value(q.clone())
                .map_err(|e| QueryError(format!("requestParameters.soyakuQuery: {e}"))),
            None => query_of(&self.query.filters),
        }
    }

    /// The granularity asked.
    pub fn granularity(&self) -> Result<Granularity, QueryError> {
        match self.query.requested_granularity.as_deref().unwrap_or("boolean") {
            "boolean" => Ok(Granularity::Boolean),
            "count" => Ok(Granularity::Count),
            "record" => Ok(Granularity::Record),
            other => Err(QueryError(format!(
                "requestedGranularity '{other}' is not boolean, count or record"
            ))),
        }
    }

    /// `receivedRequestSummary` of the response.
    fn summary(&self, requested: Granularity) -> Value {
        let mut s = json!({
            "apiVersion": self.meta.api_version,
            "requestedSchemas": [],
            "filters": self.query.filters.iter().map(|f| f.id.clone()).collect::<Vec<_>>(),
            "requestedGranularity": granularity_name(requested),
            "pagination": {"skip": 0, "limit": 0},
        });
        if let Some(p) = &self.query.request_parameters {
            s["requestParameters"] = p.clone();
        }
        s
    }
}

fn granularity_name(g: Granularity) -> &'static str {
    match g {
        Granularity::Boolean => "boolean",
        Granularity::Count => "count",
        Granularity::Record => "record",
    }
}

/// Who answers: the beacon's id and names.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Reverse-domain id, e.g. `jp.soyaku.node.tmm`.
    pub id: String,
    /// Name shown.
    pub name: String,
    /// One line about it.
    pub description: String,
    /// Whether its data are synthetic (demo).
    pub synthetic: bool,
}

impl Identity {
    fn meta(&self, entity: &str) -> Value {
        json!({
            "beaconId": self.id,
            "apiVersion": API_VERSION,
            "returnedSchemas": [{"entityType": entity, "schema": format!("beacon-{entity}-{API_VERSION}")}],
        })
    }

    /// The `/info` document.
    pub fn info(&self) -> Value {
        json!({
            "meta": self.meta("info"),
            "response": {
                "id": self.id,
                "name": self.name,
                "apiVersion": API_VERSION,
                "environment": if self.synthetic { "dev" } else { "prod" },
                "organization": {"id": "soyaku", "name": "Soyaku"},
                "description": self.description,
                "version": env!("CARGO_PKG_VERSION"),
            }
        })
    }

    /// The `/filtering_terms` document.
    pub fn filtering_terms(&self) -> Value {
        let mut terms: Vec<Value> = icd10()
            .codes
            .iter()
            .map(|d| {
                json!({"type": "ontologyTerm", "id": format!("ICD10:{}", d.code), "label": d.english,
                    "labels": {"ja": d.japanese}, "scopes": ["individual", "biosample"]})
            })
            .collect();
        terms.push(json!({"type": "ontologyTerm", "id": "NCIT:C16576", "label": "female", "scopes": ["individual"]}));
        terms.push(json!({"type": "ontologyTerm", "id": "NCIT:C20197", "label": "male", "scopes": ["individual"]}));
        for t in SampleType::ALL {
            terms.push(json!({"type": "ontologyTerm", "id": t.ontology_id(), "label": t.label(), "scopes": ["biosample"]}));
        }
        for t in DataType::ALL {
            terms.push(json!({"type": "ontologyTerm", "id": t.ontology_id(), "label": t.label(), "scopes": ["individual"]}));
        }
        terms.push(json!({"type": "alphanumeric", "id": "age", "label": "age at collection (years; operators >=, >, <=, <, =)", "scopes": ["biosample"]}));
        terms.push(json!({"type": "alphanumeric", "id": "collection", "label": "sample collection (cohort) id, operator =", "scopes": ["biosample"]}));
        terms.push(json!({"type": "alphanumeric", "id": "consent", "label": "consent allows: commercial, health_medical, non_genetic, ancestry", "scopes": ["individual"]}));
        json!({
            "meta": self.meta("filteringTerm"),
            "response": {
                "filteringTerms": terms,
                "resources": [
                    {"id": "ICD10", "name": "International Classification of Diseases, 10th revision", "url": "https://icd.who.int/browse10"},
                    {"id": "NCIT", "name": "NCI Thesaurus", "url": "https://ncit.nci.nih.gov"},
                    {"id": "UBERON", "name": "Uberon anatomy ontology", "url": "http://purl.obolibrary.org/obo/uberon.owl"},
                    {"id": "OBI", "name": "Ontology for Biomedical Investigations", "url": "http://purl.obolibrary.org/obo/obi.owl"},
                ],
            }
        })
    }

    /// The `/entry_types` document.
    pub fn entry_types(&self) -> Value {
        let entry = |id: &str, name: &str, term: &str, label: &str| {
            json!({
                "id": id, "name": name,
                "ontologyTermForThisType": {"id": term, "label": label},
                "partOfSpecification": "Beacon v2.0.0",
                "defaultSchema": {"id": format!("beacon-{id}-{API_VERSION}"), "name": format!("Default schema for {name}"),
                                  "referenceToSchemaDefinition": format!("https://github.com/ga4gh-beacon/beacon-v2/tree/main/models/json/beacon-v2-default-model/{name}s"),
                                  "schemaVersion": API_VERSION},
            })
        };
        json!({
            "meta": self.informational_meta(),
            "response": {"entryTypes": {
                "individual": entry("individual", "individual", "NCIT:C25190", "Person"),
                "biosample": entry("biosample", "biosample", "NCIT:C70699", "Biospecimen"),
            }}
        })
    }

    /// The `/configuration` document.
    pub fn configuration(&self) -> Value {
        let types = self.entry_types()["response"]["entryTypes"].clone();
        json!({
            "meta": self.informational_meta(),
            "response": {
                "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconConfigurationSchema.json",
                "maturityAttributes": {"productionStatus": if self.synthetic { "DEV" } else { "PROD" }},
                "securityAttributes": {"defaultGranularity": "boolean", "securityLevels": ["REGISTERED", "CONTROLLED"]},
                "entryTypes": types,
            }
        })
    }

    /// The `/map` document.
    pub fn map(&self, root: &str) -> Value {
        let endpoint =
            |e: Entry| json!({"entryType": e.entity(), "rootUrl": format!("{root}/{}", e.path())});
        json!({
            "meta": self.informational_meta(),
            "response": {
                "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconMapSchema.json",
                "endpointSets": {
                    "individual": endpoint(Entry::Individuals),
                    "biosample": endpoint(Entry::Biosamples),
                }
            }
        })
    }

    /// A collections document (`datasets`, `cohorts`) listing `items`.
    pub fn collections(&self, entity: &str, items: Vec<Value>) -> Value {
        let mut meta = self.meta(entity);
        meta["returnedGranularity"] = json!("count");
        meta["receivedRequestSummary"] = Request::default().summary(Granularity::Count);
        json!({
            "meta": meta,
            "responseSummary": {"exists": !items.is_empty(), "numTotalResults": items.len()},
            "response": {"collections": items},
        })
    }

    fn informational_meta(&self) -> Value {
        json!({"beaconId": self.id, "apiVersion": API_VERSION, "returnedSchemas": []})
    }

    /// A Beacon error document (`errorCode` is the HTTP status) for
    /// `request`, if it could be read.
    pub fn error(&self, code: u16, message: &str, request: Option<&Request>) -> Value {
        let received = request.cloned().unwrap_or_default();
        let requested = received.granularity().unwrap_or(Granularity::Boolean);
        json!({
            "meta": {
                "beaconId": self.id,
                "apiVersion": API_VERSION,
                "returnedSchemas": [],
                "returnedGranularity": "boolean",
                "receivedRequestSummary": received.summary(requested),
            },
            "error": {"errorCode": code, "errorMessage": message},
        })
    }

    /// The result-set response to `request` for `entry`: one result set per
    /// biobank at granularity `given`; `info` (if any) goes at the top.
    pub fn results(
        &self,
        entry: Entry,
        request: &Request,
        requested: Granularity,
        given: Granularity,
        banks: &[BankAnswer],
        info: Option<Value>,
    ) -> Value {
        let counted = given >= Granularity::Count;
        let number = |r: Option<Reported>| match r {
            Some(Reported::About(n)) => Some(n),
            _ => None,
        };
        let sets: Vec<Value> = banks
            .iter()
            .map(|b| {
                let mut set_info = json!({"name": b.name, "name_ja": b.name_ja});
                let mut set = json!({"id": b.biobank, "setType": "dataset", "exists": b.exists});
                if counted {
                    for (unit, r) in
                        [("donors", b.donors), ("samples", b.samples), ("aliquots", b.aliquots)]
                    {
                        set_info[unit] = json!(r);
                    }
                    // Beacon has no "fewer than": a suppressed count is
                    // absent, and `info` says why.
                    if let Some(n) = number(entry.count(b)) {
                        set["resultsCount"] = json!(n);
                    }
                }
                if let Some(records) = &b.records {
                    set["results"] = json!(records);
                }
                set["info"] = set_info;
                set
            })
            .collect();
        let mut summary = json!({"exists": banks.iter().any(|b| b.exists)});
        if counted {
            summary["numTotalResults"] =
                json!(banks.iter().filter_map(|b| number(entry.count(b))).sum::<u64>());
        }
        let mut meta = self.meta(entry.entity());
        meta["returnedGranularity"] = json!(granularity_name(given));
        meta["receivedRequestSummary"] = request.summary(requested);
        let mut doc = json!({
            "meta": meta,
            "responseSummary": summary,
            "response": {"resultSets": sets},
        });
        if let Some(info) = info {
            doc["info"] = info;
        }
        doc
    }
}

/// A response that is not a Beacon result-set document we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Beacon result-set response: {0}")]
pub struct FormatError(String);

/// Reads a result-set response back: the granularity given and one
/// [`BankAnswer`] per result set.
pub fn read_results(doc: &Value) -> Result<(Granularity, Vec<BankAnswer>), FormatError> {
    let bad = |m: &str| FormatError(m.to_owned());
    let given: Granularity = serde_json::from_value(doc["meta"]["returnedGranularity"].clone())
        .map_err(|_| bad("meta.returnedGranularity"))?;
    let sets =
        doc["response"]["resultSets"].as_array().ok_or_else(|| bad("response.resultSets"))?;
    let reported = |v: &Value| -> Result<Option<Reported>, FormatError> {
        if v.is_null() {
            Ok(None)
        } else {
            serde_json::from_value(v.clone()).map(Some).map_err(|_| bad("a count in info"))
        }
    };
    sets.iter()
        .map(|s| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            let id = s["id"].as_str().ok_or_else(|| bad("resultSets[].id"))?;
            let info = &s["info"];
            Ok(BankAnswer {
                biobank: id.to_owned(),
                name: text(&info["name"]),
                name_ja: text(&info["name_ja"]),
                exists: s["exists"].as_bool().ok_or_else(|| bad("resultSets[].exists"))?,
                donors: reported(&info["donors"])?,
                samples: reported(&info["samples"])?,
                aliquots: reported(&info["aliquots"])?,
                records: s["results"].as_array().cloned(),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|banks| (given, banks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_criteria_and_bad_ones_say_why() {
        let f = |id: &str, op: Option<&str>, v: Option<&str>| Filter {
            id: id.into(),
            operator: op.map(Into::into),
            value: v.map(Into::into),
        };
        assert_eq!(f("ICD10:E11", None, None).criterion(), Ok(Query::Disease("E11".into())));
        assert_eq!(
            f("age", Some(">"), Some("39")).criterion(),
            Ok(Query::Age { min: 40, max: u8::MAX })
        );
        assert!(f("age", Some("~"), Some("3")).criterion().unwrap_err().0.contains("'~'"));
        assert!(f("XYZ:1", None, None).criterion().unwrap_err().0.contains("unknown filter"));
        assert_eq!(query_of(&[]), Ok(Query::Age { min: 0, max: u8::MAX }));
    }

    #[test]
    fn a_full_query_travels_in_request_parameters_and_comes_back_whole() {
        let q: Query = serde_json::from_str(
            r#"{"or": [{"disease": "C50"}, {"not": {"sex": "male"}}, {"recontact": null}]}"#,
        )
        .unwrap();
        let r = Request::for_query(&q, Granularity::Count);
        let wire: Request = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(wire.query().unwrap(), q);
        assert_eq!(wire.granularity().unwrap(), Granularity::Count);
    }

    #[test]
    fn result_sets_round_trip_with_units_and_suppression() {
        let me = Identity {
            id: "t".into(),
            name: "t".into(),
            description: String::new(),
            synthetic: true,
        };
        let banks = vec![
            BankAnswer {
                biobank: "a".into(),
                name: "A".into(),
                name_ja: "エー".into(),
                exists: true,
                donors: Some(Reported::About(120)),
                samples: Some(Reported::About(300)),
                aliquots: Some(Reported::About(900)),
                records: None,
            },
            BankAnswer {
                biobank: "b".into(),
                name: "B".into(),
                name_ja: "ビー".into(),
                exists: false,
                donors: Some(Reported::FewerThan(10)),
                samples: Some(Reported::FewerThan(10)),
                aliquots: Some(Reported::FewerThan(10)),
                records: None,
            },
        ];
        let request = Request::default();
        let doc = me.results(
            Entry::Biosamples,
            &request,
            Granularity::Count,
            Granularity::Count,
            &banks,
            None,
        );
        assert_eq!(doc["responseSummary"]["numTotalResults"], 300);
        assert_eq!(doc["response"]["resultSets"][0]["resultsCount"], 300);
        assert!(doc["response"]["resultSets"][1].get("resultsCount").is_none());
        assert_eq!(read_results(&doc).unwrap(), (Granularity::Count, banks.clone()));
        // At boolean granularity no count leaves, in any unit.
        let boolean = me.results(
            Entry::Individuals,
            &request,
            Granularity::Count,
            Granularity::Boolean,
            &banks,
            None,
        );
        assert!(!boolean.to_string().contains("120"), "{boolean}");
        let (g, read) = read_results(&boolean).unwrap();
        assert_eq!(g, Granularity::Boolean);
        assert!(read.iter().all(|b| b.donors.is_none() && b.samples.is_none()));
    }
}

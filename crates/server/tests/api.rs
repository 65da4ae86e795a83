//! The HTTP API and pages end to end, in process: a registry with a slice
//! of the demo library, real accounts, and requests through the whole
//! router (limits, authentication, anti-forgery checks).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use accounts::{NewUser, Role};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt as _;

struct Site {
    _dir: tempfile::TempDir,
    app: Router,
    state: Arc<server::AppState>,
    _jobs: tokio::sync::watch::Sender<bool>,
}

const PASSWORD: &str = "correct horse battery";

async fn site() -> Site {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    let gz =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/demo/moses-demo.smi.gz"))
            .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
    let slice: String = text.lines().take(400).map(|l| format!("{l}\n")).collect();
    let file = dir.path().join("slice.smi");
    std::fs::write(&file, slice).unwrap();
    let config = server::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        database_url: None,
        // Loads the synthetic biobank demo; the compound demo is loaded by
        // `start`, called below without it.
        load_demo: true,
        secure_cookies: None,
        job_slots: 1,
        federation: None,
        upload_quota: server::DEFAULT_UPLOAD_QUOTA,
    };
    let state = server::AppState::open(&config).await.unwrap();
    let registry = library::Registry::open_dir(&config.data_dir).await.unwrap();
    let never = AtomicBool::new(false);
    library::import::import_file(&registry, &file, &Default::default(), &|_| {}, &never)
        .await
        .unwrap();
    let accounts = accounts::Accounts::attach(registry.pool().clone()).await.unwrap();
    for (name, role) in [
        ("rita", Role::Researcher),
        ("rob", Role::Researcher),
        ("sam", Role::SupportStaff),
        ("ada", Role::Admin),
    ] {
        let new = NewUser {
            username: name.into(),
            display_name: String::new(),
            password: PASSWORD.into(),
            role,
        };
        accounts.create_user(None, new).await.unwrap();
    }
    state.start(false, &never, &config.data_dir).await;
    let jobs = server::start_jobs(state.clone(), 1);
    Site { _dir: dir, app: server::router(state.clone()), state, _jobs: jobs }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!("not JSON ({}): {}", self.status, String::from_utf8_lossy(&self.body))
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How a request identifies itself.
#[derive(Clone, Default)]
struct As {
    cookie: Option<String>,
    csrf: Option<String>,
    bearer: Option<String>,
}

impl Site {
    async fn call(&self, method: Method, uri: &str, who: &As, body: Option<Value>) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = &who.cookie {
            req = req.header(header::COOKIE, format!("soyaku_session={c}"));
        }
        if let Some(t) = &who.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = &who.bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 64 << 20).await.unwrap().to_vec();
        Answer { status, headers, body }
    }

    /// Sends `file` as a multipart upload to `/api/v1/imports`.
    async fn upload(&self, who: &As, name: &str, file: &str) -> Answer {
        let parts = [("source", None, "plate-7"), ("file", Some(name), file)];
        self.multipart(who, "/api/v1/imports", &parts).await
    }

    /// Posts a multipart form: (field, file name for files, content).
    async fn multipart(&self, who: &As, uri: &str, parts: &[(&str, Option<&str>, &str)]) -> Answer {
        let boundary = "soyaku-test-boundary";
        let mut body = String::new();
        for (field, file, content) in parts {
            let file = file.map_or(String::new(), |f| format!("; filename=\"{f}\""));
            body += &format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"{file}\r\n\
                 Content-Type: text/plain\r\n\r\n{content}\r\n"
            );
        }
        body += &format!("--{boundary}--\r\n");
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"));
        if let Some(c) = &who.cookie {
            req = req.header(header::COOKIE, format!("soyaku_session={c}"));
        }
        if let Some(t) = &who.csrf {
            req = req.header("x-csrf-token", t);
        }
        let res = self.app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 64 << 20).await.unwrap().to_vec();
        Answer { status, headers, body }
    }

    /// The job once it has finished, asked every 100 ms.
    async fn finished_job(&self, id: i64, who: &As) -> Value {
        loop {
            let j = self.call(Method::GET, &format!("/api/v1/jobs/{id}"), who, None).await.json();
            if j["job"]["finished_at"].is_i64() {
                return j;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    async fn sign_in(&self, user: &str) -> As {
        let a = self
            .call(
                Method::POST,
                "/api/v1/session",
                &As::default(),
                Some(json!({"username": user, "password": PASSWORD})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        let set = a.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
        let token = set.split(';').next().unwrap().strip_prefix("soyaku_session=").unwrap();
        As {
            cookie: Some(token.into()),
            csrf: a.json()["csrf"].as_str().map(str::to_owned),
            bearer: None,
        }
    }
}

fn assert_error(a: &Answer, status: StatusCode, code: &str) {
    assert_eq!(a.status, status, "{}", a.text());
    let body = a.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn openapi_lists_exactly_the_routes_that_answer() {
    let s = site().await;
    let admin = s.sign_in("ada").await;
    let doc = s.call(Method::GET, "/api/v1/openapi.json", &As::default(), None).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 12, "{paths:?}");
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let uri = path.replace("{id}", "SY-0000001");
            let method: Method = method.to_uppercase().parse().unwrap();
            let a = s.call(method.clone(), &uri, &admin, Some(json!({}))).await;
            // A route that did not exist would be axum's bare 404 or 405;
            // every real route answers, if only with our JSON error.
            assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
            if a.status == StatusCode::NOT_FOUND {
                assert_eq!(a.json()["error"]["code"], "not_found", "{method} {uri}");
            }
        }
    }
    // And an undocumented path is not served.
    let a = s.call(Method::GET, "/api/v1/nothing-here", &admin, None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_protected_route_wants_a_caller() {
    let s = site().await;
    let nobody = As::default();
    for uri in
        ["/api/v1/me", "/api/v1/audit", "/api/v1/search?query=CCO", "/api/v1/compounds/SY-0000001"]
    {
        assert_error(
            &s.call(Method::GET, uri, &nobody, None).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
    }
    let forged = As { cookie: Some("made-up".into()), ..As::default() };
    assert_error(
        &s.call(Method::GET, "/api/v1/me", &forged, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let wrong = s
        .call(
            Method::POST,
            "/api/v1/session",
            &nobody,
            Some(json!({"username": "rita", "password": "nope-nope-nope"})),
        )
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "bad_credentials");
}

#[tokio::test]
async fn roles_are_enforced_by_the_api() {
    let s = site().await;
    let rita = s.sign_in("rita").await;
    let ada = s.sign_in("ada").await;
    assert_error(
        &s.call(Method::GET, "/api/v1/audit", &rita, None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &s.call(Method::GET, "/api/v1/users", &rita, None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let promote = json!({"username": "mallory", "password": PASSWORD, "role": "admin"});
    assert_error(
        &s.call(Method::POST, "/api/v1/users", &rita, Some(promote.clone())).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let made = s.call(Method::POST, "/api/v1/users", &ada, Some(promote)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let users = s.call(Method::GET, "/api/v1/users", &ada, None).await.json();
    assert_eq!(users["users"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn state_changes_with_a_session_need_the_csrf_token() {
    let s = site().await;
    let rita = s.sign_in("rita").await;
    let no_token = As { csrf: None, ..rita.clone() };
    let body = Some(json!({"name": "notebook"}));
    assert_error(
        &s.call(Method::POST, "/api/v1/tokens", &no_token, body.clone()).await,
        StatusCode::FORBIDDEN,
        "csrf",
    );
    let wrong = As { csrf: Some("guess".into()), ..rita.clone() };
    assert_error(
        &s.call(Method::POST, "/api/v1/tokens", &wrong, body.clone()).await,
        StatusCode::FORBIDDEN,
        "csrf",
    );
    let made = s.call(Method::POST, "/api/v1/tokens", &rita, body).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    // Tokens are listed (never their secrets), revoked, and end.
    let throwaway =
        s.call(Method::POST, "/api/v1/tokens", &rita, Some(json!({"name": "throwaway"}))).await;
    let secret = throwaway.json()["token"].as_str().unwrap().to_owned();
    let by_token = As { bearer: Some(secret.clone()), ..As::default() };
    assert_eq!(s.call(Method::GET, "/api/v1/me", &by_token, None).await.status, StatusCode::OK);
    let listed = s.call(Method::GET, "/api/v1/tokens", &rita, None).await.json();
    let mine = &listed["tokens"][0];
    assert_eq!((mine["name"].as_str(), mine["usable"].as_bool()), (Some("throwaway"), Some(true)));
    assert!(!listed.to_string().contains(&secret), "a secret in {listed}");
    let expires = mine["expires_at"].as_i64().unwrap() - mine["created_at"].as_i64().unwrap();
    assert_eq!(expires, 90 * 86_400);
    let id = mine["id"].as_i64().unwrap();
    let sam = s.sign_in("sam").await;
    let theirs = s.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), &sam, None).await;
    assert_eq!(theirs.status, StatusCode::BAD_REQUEST, "another's token is not theirs to revoke");
    let gone = s.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), &rita, None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text());
    assert_error(
        &s.call(Method::GET, "/api/v1/me", &by_token, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let too_long = json!({"name": "forever", "days": 10_000});
    assert_error(
        &s.call(Method::POST, "/api/v1/tokens", &rita, Some(too_long)).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    // An admin disables an account: its session stops at once.
    let ada = s.sign_in("ada").await;
    assert_error(
        &s.call(Method::POST, "/api/v1/users/rita/disable", &sam, None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let off = s.call(Method::POST, "/api/v1/users/rita/disable", &ada, None).await;
    assert_eq!(off.status, StatusCode::NO_CONTENT, "{}", off.text());
    assert_error(
        &s.call(Method::GET, "/api/v1/me", &rita, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let back = s.call(Method::POST, "/api/v1/users/rita/enable", &ada, None).await;
    assert_eq!(back.status, StatusCode::NO_CONTENT);
    let rita = s.sign_in("rita").await;
    // A script with the API token needs no anti-forgery token.
    let script = As { bearer: made.json()["token"].as_str().map(str::to_owned), ..As::default() };
    let me = s.call(Method::GET, "/api/v1/me", &script, None).await.json();
    assert_eq!(me["user"]["username"], "rita");
    let again =
        s.call(Method::POST, "/api/v1/tokens", &script, Some(json!({"name": "second"}))).await;
    assert_eq!(again.status, StatusCode::CREATED);
    // Signing out ends the session.
    assert_eq!(
        s.call(Method::DELETE, "/api/v1/session", &rita, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &s.call(Method::GET, "/api/v1/me", &rita, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn searches_find_hits_export_them_and_are_audited() {
    let s = site().await;
    let rita = s.sign_in("rita").await;
    let ada = s.sign_in("ada").await;
    let first = s.call(Method::GET, "/api/v1/compounds/SY-0000001", &rita, None).await.json();
    let smiles = first["smiles"].as_str().unwrap().to_owned();
    let q = |extra: &str| format!("/api/v1/search?query={}{extra}", encode(&smiles));
    let found = s.call(Method::GET, &q("&top=5"), &rita, None).await.json();
    let hits = found["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 5);
    assert_eq!(hits[0]["id"], "SY-0000001");
    assert_eq!(hits[0]["score"], 1.0);
    assert!(hits[0]["mol_wt"].as_f64().unwrap() > 0.0);
    let sub = s
        .call(
            Method::GET,
            "/api/v1/search?mode=substructure&query=c1ccncc1&limit=1000",
            &rita,
            None,
        )
        .await
        .json();
    let n = sub["hits"].as_array().unwrap().len();
    assert!(n > 0 && sub["candidates"].as_u64().unwrap() >= n as u64, "{sub}");
    for h in sub["hits"].as_array().unwrap() {
        let m = chem::Molecule::from_smiles(h["smiles"].as_str().unwrap()).unwrap();
        assert!(m.has_substructure(&chem::Query::from_smarts("c1ccncc1").unwrap()));
    }
    let picked = s.call(Method::GET, "/api/v1/search?mode=pick&top=6", &rita, None).await.json();
    let picks = picked["hits"].as_array().unwrap();
    assert_eq!(picks.len(), 6, "{picked}");
    assert_eq!(picks[0]["score"], 0.0, "the first pick has no earlier pick");
    let distinct: std::collections::HashSet<&str> =
        picks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 6);
    let csv = s.call(Method::GET, &q("&top=3&format=csv"), &rita, None).await;
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let lines: Vec<String> = csv.text().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("id,smiles,score,"));
    assert!(lines[1].starts_with("SY-0000001,"));
    let sdf = s.call(Method::GET, &q("&top=3&format=sdf"), &rita, None).await.text();
    let records: Vec<&str> = sdf.split("$$$$\n").filter(|r| !r.trim().is_empty()).collect();
    assert_eq!(records.len(), 3);
    assert!(records[0].starts_with("SY-0000001\n"));
    assert!(records[0].contains("M  END") && records[0].contains(">  <score>"));
    let back = chem::Molecule::from_molblock(records[0]).unwrap();
    assert_eq!(back.canonical_smiles(), smiles);
    assert_error(
        &s.call(Method::GET, "/api/v1/search?query=C1CC(", &rita, None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let log = s.call(Method::GET, "/api/v1/audit", &ada, None).await.json();
    let actions: Vec<&str> =
        log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(
        actions.contains(&"compound.view") && actions.contains(&"search.substructure"),
        "{actions:?}"
    );
    assert!(actions.iter().filter(|a| **a == "search.similar").count() >= 3);
    let svg = s.call(Method::GET, "/api/v1/compounds/SY-0000001/depiction.svg", &rita, None).await;
    assert_eq!(svg.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(svg.text().contains("<svg"));
}

#[tokio::test]
async fn readiness_follows_start_up() {
    let s = site().await;
    assert_eq!(
        s.call(Method::GET, "/readyz", &As::default(), None).await.json()["status"],
        "ready"
    );
    assert_eq!(s.call(Method::GET, "/healthz", &As::default(), None).await.status, StatusCode::OK);
    let _ = &s.state;
}

#[tokio::test]
async fn pages_need_a_session_and_respect_roles() {
    let s = site().await;
    let anon = s.call(Method::GET, "/search?query=CCO", &As::default(), None).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert!(anon.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login?next=/search%3Fquery%3DCCO"));
    let rita = s.sign_in("rita").await;
    let page = s.call(Method::GET, "/search?mode=substructure&query=c1ccccc1", &rita, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("id=\"hits\"") && html.contains("/depiction.svg"), "{html}");
    let audit = s.call(Method::GET, "/audit", &rita, None).await;
    assert_eq!(audit.status, StatusCode::FORBIDDEN);
    let ada = s.sign_in("ada").await;
    assert_eq!(s.call(Method::GET, "/audit", &ada, None).await.status, StatusCode::OK);
    let logout = s.call(Method::POST, "/logout", &As { csrf: None, ..rita.clone() }, None).await;
    assert_error(&logout, StatusCode::FORBIDDEN, "csrf");
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(
            |b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            },
        )
        .collect()
}

#[tokio::test]
async fn provision_requests_through_the_api() {
    let s = site().await;
    let (rita, rob, sam) =
        (s.sign_in("rita").await, s.sign_in("rob").await, s.sign_in("sam").await);
    let body = json!({"compounds": ["SY-0000003", "SY-0000007"], "purpose": "HTS follow-up",
                      "amount": "10 µL of 10 mM", "plate_format": "96-well"});
    let made = s.call(Method::POST, "/api/v1/requests", &rita, Some(body.clone())).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let id = made.json()["request"]["id"].as_i64().unwrap();
    let uri = |tail: &str| format!("/api/v1/requests/{id}{tail}");
    // Staff cannot request; another researcher cannot see, approve or cancel.
    assert_error(
        &s.call(Method::POST, "/api/v1/requests", &sam, Some(body)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &s.call(Method::GET, &uri(""), &rob, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &s.call(Method::POST, &uri("/cancel"), &rob, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &s.call(Method::POST, &uri("/approve"), &rob, Some(json!({}))).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &s.call(Method::POST, &uri("/approve"), &rita, Some(json!({}))).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert!(s.call(Method::GET, "/api/v1/requests", &rob, None).await.json()["requests"]
        .as_array()
        .unwrap()
        .is_empty());
    // Staff see the queue, approve, and record the shipment.
    let queue = s.call(Method::GET, "/api/v1/requests?status=submitted", &sam, None).await.json();
    assert_eq!(queue["requests"].as_array().unwrap().len(), 1);
    let ship = json!({"containers": [
        {"compound": "SY-0000003", "barcode": "DP1", "well": "A01"},
        {"compound": "SY-0000007", "barcode": "DP1", "well": "A02"}]});
    assert_error(
        &s.call(Method::POST, &uri("/shipment"), &sam, Some(ship.clone())).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    let ok = s.call(Method::POST, &uri("/approve"), &sam, Some(json!({"note": "in stock"}))).await;
    assert_eq!(ok.json()["request"]["status"], "approved");
    let shipped = s.call(Method::POST, &uri("/shipment"), &sam, Some(ship)).await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.text());
    let seen = s.call(Method::GET, &uri(""), &rita, None).await.json();
    assert_eq!(seen["request"]["status"], "shipped");
    assert_eq!(seen["request"]["shipment"][1]["well"], "A02");
    assert_error(
        &s.call(Method::GET, "/api/v1/requests?status=lost", &sam, None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    // The state changes are in the audit log with who made them.
    let ada = s.sign_in("ada").await;
    let log = s.call(Method::GET, "/api/v1/audit", &ada, None).await.json();
    let moves: Vec<(String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == format!("request:{id}"))
        .map(|e| {
            (e["username"].as_str().unwrap().to_owned(), e["action"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("sam".into(), "request.ship".into()),
            ("sam".into(), "request.approved".into()),
            ("rita".into(), "request.submit".into())
        ]
    );
}

#[tokio::test]
async fn an_uploaded_file_is_imported_as_a_job_with_an_error_report() {
    let s = site().await;
    let (sam, rita) = (s.sign_in("sam").await, s.sign_in("rita").await);
    let file = "CC(C)Cc1ccc(cc1)C(C)C(=O)O ibuprofen\nC1CC1(C)(C)(C)C pentavalent\nCN1C=NC2=C1C(=O)N(C(=O)N2C)C caffeine\nnot-a-smiles junk\n";
    assert_error(&s.upload(&rita, "drugs.smi", file).await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&s.upload(&sam, "drugs.xlsx", file).await, StatusCode::BAD_REQUEST, "bad_request");
    let started = s.upload(&sam, "drugs.smi", file).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text());
    let id = started.json()["job"]["id"].as_i64().unwrap();
    let job = s.finished_job(id, &sam).await;
    assert_eq!(job["job"]["status"], "succeeded", "{job}");
    let result = &job["job"]["result"];
    assert_eq!(
        (result["records"].as_u64(), result["errors"].as_u64()),
        (Some(4), Some(2)),
        "{result}"
    );
    assert_eq!(result["parents_new"], 2);
    assert!(job["log"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["line"].as_str().unwrap().starts_with("done")));
    let report = s.call(Method::GET, &format!("/api/v1/jobs/{id}/report"), &sam, None).await.text();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 3, "{report}");
    assert!(lines[1].contains(",2,") && lines[1].contains("pentavalent"), "{report}");
    assert!(lines[2].contains(",4,") && lines[2].contains("junk"), "{report}");
    // The new compounds are searchable at once, with the upload's source.
    let hit = s
        .call(Method::GET, "/api/v1/search?query=CC(C)Cc1ccc(cc1)C(C)C(%3DO)O&top=1", &rita, None)
        .await
        .json();
    assert_eq!(hit["hits"][0]["score"], 1.0);
    let id_new = hit["hits"][0]["id"].as_str().unwrap().to_owned();
    let record =
        s.call(Method::GET, &format!("/api/v1/compounds/{id_new}"), &rita, None).await.json();
    assert_eq!(record["batches"][0]["source"], "plate-7");
    // A researcher cannot see staff's job.
    assert_error(
        &s.call(Method::GET, &format!("/api/v1/jobs/{id}"), &rita, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &s.call(Method::GET, &format!("/api/v1/jobs/{id}/report"), &rita, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // A finished job is neither cancelled nor retried.
    assert_error(
        &s.call(Method::POST, &format!("/api/v1/jobs/{id}/cancel"), &sam, None).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_error(
        &s.call(Method::POST, &format!("/api/v1/jobs/{id}/retry"), &sam, None).await,
        StatusCode::CONFLICT,
        "conflict",
    );
}

#[tokio::test]
async fn search_files_are_rebuilt_as_a_job() {
    let s = site().await;
    let (sam, rita) = (s.sign_in("sam").await, s.sign_in("rita").await);
    assert_error(
        &s.call(Method::POST, "/api/v1/library/reindex", &rita, None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let started = s.call(Method::POST, "/api/v1/library/reindex", &sam, None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text());
    let id = started.json()["job"]["id"].as_i64().unwrap();
    let job = s.finished_job(id, &sam).await;
    assert_eq!(job["job"]["status"], "succeeded", "{job}");
    let files = job["job"]["result"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let parents =
        s.call(Method::GET, "/api/v1/library/stats", &sam, None).await.json()["parents"].as_u64();
    assert!(files.iter().all(|f| f["entries"].as_u64() == parents), "{files:?}");
    // Searches still answer from the rebuilt files.
    let hits = s
        .call(Method::GET, "/api/v1/search?query=c1ccccc1&mode=substructure", &rita, None)
        .await
        .json();
    assert!(!hits["hits"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_all_pairs_matrix_runs_as_a_job_with_a_download() {
    let s = site().await;
    let rita = s.sign_in("rita").await;
    assert_error(
        &s.call(Method::POST, "/api/v1/library/matrix", &rita, Some(json!({"threshold": 0.1})))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let started = s
        .call(Method::POST, "/api/v1/library/matrix", &rita, Some(json!({"threshold": 0.6})))
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text());
    let id = started.json()["job"]["id"].as_i64().unwrap();
    let job = s.finished_job(id, &rita).await;
    assert_eq!(job["job"]["status"], "succeeded", "{job}");
    let csv = s.call(Method::GET, &format!("/api/v1/jobs/{id}/output"), &rita, None).await.text();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "a,a_smiles,b,b_smiles,similarity");
    assert_eq!(rows.len() as u64 - 1, job["job"]["result"]["pairs"].as_u64().unwrap());
    assert!(rows.len() > 1, "the slice has similar pairs at 0.6: {csv}");
    // Every listed pair really scores at the threshold or above, by RDKit's fingerprints.
    for row in &rows[1..] {
        let f: Vec<&str> = row.split(',').collect();
        let fp =
            |smiles: &str| chem::Molecule::from_smiles(smiles).unwrap().morgan(Default::default());
        let (a, b) = (fp(f[1]), fp(f[3]));
        let common =
            a.words().iter().zip(b.words()).map(|(x, y)| (x & y).count_ones()).sum::<u32>();
        let tanimoto = f64::from(common) / f64::from(a.popcount() + b.popcount() - common);
        assert!(tanimoto >= 0.6 && (tanimoto - f[4].parse::<f64>().unwrap()).abs() < 1e-5, "{row}");
    }
}

/// A 96-well plate read as a grid: column 1 neutral, 12 positive, and the
/// compound in D05 as active as the positive control.
fn screening_plate(seed: usize) -> String {
    let mut s = String::from(",1,2,3,4,5,6,7,8,9,10,11,12\n");
    for r in 0..8 {
        s += &((b'A' + r as u8) as char).to_string();
        for c in 0..12 {
            let noise = ((r * 12 + c + seed) * 7919 % 17) as f64 - 8.0;
            let v = if c == 11 || (r, c) == (3, 4) { 100.0 } else { 1000.0 };
            s += &format!(",{}", v + noise);
        }
        s += "\n";
    }
    s
}

fn screening_map() -> String {
    let mut m = String::from("well,role,compound,concentration\n");
    for r in 0..8u8 {
        for c in 1..=12 {
            let well = format!("{}{c:02}", (b'A' + r) as char);
            let line = match (c, well.as_str()) {
                (1, _) => format!("{well},neutral,,"),
                (12, _) => format!("{well},positive,,"),
                (_, "D05") => format!("{well},sample,SY-0000002,1e-5"),
                _ => format!("{well},sample,SY-0000001,1e-5"),
            };
            m += &line;
            m += "\n";
        }
    }
    m
}

async fn send_run(s: &Site, who: &As, parts: Vec<(&str, Option<&str>, String)>) -> Answer {
    let borrowed: Vec<(&str, Option<&str>, &str)> =
        parts.iter().map(|(a, b, c)| (*a, *b, c.as_str())).collect();
    s.multipart(who, "/api/v1/screens", &borrowed).await
}

#[tokio::test]
async fn a_screening_run_is_recorded_confirmed_and_verified_through_the_api() {
    let s = site().await;
    let (rita, rob, sam) =
        (s.sign_in("rita").await, s.sign_in("rob").await, s.sign_in("sam").await);
    let protocol = "name = \"primary\"\nscore = \"percent_inhibition\"\nthreshold = 50\n[qc]\nmin_z_prime = 0.5\n";
    let (map, p1, p2) = (screening_map(), screening_plate(0), screening_plate(3));
    let parts = |plate2: &str| -> Vec<(&'static str, Option<&'static str>, String)> {
        vec![
            ("project", None, "AMED-042".into()),
            ("title", None, "kinase primary".into()),
            ("requester", None, "rita".into()),
            ("protocol", Some("p.toml"), protocol.into()),
            ("map", Some("map.csv"), map.clone()),
            ("plates", Some("P1.csv"), p1.clone()),
            ("plates", Some("P1b.csv"), plate2.to_owned()),
            (
                "platelist",
                Some("platelist.csv"),
                "Filename,Plate,Replicate\nP1.csv,P1,1\nP1b.csv,P1,2\n".into(),
            ),
        ]
    };
    // A researcher may not record; a broken file records nothing and says where.
    assert_error(&send_run(&s, &rita, parts(&p2)).await, StatusCode::FORBIDDEN, "forbidden");
    let bad = send_run(&s, &sam, parts(&p2.replace("1000", "x"))).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad_request");
    assert!(
        bad.json()["error"]["message"].as_str().unwrap().contains("P1b.csv: line 2"),
        "{}",
        bad.text()
    );
    let made = send_run(&s, &sam, parts(&p2)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let id = made.json()["run"]["id"].as_i64().unwrap();
    let uri = |tail: &str| format!("/api/v1/screens/{id}{tail}");
    let run = s.call(Method::GET, &uri(""), &rita, None).await.json();
    assert_eq!(run["run"]["summary"]["hits"], 1, "{run}");
    assert_eq!(run["hits"][0]["compound"], "SY-0000002");
    assert_eq!(run["wells"].as_array().unwrap().len(), 2);
    assert_error(
        &s.call(Method::GET, &uri(""), &rob, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // The hit confirmed by a clean curve becomes a seed.
    let points: Vec<(f64, f64)> = (0..10)
        .map(|i| {
            let x = 1e-9 * 3f64.powi(i);
            (x, 95.0 / (1.0 + 2e-7 / x) + if i % 2 == 0 { 1.0 } else { -1.0 })
        })
        .collect();
    let confirmed = s
        .call(
            Method::POST,
            &uri("/confirm"),
            &sam,
            Some(json!({"compound": "SY-0000002", "points": points})),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::CREATED, "{}", confirmed.text());
    assert_eq!(confirmed.json()["curve"]["class"], "1.1");
    assert_eq!(confirmed.json()["seed"]["project"], "AMED-042");
    let seeds = s.call(Method::GET, "/api/v1/seeds", &rita, None).await.json();
    assert_eq!(seeds["seeds"].as_array().unwrap().len(), 1);
    let checked = s.call(Method::POST, &uri("/verify"), &rita, None).await.json();
    assert_eq!(checked["verification"]["results_match"], true, "{checked}");
    // The run's page draws both plates and the curve.
    let page = s.call(Method::GET, &format!("/screens/{id}"), &rita, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("id=\"heat-1\"") && html.contains("id=\"qc-table\""), "{html}");
    assert!(html.contains("class=\"doseplot\""));
    let compound = s.call(Method::GET, "/compounds/SY-0000002", &rita, None).await.text();
    assert!(compound.contains("class=\"doseplot\""), "the compound page shows its curve");
}

#[tokio::test]
async fn the_beacon_answers_the_public_with_yes_or_no_and_researchers_with_protected_counts() {
    let s = site().await;
    let info = s.call(Method::GET, "/beacon/v2/info", &As::default(), None).await.json();
    assert_eq!(info["meta"]["apiVersion"], "v2.0.0");
    assert!(info["response"]["description"].as_str().unwrap().contains("SYNTHETIC"));
    let terms =
        s.call(Method::GET, "/beacon/v2/filtering_terms", &As::default(), None).await.json();
    let ids: Vec<&str> = terms["response"]["filteringTerms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"ICD10:E11") && ids.contains(&"NCIT:C16576"));
    let uri = "/beacon/v2/individuals?filters=ICD10:E11,NCIT:C16576&requestedGranularity=count";
    // The public asks for counts and gets yes or no.
    let public = s.call(Method::GET, uri, &As::default(), None).await.json();
    assert_eq!(public["meta"]["returnedGranularity"], "boolean", "{public}");
    assert!(public["responseSummary"].get("numTotalResults").is_none());
    assert!(public["response"]["resultSets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.get("resultsCount").is_none()));
    // A researcher gets counts per biobank.
    let rita = s.sign_in("rita").await;
    let counted = s.call(Method::GET, uri, &rita, None).await.json();
    assert_eq!(counted["meta"]["returnedGranularity"], "count");
    let sets = counted["response"]["resultSets"].as_array().unwrap();
    assert_eq!(sets.len(), 3);
    assert!(sets.iter().any(|r| r["resultsCount"].as_u64().is_some_and(|n| n > 100)), "{counted}");
    // The POST form with an age filter; a rare cell shows no number.
    let body = json!({"meta": {"apiVersion": "v2.0"}, "query": {"filters": [
        {"id": "ICD10:G12.2"}, {"id": "NCIT:C16576"}, {"id": "age", "operator": "<=", "value": "20"}],
        "requestedGranularity": "count"}});
    let rare = s.call(Method::POST, "/beacon/v2/biosamples", &rita, Some(body)).await.json();
    for set in rare["response"]["resultSets"].as_array().unwrap() {
        assert!(set["resultsCount"].is_null() && set["exists"] == false, "{rare}");
    }
    // Errors are Beacon error documents naming the problem.
    let bad = s.call(Method::GET, "/beacon/v2/individuals?filters=XYZ:1", &rita, None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = bad.json();
    assert_eq!(bad["error"]["errorCode"], 400, "{bad}");
    assert!(bad["error"]["errorMessage"].as_str().unwrap().contains("'XYZ:1'"), "{bad}");
    let body = json!({"query": {"requestParameters": {"soyakuQuery": {"biobank": "nowhere"}}}});
    let unknown = s.call(Method::POST, "/beacon/v2/individuals", &rita, Some(body)).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.text().contains("no biobank 'nowhere'; the cross-search has tmm, bbj, ncbn"));
    // The demo's three biobanks are three nodes, each named with its status.
    let nodes = counted["info"]["nodes"].as_array().unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n["node"].as_str().unwrap()).collect();
    assert_eq!(names, ["tmm", "bbj", "ncbn"]);
    assert!(nodes.iter().all(|n| n["status"] == "ok"), "{counted}");
    // Every query is in the audit log.
    let ada = s.sign_in("ada").await;
    let log = s.call(Method::GET, "/api/v1/audit?limit=20", &ada, None).await.json();
    let queries = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "biobank.query")
        .count();
    assert!(queries >= 3, "{log}");
}

#[tokio::test]
async fn biobank_access_requests_go_to_each_biobanks_curator() {
    let s = site().await;
    let (rita, rob, ada) =
        (s.sign_in("rita").await, s.sign_in("rob").await, s.sign_in("ada").await);
    let carl = json!({"username": "carl", "password": PASSWORD, "role": "biobank_curator"});
    assert_eq!(
        s.call(Method::POST, "/api/v1/users", &ada, Some(carl)).await.status,
        StatusCode::CREATED
    );
    let assign = json!({"username": "carl", "biobank": "tmm"});
    let made = s.call(Method::POST, "/api/v1/biobank-curators", &ada, Some(assign.clone())).await;
    assert_eq!(made.status, StatusCode::NO_CONTENT, "{}", made.text());
    assert_error(
        &s.call(Method::POST, "/api/v1/biobank-curators", &rita, Some(assign)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let carl = s.sign_in("carl").await;
    let request = |query: Value, banks: &[&str]| {
        json!({"title": "E11 DNA", "project": "AMED-T2D", "purpose": "replication",
               "ethics": "IRB 2026-123", "wanted": "200 DNA samples", "query": query, "biobanks": banks})
    };
    let wide = json!({"and": [{"disease": "E11"}, {"sample_type": "dna"}]});
    // A biobank without 10 matching donors cannot be asked.
    let rare = json!({"and": [{"disease": "G12.2"}, {"sex": "female"}, {"age": {"max": 20}}]});
    let refused = s
        .call(Method::POST, "/api/v1/biobank-requests", &rita, Some(request(rare, &["tmm"])))
        .await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "bad_request");
    assert!(refused.text().contains("fewer than 10"), "{}", refused.text());
    let made = s
        .call(Method::POST, "/api/v1/biobank-requests", &rita, Some(request(wide, &["tmm", "bbj"])))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let id = made.json()["id"].as_i64().unwrap();
    let uri = format!("/api/v1/biobank-requests/{id}");
    assert_error(&s.call(Method::GET, &uri, &rob, None).await, StatusCode::NOT_FOUND, "not_found");
    let seen = s.call(Method::GET, &uri, &carl, None).await.json();
    assert_eq!(seen["parts"].as_array().unwrap().len(), 1, "{seen}");
    let steps = format!("{uri}/steps");
    for to in ["under_review", "approved"] {
        let step = json!({"biobank": "tmm", "to": to, "message": "ok"});
        let moved = s.call(Method::POST, &steps, &carl, Some(step)).await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    }
    // Records come from the approving biobank only, to the requester only.
    let records = s.call(Method::GET, &format!("{uri}/records?biobank=tmm"), &rita, None).await;
    assert_eq!(records.status, StatusCode::OK, "{}", records.text());
    let rows = records.json()["records"].as_array().unwrap().clone();
    assert!(!rows.is_empty() && rows.len() <= 1000);
    assert!(rows.iter().all(|r| r["biobank"] == "tmm" && r["sample_type"] == "dna"), "{rows:?}");
    assert!(rows.iter().all(|r| r["diseases"].to_string().contains("E11")));
    for (who, bank) in [(&rita, "bbj"), (&carl, "tmm"), (&rob, "tmm")] {
        let refused =
            s.call(Method::GET, &format!("{uri}/records?biobank={bank}"), who, None).await;
        assert!(refused.status.is_client_error(), "{}", refused.text());
    }
    let other = json!({"biobank": "bbj", "to": "under_review"});
    assert_error(
        &s.call(Method::POST, &steps, &carl, Some(other)).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let message = json!({"biobank": "tmm", "text": "When can you ship?"});
    assert_eq!(
        s.call(Method::POST, &format!("{uri}/messages"), &rita, Some(message)).await.status,
        StatusCode::OK
    );
    let mine = s.call(Method::GET, &uri, &rita, None).await.json();
    let states: Vec<(String, String)> = mine["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["biobank"].as_str().unwrap().into(), p["state"].as_str().unwrap().into()))
        .collect();
    assert_eq!(states, [("bbj".into(), "submitted".into()), ("tmm".into(), "approved".into())]);
    let log = s.call(Method::GET, "/api/v1/audit?limit=50", &ada, None).await.json();
    let actions: Vec<&str> =
        log["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for a in [
        "biobank.access.submit",
        "biobank.access.step",
        "biobank.access.message",
        "biobank.curator",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn models_are_listed_publicly_and_run_for_roles_that_may() {
    let s = site().await;
    let listed = s.call(Method::GET, "/api/v1/models", &As::default(), None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    let ids: Vec<String> = listed.json()["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["admet-ai", "chembl-multitask"]);
    let card =
        s.call(Method::GET, "/api/v1/models/admet-ai@2.0.1", &As::default(), None).await.json();
    assert_eq!(card["endpoints"].as_array().unwrap().len(), 41);
    assert!(card["licence"].as_str().unwrap().contains("MIT"));
    assert_error(
        &s.call(Method::GET, "/api/v1/models/admet-ai@9", &As::default(), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let aspirin = json!({"smiles": "CC(=O)Oc1ccccc1C(=O)O"});
    assert_error(
        &s.call(Method::POST, "/api/v1/predict/admet", &As::default(), Some(aspirin.clone())).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // The admin runs the platform, not science.
    let ada = s.sign_in("ada").await;
    assert_error(
        &s.call(Method::POST, "/api/v1/predict/admet", &ada, Some(aspirin.clone())).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let rita = s.sign_in("rita").await;
    let admet = s.call(Method::POST, "/api/v1/predict/admet", &rita, Some(aspirin)).await;
    assert_eq!(admet.status, StatusCode::OK, "{}", admet.text());
    let result = &admet.json()["results"][0];
    assert_eq!(result["in_domain"], true);
    let ames =
        result["predictions"].as_array().unwrap().iter().find(|p| p["endpoint"] == "AMES").unwrap();
    let (p, percentile) =
        (ames["value"].as_f64().unwrap(), ames["drugbank_percentile"].as_f64().unwrap());
    assert!((0.0..=1.0).contains(&p) && (0.0..=100.0).contains(&percentile), "{ames}");
    assert!(ames["spread"].as_f64().unwrap() >= 0.0);
    assert_error(
        &s.call(
            Method::POST,
            "/api/v1/predict/admet",
            &rita,
            Some(json!({"smiles": ["CCO", "C1CC"]})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );

    // The one interface every model has: the same ADMET values as above, the
    // spread as the uncertainty; every target with no spread or domain to give.
    let two = json!({"smiles": ["CC(=O)Oc1ccccc1C(=O)O", "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21"]});
    assert_error(
        &s.call(Method::POST, "/api/v1/models/admet-ai/predict", &ada, Some(two.clone())).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &s.call(Method::POST, "/api/v1/models/no-such-model/predict", &rita, Some(two.clone()))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let generic = s
        .call(Method::POST, "/api/v1/models/admet-ai@2.0.1/predict", &rita, Some(two.clone()))
        .await;
    assert_eq!(generic.status, StatusCode::OK, "{}", generic.text());
    let generic = generic.json();
    assert_eq!(generic["model"], "admet-ai@2.0.1");
    let results = generic["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let keys: Vec<&str> =
        card["endpoints"].as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect();
    let first = results[0]["predictions"].as_array().unwrap();
    assert_eq!(first.iter().map(|p| p["endpoint"].as_str().unwrap()).collect::<Vec<_>>(), keys);
    for (p, q) in first.iter().zip(result["predictions"].as_array().unwrap()) {
        assert_eq!((&p["value"], &p["uncertainty"]), (&q["value"], &q["spread"]), "{p} {q}");
        assert_eq!((&p["in_domain"], &p["weak"]), (&json!(true), &q["weak"]));
    }
    let generic =
        s.call(Method::POST, "/api/v1/models/chembl-multitask/predict", &rita, Some(two)).await;
    assert_eq!(generic.status, StatusCode::OK, "{}", generic.text());
    let generic = generic.json();
    assert!(generic["model"].as_str().unwrap().starts_with("chembl-multitask@"));
    for result in generic["results"].as_array().unwrap() {
        let predictions = result["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), 798);
        assert!(predictions.iter().all(|p| (0.0..=1.0).contains(&p["value"].as_f64().unwrap())
            && p["uncertainty"].is_null()
            && p["in_domain"].is_null()));
    }
    assert_error(
        &s.call(
            Method::POST,
            "/api/v1/models/chembl-multitask/predict",
            &rita,
            Some(json!({"smiles": ["CCO", "C1CC"]})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );

    // Praziquantel, the second compound of the demo slice the site holds.
    let library_smiles = "O=C(C1CCCCC1)N1CC(=O)N2CCc3ccccc3C2C1";
    let targets = s
        .call(
            Method::POST,
            "/api/v1/predict/targets",
            &rita,
            Some(json!({"smiles": library_smiles, "top": 5, "neighbours": 3})),
        )
        .await;
    assert_eq!(targets.status, StatusCode::OK, "{}", targets.text());
    let body = targets.json();
    assert_eq!(body["targets"].as_array().unwrap().len(), 5);
    let nearest = body["nearest_library_compounds"].as_array().unwrap();
    assert_eq!(nearest.len(), 3);
    // The query is itself in the library, so it is its own nearest neighbour.
    assert_eq!(nearest[0]["score"], 1.0);
    // Each target comes with ChEMBL's name and organism; `taxon` keeps one species.
    let human = s
        .call(
            Method::POST,
            "/api/v1/predict/targets",
            &rita,
            Some(json!({"smiles": library_smiles, "top": 5, "neighbours": 0, "taxon": 9606})),
        )
        .await
        .json();
    let human = human["targets"].as_array().unwrap();
    assert_eq!(human.len(), 5);
    assert!(
        human.iter().all(|t| t["ncbi_taxon"] == 9606
            && t["organism"] == "Homo sapiens"
            && !t["name"].as_str().unwrap().is_empty()),
        "{human:?}"
    );

    let audit = s.call(Method::GET, "/api/v1/audit?limit=20", &ada, None).await.json();
    // Every call that ran a model, under the model's id; none that was refused.
    let mut predicted: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "model.predict")
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    predicted.sort_unstable();
    assert_eq!(
        predicted,
        ["admet-ai", "admet-ai", "chembl-multitask", "chembl-multitask", "chembl-multitask"],
        "{audit}"
    );
}

#[tokio::test]
async fn a_library_selection_is_docked_as_a_job_ranked_with_poses() {
    let s = site().await;
    let listed = s.call(Method::GET, "/api/v1/docking/targets", &As::default(), None).await.json();
    assert_eq!(listed["targets"].as_array().unwrap().len(), 58);
    let rita = s.sign_in("rita").await;
    assert_error(
        &s.call(
            Method::POST,
            "/api/v1/docking",
            &rita,
            Some(json!({"target": "XYZ1", "smiles": ["CCO"]})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let ada = s.sign_in("ada").await;
    assert_error(
        &s.call(
            Method::POST,
            "/api/v1/docking",
            &ada,
            Some(json!({"target": "DRD2", "smiles": ["CCO"]})),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // Two library compounds and a typed ligand with a bad valence, quickly.
    let request = json!({
        "target": "DRD2",
        "compounds": ["SY-0000002", "SY-0000003"],
        "smiles": ["C(C)(C)(C)(C)C"],
        "exhaustiveness": 1,
    });
    let started = s.call(Method::POST, "/api/v1/docking", &rita, Some(request)).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text());
    let id = started.json()["job"]["id"].as_i64().unwrap();
    let job = s.finished_job(id, &rita).await;
    assert_eq!(job["job"]["status"], "succeeded", "{job}");
    let result = &job["job"]["result"];
    assert_eq!(
        (result["docked"].as_u64(), result["failed"].as_u64()),
        (Some(2), Some(1)),
        "{result}"
    );
    let scores: Vec<f64> = result["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]) && scores[0] < -4.0, "{scores:?}");
    // Each row says which isomer was docked and whether the embedding chose it.
    for r in result["ranking"].as_array().unwrap() {
        assert!(r["docked"].is_string() && r["stereo_chosen"].is_boolean(), "{r}");
    }
    assert!(job["log"].to_string().contains("skipped C(C)(C)(C)(C)C"), "{job}");
    let poses = s.call(Method::GET, &format!("/api/v1/jobs/{id}/output"), &rita, None).await;
    assert_eq!(poses.headers[header::CONTENT_TYPE], "chemical/x-pdbqt");
    let text = poses.text();
    assert_eq!(text.matches("REMARK SOYAKU LIGAND").count(), 2);
    assert!(text.contains("REMARK VINA RESULT") && text.contains("ENDMDL"));
    // The same poses as SDF: each the compound itself (charged as docked,
    // every hydrogen), titled with its registry id, best first.
    let sdf =
        s.call(Method::GET, &format!("/api/v1/jobs/{id}/output?format=sdf"), &rita, None).await;
    assert_eq!(sdf.status, StatusCode::OK, "{}", sdf.text());
    assert_eq!(sdf.headers[header::CONTENT_TYPE], "chemical/x-mdl-sdfile");
    let text = sdf.text();
    let records: Vec<_> =
        chem::sdf::SdfReader::new(text.as_bytes()).collect::<Result<_, _>>().unwrap();
    let ranked: Vec<&str> =
        result["ranking"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(records.iter().map(|r| r.title()).collect::<Vec<_>>(), ranked);
    for (record, score) in records.iter().zip(&scores) {
        assert_eq!(record.get("minimizedAffinity").unwrap().parse::<f64>().unwrap(), *score);
        assert!(record.molblock.contains(" H   0"), "hydrogens kept: {}", record.molblock);
        chem::Molecule::from_molblock(&record.molblock).unwrap();
    }
    let missing =
        s.call(Method::GET, &format!("/api/v1/jobs/{id}/output?format=mol2"), &rita, None).await;
    assert_error(&missing, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_researcher_docks_into_their_own_receptor() {
    let s = site().await;
    let rita = s.sign_in("rita").await;
    let a2a = docking::target("ADORA2A").unwrap();
    let receptor = |center: [f64; 3]| json!({"name": "my-a2a", "pdbqt": a2a.receptor(), "center": center, "size": a2a.size});
    let dock = |body: Value| s.call(Method::POST, "/api/v1/docking", &rita, Some(body));
    // Either a built-in target or a receptor; a box must hold some of it.
    let both = json!({"target": "DRD2", "receptor": receptor(a2a.center), "smiles": ["CCO"]});
    assert_error(&dock(both).await, StatusCode::BAD_REQUEST, "bad_request");
    let far = [a2a.center[0] + 500.0, a2a.center[1], a2a.center[2]];
    let outside = dock(json!({"receptor": receptor(far), "smiles": ["CCO"]})).await;
    assert_error(&outside, StatusCode::BAD_REQUEST, "bad_request");
    assert!(outside.text().contains("inside the box"), "{}", outside.text());

    let mine =
        json!({"receptor": receptor(a2a.center), "smiles": ["OCCc1ccccc1"], "exhaustiveness": 1});
    let started = dock(mine).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text());
    let id = started.json()["job"]["id"].as_i64().unwrap();
    let job = s.finished_job(id, &rita).await;
    assert_eq!(job["job"]["status"], "succeeded", "{job}");
    let result = &job["job"]["result"];
    assert_eq!(result["target"], "my-a2a");
    assert!(result["best_score"].as_f64().unwrap() < -3.0, "{result}");
}

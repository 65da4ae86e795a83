//! The hostile-input suite: a real `soyaku serve` on loopback, attacked as
//! an attacker and a careless user would (issue 22 lists each finding). Each
//! test plays one attack, checks the answer, and checks that the server is
//! still up and answering `/healthz` quickly. Every request goes to this
//! machine's loopback address only; loops are bounded in count and time.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASSWORD: &str = "a long test password";

/// A `soyaku serve` killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary under attack: this build's, or another named by
/// `SOYAKU_HOSTILE_BIN` (to show that a finding's test fails on an older
/// build).
fn soyaku(data: &Path) -> Command {
    let bin = std::env::var("SOYAKU_HOSTILE_BIN").unwrap_or(env!("CARGO_BIN_EXE_soyaku").into());
    let mut c = Command::new(bin);
    c.arg("--data").arg(data).env("SOYAKU_LOG", "warn");
    c
}

/// Makes the accounts (admin ada, support staff sam, researcher rita).
fn accounts(data: &Path) {
    for (name, role) in [("ada", "admin"), ("sam", "support_staff"), ("rita", "researcher")] {
        let mut c = soyaku(data)
            .args(["admin", "create-user", name, "--role", role])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(c.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        assert!(c.wait().unwrap().success());
    }
}

/// Starts a server on `data` (no demo library), waiting until it listens.
fn serve(data: &Path, extra: &[&str]) -> Server {
    let mut child = soyaku(data)
        .args(["serve", "--addr", "127.0.0.1:0", "--no-demo"])
        .args(extra)
        .env("SOYAKU_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("addr=") {
                let addr = line[at + 5..].split_whitespace().next().unwrap_or("").to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(60)).expect("the server listens");
    let server = Server { child, addr };
    let started = Instant::now();
    while get(&server, "/readyz", None).0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(60), "the server never got ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// A fresh data directory with accounts and a small real library.
fn fresh() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    accounts(&data);
    let smi = dir.path().join("small.smi");
    std::fs::write(
        &smi,
        "c1ccccc1O phenol\nCC(=O)Oc1ccccc1C(=O)O aspirin\nCN1C=NC2=C1C(=O)N(C(=O)N2C)C caffeine\n\
         c1ccc2[nH]ccc2c1 indole\nCCO ethanol\n",
    )
    .unwrap();
    let status =
        soyaku(&data).args(["library", "import"]).arg(&smi).stdout(Stdio::null()).status().unwrap();
    assert!(status.success());
    (dir, data)
}

/// An HTTP answer.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request with `Connection: close`.
fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    request_at(&server.addr, method, path, headers, body)
}

fn request_at(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(90))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Answer { status, headers, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
    out
}

fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> =
        auth.as_deref().map(|a| vec![("Authorization", a)]).unwrap_or_default();
    let a = request(server, "GET", path, &headers, b"");
    (a.status, a.json())
}

fn post_json(server: &Server, path: &str, token: Option<&str>, body: &Value) -> Answer {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = auth.as_deref() {
        headers.push(("Authorization", a));
    }
    request(server, "POST", path, &headers, body.to_string().as_bytes())
}

/// An API token for `user`, made through a session.
fn token(server: &Server, user: &str) -> String {
    let a = post_json(
        server,
        "/api/v1/session",
        None,
        &json!({"username": user, "password": PASSWORD}),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let cookie = a.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let csrf = a.json()["csrf"].as_str().unwrap().to_owned();
    let t = request(
        server,
        "POST",
        "/api/v1/tokens",
        &[("Content-Type", "application/json"), ("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        json!({"name": "hostile suite"}).to_string().as_bytes(),
    );
    assert_eq!(t.status, 201, "{}", t.text());
    t.json()["token"].as_str().unwrap().to_owned()
}

/// The server still answers, and quickly.
fn alive(server: &Server) {
    let started = Instant::now();
    assert_eq!(get(server, "/healthz", None).0, 200, "the server is down");
    assert!(started.elapsed() < Duration::from_secs(1), "/healthz took {:?}", started.elapsed());
}

fn encode(text: &str) -> String {
    text.bytes()
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

/// Finding 1: a client that resets its connection while its body is read
/// must cost its own connection, never the process (SIGPIPE).
#[test]
fn a_connection_reset_mid_body_does_not_kill_the_server() {
    let (_dir, data) = fresh();
    let server = serve(&data, &[]);
    for path in [
        "/api/v1/session",
        "/login",
        "/beacon/v2/individuals",
        "/api/v1/requests",
        "/api/v1/imports",
    ] {
        for _ in 0..5 {
            let mut s = TcpStream::connect(&server.addr).unwrap();
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: 1000000\r\n\r\n"
            );
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(&[b'x'; 100]).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            reset(s);
        }
        std::thread::sleep(Duration::from_millis(200));
        alive(&server);
    }
    // An upload broken off by its client leaves nothing on disk (finding 13).
    let sam = token(&server, "sam");
    let mut s = TcpStream::connect(&server.addr).unwrap();
    let head = format!(
        "POST /api/v1/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sam}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n\
         --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.smi\"\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    for _ in 0..64 {
        s.write_all(&b"CCO ethanol\n".repeat(1000)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(uploads_left(&data), 1, "the upload is being written");
    reset(s);
    let started = Instant::now();
    while uploads_left(&data) > 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "a broken-off upload was left");
        std::thread::sleep(Duration::from_millis(50));
    }
    alive(&server);
}

/// Closes `s` with a reset (SO_LINGER 0), as a killed client does.
fn reset(s: TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket and a correctly sized option value.
    let set = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0);
    drop(s);
}

/// Findings 12 and 13: a role that may not record screens is refused
/// before its hundreds of megabytes are read; a full upload quota refuses
/// an upload (507) and keeps nothing of it.
#[test]
fn uploads_are_refused_before_they_are_read_and_within_a_quota() {
    let (_dir, data) = fresh();
    let server = serve(&data, &["--upload-quota-gib", "0"]);
    let rita = token(&server, "rita");
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = format!(
        "POST /api/v1/screens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {rita}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 200000000\r\n\r\n--b\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut answer = [0u8; 64];
    let n = s.read(&mut answer).expect("answered without waiting for the body");
    let status = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(status.starts_with("HTTP/1.1 403"), "{status}");
    let sam = token(&server, "sam");
    let full = upload(&server, &sam, "small.smi", b"CCO ethanol\n");
    assert_eq!(full.status, 507, "{}", full.text());
    assert_eq!(full.json()["error"]["code"], "quota");
    assert_eq!(uploads_left(&data), 0);
    alive(&server);
}

/// Findings 2, 3, 11: structures past the limits, and NUL bytes, are refused
/// with a clear error before RDKit sees them, in every way a query arrives.
#[test]
fn huge_and_nul_structures_are_refused_and_the_server_stays_up() {
    let (_dir, data) = fresh();
    let server = serve(&data, &[]);
    let rita = token(&server, "rita");
    let chain = "C".repeat(7000);
    for path in [
        format!("/api/v1/search?mode=substructure&query={chain}"),
        format!("/api/v1/search?mode=similar&query={}", "C".repeat(3000)),
    ] {
        let (status, body) = get(&server, &path, Some(&rita));
        assert_eq!(status, 400, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("too large"), "{body}");
        alive(&server);
    }
    // The same through the page anyone can be sent a link to.
    let page = request(
        &server,
        "GET",
        &format!("/search?mode=substructure&query={chain}"),
        &[("Authorization", &format!("Bearer {rita}"))],
        b"",
    );
    assert_eq!(page.status, 400, "{}", page.text());
    alive(&server);
    // A NUL byte no longer cuts the structure short (C\0CO was methane).
    let (status, body) = get(
        &server,
        &format!("/api/v1/search?mode=similar&query={}", encode("C\0CO")),
        Some(&rita),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("U+0000"), "{body}");
    // Tversky weights that are not numbers.
    let (status, _) =
        get(&server, "/api/v1/search?mode=similar&query=CCO&metric=tversky&alpha=NaN", Some(&rita));
    assert_eq!(status, 400);
    // A diversity pick that would scan the library ten thousand times.
    let (status, _) = get(&server, "/api/v1/search?mode=pick&top=10000", Some(&rita));
    assert_eq!(status, 400);
    // Models and docking take the same limits.
    let big = post_json(&server, "/api/v1/predict/admet", Some(&rita), &json!({"smiles": chain}));
    assert_eq!(big.status, 400, "{}", big.text());
    alive(&server);
}

/// Findings 5 and 6: the costliest structure within the limits (a deeply
/// nested branch, cubic in RDKit's CIP ranking) is answered within its
/// deadline by the chemistry pool while the server's own threads stay free.
#[test]
fn nested_branch_queries_do_not_freeze_the_server() {
    let (_dir, data) = fresh();
    let server = serve(&data, &[]);
    let rita = token(&server, "rita");
    let n = 999;
    let nested = format!("{}C{}", "C(".repeat(n - 1), ")".repeat(n - 1));
    let path = format!("/api/v1/search?mode=similar&query={}", encode(&nested));
    let started = Instant::now();
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (addr, path, rita) = (server.addr.clone(), path.clone(), rita.clone());
            std::thread::spawn(move || {
                let auth = format!("Bearer {rita}");
                let a = request_at(&addr, "GET", &path, &[("Authorization", &auth)], b"");
                (a.status, a.json(), started.elapsed())
            })
        })
        .collect();
    let mut slowest_health = Duration::ZERO;
    while workers.iter().any(|w| !w.is_finished()) {
        let t = Instant::now();
        assert_eq!(get(&server, "/healthz", None).0, 200);
        slowest_health = slowest_health.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(20));
        assert!(started.elapsed() < Duration::from_secs(60), "queries never ended");
    }
    for w in workers {
        let (status, body, took) = w.join().unwrap();
        // Answered, or refused as too slow or busy: never hung past the deadline.
        assert!(matches!(status, 200 | 503), "{status} {body}");
        assert!(took < Duration::from_secs(20), "answered after {took:?}");
    }
    assert!(slowest_health < Duration::from_millis(100), "/healthz took {slowest_health:?}");
}

/// Polls a job until it ends.
fn finished_job(server: &Server, token: &str, id: i64) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = get(server, &format!("/api/v1/jobs/{id}"), Some(token));
        assert_eq!(status, 200, "{body}");
        if ["succeeded", "failed", "cancelled"].contains(&body["job"]["status"].as_str().unwrap()) {
            return body;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "job {id} never ended: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn upload(server: &Server, token: &str, name: &str, bytes: &[u8]) -> Answer {
    let boundary = "soyakuhostileboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let auth = format!("Bearer {token}");
    let kind = format!("multipart/form-data; boundary={boundary}");
    request(
        server,
        "POST",
        "/api/v1/imports",
        &[("Authorization", &auth), ("Content-Type", &kind)],
        &body,
    )
}

fn uploads_left(data: &Path) -> usize {
    std::fs::read_dir(data.join("uploads")).map_or(0, |d| d.count())
}

/// Findings 2, 11, 13, 17: in an import, a 3,000-atom chain, a NUL and a
/// spreadsheet formula are bad records with their line and reason while the
/// good ones land; the report cannot run formulas; the job shows no server
/// path; the upload is removed once imported.
#[test]
fn hostile_records_in_an_import_are_reported_and_the_good_ones_land() {
    let (_dir, data) = fresh();
    let server = serve(&data, &[]);
    let sam = token(&server, "sam");
    let file = format!(
        "CCCCO butanol\n{} chain\nC\0CO nul\n=HYPERLINK(\"http://x.example\") formula\nc1ccncc1 pyridine\n",
        "C".repeat(3000)
    );
    let a = upload(&server, &sam, "hostile.smi", file.as_bytes());
    assert_eq!(a.status, 202, "{}", a.text());
    let job = a.json()["job"].clone();
    assert!(!job.to_string().contains(data.to_str().unwrap()), "a server path in {job}");
    let done = finished_job(&server, &sam, job["id"].as_i64().unwrap());
    assert_eq!(done["job"]["status"], "succeeded", "{done}");
    assert_eq!(done["job"]["result"]["parents_new"], 2, "{done}");
    let report = request(
        &server,
        "GET",
        &format!("/api/v1/jobs/{}/report", job["id"]),
        &[("Authorization", &format!("Bearer {sam}"))],
        b"",
    );
    assert_eq!(report.status, 200);
    let text = report.text();
    assert!(text.contains(",2,chain,SMILES too large: 3000 atoms"), "{text}");
    assert!(text.contains("control character U+0000"), "{text}");
    assert!(text.contains("'=HYPERLINK"), "a formula reached the report unescaped: {text}");
    assert_eq!(uploads_left(&data), 0, "the imported upload is removed");
    alive(&server);
}

/// Peak resident memory of a process, in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Finding 7: a gzip bomb (1 MB inflating to 16 GiB of one line) is read in
/// bounded memory and fails with its reason; the server stays up.
#[test]
fn a_gzip_bomb_is_read_in_bounded_memory() {
    use flate2::write::GzEncoder;
    let (_dir, data) = fresh();
    let server = serve(&data, &[]);
    let sam = token(&server, "sam");
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b'C'; 1 << 20];
    for _ in 0..2048 {
        gz.write_all(&block).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
    let before = peak_kib(server.child.id());
    let a = upload(&server, &sam, "bomb.smi.gz", &bomb);
    assert_eq!(a.status, 202, "{}", a.text());
    let done = finished_job(&server, &sam, a.json()["job"]["id"].as_i64().unwrap());
    assert_eq!(done["job"]["status"], "failed", "{done}");
    assert!(done["job"]["error"].as_str().unwrap().contains("decompresses to more than"), "{done}");
    let grown = peak_kib(server.child.id()).saturating_sub(before);
    assert!(grown < 512 * 1024, "the server's peak memory grew by {grown} KiB");
    alive(&server);
}

/// Findings 8, 10, 15, 17: sign-in guessing is throttled with 429 and
/// Retry-After (even the right password waits), audited; a megabyte
/// username never reaches the audit log; pages carry the security headers;
/// the sign-in form refuses a post without its own token, and `next` cannot
/// lead off the site.
#[test]
fn sign_in_is_throttled_and_pages_are_hardened() {
    let (_dir, data) = fresh();
    let server = serve(&data, &[]);
    let ada = token(&server, "ada");
    let huge = "a".repeat(1 << 20);
    let a =
        post_json(&server, "/api/v1/session", None, &json!({"username": huge, "password": "x"}));
    assert_eq!(a.status, 401, "{}", a.text());
    for _ in 0..5 {
        let a = post_json(
            &server,
            "/api/v1/session",
            None,
            &json!({"username": "rita", "password": "wrong password"}),
        );
        assert_eq!(a.status, 401);
    }
    let a = post_json(
        &server,
        "/api/v1/session",
        None,
        &json!({"username": "rita", "password": "wrong password"}),
    );
    assert_eq!(a.status, 401, "the sixth failure still counts; the wait starts after it");
    let a = post_json(
        &server,
        "/api/v1/session",
        None,
        &json!({"username": "rita", "password": PASSWORD}),
    );
    assert_eq!(a.status, 429, "{}", a.text());
    assert!(a.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    let (_, log) = get(&server, "/api/v1/audit?limit=100", Some(&ada));
    let text = serde_json::to_string(&log["entries"]).unwrap();
    assert!(text.contains("sign_in.throttled"), "{text}");
    assert!(text.contains("user:(not a valid username)"), "{text}");
    assert!(text.len() < 100_000, "the audit log holds what a caller sent: {} bytes", text.len());
    assert!(text.contains("sign_in.failed"), "{text}");

    let login = request(&server, "GET", "/login", &[], b"");
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(login.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
    assert_eq!(login.header("referrer-policy"), Some("same-origin"));
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let (_, me) = get(&server, "/api/v1/me", Some(&ada));
    assert_eq!(me["user"]["username"], "ada", "{me}");

    // Login CSRF: a form posted from elsewhere has no form token.
    let forged = request(
        &server,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("username=ada&password={}", encode(PASSWORD)).as_bytes(),
    );
    assert_eq!(forged.status, 303);
    assert!(forged.header("location").unwrap().contains("failed=2"));
    assert!(forged.header("set-cookie").is_none_or(|c| !c.contains("soyaku_session=")));
    // A refusal is audited with who was refused and what they asked.
    let sam = token(&server, "sam");
    let (status, _) = get(&server, "/api/v1/audit", Some(&sam));
    assert_eq!(status, 403);
    let (_, log) = get(&server, "/api/v1/audit?limit=5", Some(&ada));
    let refused = log["entries"].as_array().unwrap().iter().find(|e| e["action"] == "refused");
    let refused = refused.unwrap_or_else(|| panic!("no refusal in {log}"));
    assert_eq!(
        (refused["username"].as_str(), refused["target"].as_str()),
        (Some("sam"), Some("GET /api/v1/audit"))
    );
    // Open redirect through a tab, which browsers drop from URLs.
    let lang =
        request(&server, "GET", &format!("/lang/en?back={}", encode("/\t/evil.example")), &[], b"");
    assert_eq!(lang.header("location"), Some("/search"));
    alive(&server);
    // Everything above left a whole audit chain.
    drop(server);
    let out = soyaku(&data).args(["audit", "verify"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("the chain is whole"), "{said}");
}

/// Finding 2's second half, and finding 4: a job that kills the server at
/// every start is failed after three interruptions with a clear reason, and
/// the server stays up; the operator can also fail a job by hand.
#[test]
fn a_job_interrupted_by_crashes_fails_instead_of_looping() {
    let (dir, data) = fresh();
    let mut server = serve(&data, &[]);
    let sam = token(&server, "sam");
    // A long import, so that it is running when the server is killed.
    let demo = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo/moses-demo.smi.gz"),
    )
    .unwrap();
    let a = upload(&server, &sam, "long.smi.gz", &demo);
    assert_eq!(a.status, 202, "{}", a.text());
    let id = a.json()["job"]["id"].as_i64().unwrap();
    for life in 1..=4 {
        let started = Instant::now();
        let job = loop {
            let (_, body) = get(&server, &format!("/api/v1/jobs/{id}"), Some(&sam));
            let status = body["job"]["status"].as_str().unwrap_or("").to_owned();
            if status == "running" || status == "failed" {
                break body;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{body}");
            std::thread::sleep(Duration::from_millis(50));
        };
        if life == 4 {
            assert_eq!(job["job"]["status"], "failed", "{job}");
            let why = job["job"]["error"].as_str().unwrap();
            assert!(why.starts_with("interrupted: the server stopped 3 times"), "{why}");
            alive(&server);
            break;
        }
        assert_eq!(job["job"]["status"], "running", "start {life}: {job}");
        // Killed as a crash would (no clean stop), then started again.
        let _ = server.child.kill();
        let _ = server.child.wait();
        drop(server);
        server = serve(&data, &[]);
    }
    // The operator's way out works on any job that has not ended.
    let stuck = upload(&server, &sam, "again.smi.gz", &demo);
    let stuck = stuck.json()["job"]["id"].as_i64().unwrap();
    drop(server);
    let out =
        soyaku(&data).args(["jobs", "fail", &stuck.to_string(), "--why", "test"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("failed by the operator: test"));
    drop(dir);
}

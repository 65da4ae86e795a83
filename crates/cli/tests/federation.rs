//! The biobank federation as deployed: nodes and the cross-search as
//! separate processes on loopback — two nodes listening, one polling (pull
//! mode), and one that accepts connections but never answers — with nodes
//! killed while queries are in flight. The cross-search must answer every
//! query, naming each node's status, within its time limits.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn soyaku(data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_soyaku"));
    c.arg("--data").arg(data).args(args).env("SOYAKU_LOG", "warn");
    c
}

/// Starts a listening node and returns it with its base URL.
fn node(dir: &Path, bank: &str) -> (Running, String) {
    let token = dir.join(format!("{bank}.token"));
    let mut child = soyaku(
        &dir.join(bank),
        &["biobank", "node", "--addr", "127.0.0.1:0", "--demo", bank, "--demo-scale", "0.02"],
    )
    .arg("--token-file")
    .arg(&token)
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line}"));
    (Running(child), url.to_owned())
}

/// Starts the cross-search and returns it with its address, read from its
/// log (it listens on a free port).
fn cross_search(dir: &Path, federation: &Path) -> (Running, String) {
    let mut child = soyaku(&dir.join("hub"), &["serve", "--addr", "127.0.0.1:0", "--no-demo"])
        .arg("--federation")
        .arg(federation)
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
    let addr = rx.recv_timeout(Duration::from_secs(30)).expect("the cross-search listens");
    (Running(child), addr)
}

/// GET over plain HTTP/1.1: status and JSON body.
fn get(addr: &str, path: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn statuses(doc: &Value) -> Vec<(String, String)> {
    doc["info"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|n| (n["node"].as_str().unwrap().to_owned(), n["status"].as_str().unwrap().to_owned()))
        .collect()
}

fn status_of(doc: &Value, node: &str) -> String {
    statuses(doc).into_iter().find(|(n, _)| n == node).map(|(_, s)| s).unwrap()
}

const QUERY: &str = "/beacon/v2/individuals?filters=ICD10:E11";

#[test]
fn the_cross_search_survives_slow_and_killed_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (bank, token) in [("tmm", "t"), ("bbj", "b"), ("ncbn", "n"), ("slow", "s")] {
        std::fs::write(d.join(format!("{bank}.token")), token.repeat(32)).unwrap();
    }
    let (_tmm, tmm_url) = node(d, "tmm");
    let (mut bbj, bbj_url) = node(d, "bbj");
    // A node that accepts connections and never answers.
    let slow = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let slow_url = format!("http://{}", slow.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in slow.incoming() {
            held.push(c);
        }
    });
    let federation = d.join("federation.toml");
    std::fs::write(
        &federation,
        format!(
            "[[node]]\nname = \"tmm\"\nurl = \"{tmm_url}\"\ntoken_file = \"tmm.token\"\n\
             [[node]]\nname = \"bbj\"\nurl = \"{bbj_url}\"\ntoken_file = \"bbj.token\"\n\
             [[node]]\nname = \"ncbn\"\nmode = \"pull\"\ntoken_file = \"ncbn.token\"\ntimeout_ms = 1500\n\
             [[node]]\nname = \"slow\"\nurl = \"{slow_url}\"\ntoken_file = \"slow.token\"\ntimeout_ms = 700\n"
        ),
    )
    .unwrap();
    let (_hub, addr) = cross_search(d, &federation);

    // A pull node with a wrong token is told so and stops.
    std::fs::write(d.join("wrong.token"), "w".repeat(32)).unwrap();
    let wrong =
        soyaku(&d.join("wrong"), &["biobank", "node", "--demo", "ncbn", "--demo-scale", "0.02"])
            .args(["--pull", &format!("http://{addr}")])
            .arg("--token-file")
            .arg(d.join("wrong.token"))
            .stdout(Stdio::null())
            .output()
            .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("does not accept this node's token"));

    // Before the pull node polls, it is reported unreachable at once.
    let (status, doc) = get(&addr, QUERY);
    assert_eq!(status, 200, "{doc}");
    assert_eq!(status_of(&doc, "ncbn"), "unreachable", "{doc}");
    let pulling = Running(
        soyaku(&d.join("ncbn"), &["biobank", "node", "--demo", "ncbn", "--demo-scale", "0.02"])
            .args(["--pull", &format!("http://{addr}")])
            .arg("--token-file")
            .arg(d.join("ncbn.token"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let doc = loop {
        let (_, doc) = get(&addr, QUERY);
        if status_of(&doc, "ncbn") == "ok" || Instant::now() > deadline {
            break doc;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        statuses(&doc),
        [("tmm", "ok"), ("bbj", "ok"), ("ncbn", "ok"), ("slow", "timeout")]
            .map(|(n, s)| (n.to_owned(), s.to_owned())),
        "{doc}"
    );
    let banks: Vec<&str> = doc["response"]["resultSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(banks, ["tmm", "bbj", "ncbn"]);

    // Queries run back to back while two nodes are killed mid-stream; every
    // one is answered, none waits much past the longest time limit.
    let asking = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            (0..8)
                .map(|_| {
                    let started = Instant::now();
                    let (status, doc) = get(&addr, QUERY);
                    (status, doc, started.elapsed())
                })
                .collect::<Vec<_>>()
        })
    };
    std::thread::sleep(Duration::from_millis(1200));
    bbj.0.kill().unwrap();
    drop(pulling);
    let answers = asking.join().unwrap();
    for (status, doc, took) in &answers {
        assert_eq!(*status, 200, "{doc}");
        assert_eq!(status_of(doc, "tmm"), "ok", "{doc}");
        assert!(*took < Duration::from_millis(2500), "{took:?}: {doc}");
    }
    let (_, last, _) = answers.last().unwrap();
    assert_eq!(status_of(last, "bbj"), "unreachable", "{last}");
    assert_eq!(status_of(last, "ncbn"), "timeout", "{last}");
    assert_eq!(last["responseSummary"]["exists"], true);
    let banks: Vec<&str> = last["response"]["resultSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(banks, ["tmm"], "only what answered");
}

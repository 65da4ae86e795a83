//! The biobank federation: one query, many nodes.
//!
//! The cross-search ([`Federation`]) sends a Beacon v2 request to every
//! node at once and gathers the answers, each node within its own time
//! limit: a node that is slow, down or refusing is named in the answer's
//! per-node status and the others are still answered — no node can fail
//! the whole search. A node is reached one of three ways ([`Link`]):
//!
//! - **in process** (a catalogue imported into this platform);
//! - **push**: the node listens (`soyaku biobank node --addr`) and the
//!   cross-search calls its Beacon API, authenticating with the node's
//!   token;
//! - **pull**: the node sits behind a hospital firewall that admits no
//!   inbound connection, so it polls the cross-search for queries
//!   ([`pull`]) and posts the answers back, authenticating with its token.
//!
//! Protection happens at the node (see `biobank::node`): the cross-search
//! asks for no more than the caller's role allows and passes the caller's
//! pseudonym, so each node keeps that caller's budget and query history.

pub mod config;
mod pull;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use biobank::beacon::{read_results, Entry, Request};
use biobank::node::{Node, Reply};
use biobank::protect::{BankAnswer, Granularity};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::sync::{oneshot, Notify};

pub use pull::{pull, PullError};

/// The header carrying the caller's pseudonym to a node.
pub const CALLER_HEADER: &str = "x-soyaku-caller";

/// The header naming the biobanks that approved the caller's access
/// request (comma-separated): only their records may be released.
pub const GRANT_HEADER: &str = "x-soyaku-grant";

/// The most a node gives for a query under `grant`: records for an
/// approved access request, else counts.
pub fn most_for(grant: &[String]) -> Granularity {
    if grant.is_empty() {
        NODE_MOST
    } else {
        Granularity::Record
    }
}

/// The most a node gives the cross-search: counts. Records need an
/// approved access request and are released by the biobank itself.
pub const NODE_MOST: Granularity = Granularity::Count;

/// A shared secret between the cross-search and one node. Compared in
/// constant time; never printed.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// A token from its text (surrounding white space removed).
    pub fn new(text: &str) -> Result<Token, FederationError> {
        let t = text.trim();
        if t.len() < 16 {
            return Err(FederationError::WeakToken);
        }
        Ok(Token(t.to_owned()))
    }

    /// A fresh random token (32 bytes from the operating system, hex).
    pub fn random() -> std::io::Result<Token> {
        use std::io::Read as _;
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The text, for an `Authorization: Bearer` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, in time independent of where
    /// they differ (digests are compared, so length leaks nothing either).
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (Sha256::digest(self.0.as_bytes()), Sha256::digest(presented.as_bytes()));
        a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// How a node is reached.
pub enum Link {
    /// In this process.
    Local(Arc<Node>),
    /// Its Beacon API at this base URL (ending before `/api`).
    Push {
        /// Base URL, e.g. `http://10.1.2.3:7100`.
        url: String,
        /// What the node expects from us.
        token: Token,
    },
    /// It polls us.
    Pull {
        /// What the node presents to us.
        token: Token,
    },
}

/// One node of the federation.
pub struct Peer {
    /// Its name (shown in statuses).
    pub name: String,
    /// How it is reached.
    pub link: Link,
    /// How long it may take to answer.
    pub timeout: Duration,
}

/// What became of one node's part of a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Status {
    /// Answered.
    Ok,
    /// Did not answer in time.
    Timeout,
    /// Could not be reached (down, or a pull node not polling).
    Unreachable(String),
    /// Refused by the node's protection (budget, differencing).
    Refused(String),
    /// The node found the query bad.
    BadRequest(String),
    /// Anything else (bad token, a malformed answer).
    Failed(String),
}

/// A node's status in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node.
    pub node: String,
    /// What happened.
    #[serde(flatten)]
    pub status: Status,
    /// Milliseconds until it answered or was given up.
    pub ms: u64,
}

/// A gathered answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Gathered {
    /// Per biobank, from the nodes that answered.
    pub banks: Vec<BankAnswer>,
    /// Per node.
    pub nodes: Vec<NodeStatus>,
}

impl Gathered {
    /// When every node that answered at all found the query bad, the query
    /// is bad: their message.
    pub fn bad_request(&self) -> Option<&str> {
        let mut answered = self.nodes.iter().filter(|n| {
            !matches!(n.status, Status::Timeout | Status::Unreachable(_) | Status::Failed(_))
        });
        let first = answered.next()?;
        match &first.status {
            Status::BadRequest(m) if answered.all(|n| n.status == first.status) => Some(m),
            _ => None,
        }
    }

    /// When every node that answered refused, the first refusal.
    pub fn refused(&self) -> Option<&str> {
        let mut answered = self.nodes.iter().filter(|n| {
            !matches!(n.status, Status::Timeout | Status::Unreachable(_) | Status::Failed(_))
        });
        let first = answered.next()?;
        match &first.status {
            Status::Refused(m) if answered.all(|n| matches!(n.status, Status::Refused(_))) => {
                Some(m)
            }
            _ => None,
        }
    }
}

/// A federation that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// A token too short to be a secret.
    #[error("a node token must be at least 16 characters (make one with `openssl rand -hex 32`)")]
    WeakToken,
    /// The configuration file.
    #[error("{0}")]
    Config(String),
    /// The HTTP client.
    #[error("the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// A query waiting for a pull node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// Its number, to post the reply to.
    pub id: u64,
    /// Entry type.
    pub entry: Entry,
    /// The caller's pseudonym.
    pub caller: String,
    /// The request.
    pub request: Request,
    /// Biobanks that approved the caller's access request.
    #[serde(default)]
    pub grant: Vec<String>,
}

/// A reply posted by a pull node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostedReply {
    /// HTTP-style status (200, 400, 429).
    pub status: u16,
    /// The Beacon document.
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Mailbox {
    queue: VecDeque<Job>,
    waiting: HashMap<u64, oneshot::Sender<PostedReply>>,
    last_poll: Option<Instant>,
}

/// The cross-search's side of the federation.
pub struct Federation {
    peers: Vec<Peer>,
    client: reqwest::Client,
    mailboxes: Vec<(Mutex<Mailbox>, Notify)>,
    next_job: std::sync::atomic::AtomicU64,
}

/// A pull node not heard from for this long is reported unreachable at
/// once rather than waited for.
const PULL_SILENCE: Duration = Duration::from_secs(90);

impl Federation {
    /// A federation of these peers.
    pub fn new(peers: Vec<Peer>) -> Result<Federation, FederationError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        let mailboxes = peers.iter().map(|_| Default::default()).collect();
        Ok(Federation { peers, client, mailboxes, next_job: 1.into() })
    }

    /// The peers.
    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    /// Asks every node `request` for `entry` on behalf of `caller`, whose
    /// access request the biobanks in `grant` approved, and gathers what
    /// comes back in time.
    pub async fn ask(
        &self,
        entry: Entry,
        request: &Request,
        caller: &str,
        grant: &[String],
    ) -> Gathered {
        let calls = self.peers.iter().enumerate().map(|(i, peer)| async move {
            let started = Instant::now();
            let call = self.ask_one(i, entry, request, caller, grant);
            let outcome = match tokio::time::timeout(peer.timeout, call).await {
                Ok(r) => r,
                Err(_) => Err(Status::Timeout),
            };
            if outcome.is_err() {
                self.forget(i);
            }
            (peer.name.clone(), outcome, started.elapsed())
        });
        let mut banks = Vec::new();
        let mut nodes = Vec::new();
        for (node, outcome, took) in futures_util::future::join_all(calls).await {
            let status = match outcome.and_then(|reply| read_reply(&reply)) {
                Ok(mut b) => {
                    banks.append(&mut b);
                    Status::Ok
                }
                Err(s) => s,
            };
            nodes.push(NodeStatus { node, status, ms: took.as_millis() as u64 });
        }
        Gathered { banks, nodes }
    }

    async fn ask_one(
        &self,
        i: usize,
        entry: Entry,
        request: &Request,
        caller: &str,
        grant: &[String],
    ) -> Result<PostedReply, Status> {
        match &self.peers[i].link {
            Link::Local(node) => {
                let (node, request, caller) = (node.clone(), request.clone(), caller.to_owned());
                let grant = grant.to_vec();
                let day = library::now().div_euclid(86_400);
                let Reply { status, body, .. } = tokio::task::spawn_blocking(move || {
                    node.reply(entry, &request, &caller, (most_for(&grant), &grant), day)
                })
                .await
                .map_err(|e| Status::Failed(e.to_string()))?;
                Ok(PostedReply { status, body })
            }
            Link::Push { url, token } => {
                let response = self
                    .client
                    .post(format!("{}/api/{}", url.trim_end_matches('/'), entry.path()))
                    .bearer_auth(token.expose())
                    .header(CALLER_HEADER, caller)
                    .header(GRANT_HEADER, grant.join(","))
                    .json(request)
                    .send()
                    .await
                    .map_err(|e| Status::Unreachable(without_url(&e)))?;
                let status = response.status().as_u16();
                if status == 401 {
                    return Err(Status::Failed("the node did not accept our token".into()));
                }
                let body = response.json().await.map_err(|e| Status::Failed(without_url(&e)))?;
                Ok(PostedReply { status, body })
            }
            Link::Pull { .. } => {
                let (tx, rx) = oneshot::channel();
                {
                    let (mailbox, notify) = &self.mailboxes[i];
                    let mut m = mailbox.lock().expect("mailbox lock");
                    if m.last_poll.is_none_or(|t| t.elapsed() > PULL_SILENCE) {
                        return Err(Status::Unreachable("the node is not polling".into()));
                    }
                    let id = self.next_job.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    m.queue.push_back(Job {
                        id,
                        entry,
                        caller: caller.to_owned(),
                        request: request.clone(),
                        grant: grant.to_vec(),
                    });
                    m.waiting.insert(id, tx);
                    notify.notify_one();
                }
                rx.await.map_err(|_| Status::Failed("the node's reply was lost".into()))
            }
        }
    }

    /// Drops what a pull node still holds for queries given up on (their
    /// waiters are gone; jobs not yet collected need not be).
    fn forget(&self, i: usize) {
        let mut m = self.mailboxes[i].0.lock().expect("mailbox lock");
        m.waiting.retain(|_, tx| !tx.is_closed());
        let Mailbox { queue, waiting, .. } = &mut *m;
        queue.retain(|j| waiting.contains_key(&j.id));
    }

    /// Which pull peer presents `token`.
    fn pull_peer(&self, token: &str) -> Option<usize> {
        self.peers
            .iter()
            .position(|p| matches!(&p.link, Link::Pull { token: t } if t.matches(token)))
    }

    /// The next query for the pull node presenting `token`, waiting up to
    /// `wait` for one; `Err` if no pull node has that token.
    pub async fn next_job(&self, token: &str, wait: Duration) -> Result<Option<Job>, NotANode> {
        let i = self.pull_peer(token).ok_or(NotANode)?;
        let deadline = Instant::now() + wait;
        loop {
            let (mailbox, notify) = &self.mailboxes[i];
            let notified = notify.notified();
            {
                let mut m = mailbox.lock().expect("mailbox lock");
                m.last_poll = Some(Instant::now());
                if let Some(job) = m.queue.pop_front() {
                    return Ok(Some(job));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
                return Ok(None);
            }
        }
    }

    /// Delivers a pull node's reply to query `id`. A reply to a query given
    /// up on is dropped.
    pub fn deliver(&self, token: &str, id: u64, reply: PostedReply) -> Result<(), NotANode> {
        let i = self.pull_peer(token).ok_or(NotANode)?;
        let mut m = self.mailboxes[i].0.lock().expect("mailbox lock");
        m.last_poll = Some(Instant::now());
        if let Some(tx) = m.waiting.remove(&id) {
            let _ = tx.send(reply);
        }
        Ok(())
    }
}

/// A token that belongs to no pull node.
#[derive(Debug, thiserror::Error)]
#[error("this token belongs to no node of this cross-search")]
pub struct NotANode;

/// An HTTP error without the URL (which may carry a host name worth
/// keeping out of answers to the public).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connection refused or no route"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_decode() {
        "the answer was not JSON"
    } else {
        "request failed"
    };
    kind.to_owned()
}

fn read_reply(reply: &PostedReply) -> Result<Vec<BankAnswer>, Status> {
    let message = || reply.body["error"]["errorMessage"].as_str().unwrap_or("").to_owned();
    match reply.status {
        200 => read_results(&reply.body)
            .map(|(_, banks)| banks)
            .map_err(|e| Status::Failed(e.to_string())),
        400 => Err(Status::BadRequest(message())),
        429 => Err(Status::Refused(message())),
        other => Err(Status::Failed(format!("status {other}: {}", message()))),
    }
}

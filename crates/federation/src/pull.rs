//! Pull mode, the node's side: poll the cross-search for queries, answer
//! them locally, post the answers back. Only outbound connections, so a
//! node inside a hospital network opens no port.

use std::sync::Arc;
use std::time::Duration;

use biobank::node::Node;

use crate::{most_for, Job, PostedReply, Token};

/// How long one poll may wait at the cross-search for a query.
const POLL_WAIT: Duration = Duration::from_secs(20);

/// Pulling stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The cross-search does not know our token: retrying cannot help.
    #[error("the cross-search at {0} does not accept this node's token")]
    Rejected(String),
    /// The HTTP client could not be made.
    #[error("the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Polls `aggregator` (its base URL) for queries to `node` until `stop`
/// turns true; connection failures are retried with back-off (1 s doubling
/// to 30 s) and logged.
pub async fn pull(
    node: Arc<Node>,
    aggregator: &str,
    token: &Token,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), PullError> {
    let base = aggregator.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(POLL_WAIT + Duration::from_secs(10))
        .build()?;
    let mut backoff = Duration::from_secs(1);
    while !*stop.borrow() {
        let poll = client
            .get(format!("{base}/federation/v1/next?wait_ms={}", POLL_WAIT.as_millis()))
            .bearer_auth(token.expose())
            .send();
        let response = tokio::select! {
            r = poll => r,
            _ = stop.changed() => break,
        };
        let job = match response {
            Ok(r) if r.status() == 401 => return Err(PullError::Rejected(base.to_owned())),
            Ok(r) if r.status() == 204 => {
                backoff = Duration::from_secs(1);
                continue;
            }
            Ok(r) if r.status().is_success() => r.json::<Job>().await,
            Ok(r) => {
                tracing::warn!(
                    status = r.status().as_u16(),
                    "the cross-search answered a poll with an error"
                );
                wait(&mut backoff, &mut stop).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the cross-search; retrying");
                wait(&mut backoff, &mut stop).await;
                continue;
            }
        };
        let job = match job {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "a query from the cross-search could not be read");
                continue;
            }
        };
        backoff = Duration::from_secs(1);
        let (id, n) = (job.id, node.clone());
        let day = library::now().div_euclid(86_400);
        let reply = tokio::task::spawn_blocking(move || {
            n.reply(job.entry, &job.request, &job.caller, (most_for(&job.grant), &job.grant), day)
        })
        .await
        .expect("answering does not panic");
        tracing::info!(id, status = reply.status, "answered a query");
        let posted = PostedReply { status: reply.status, body: reply.body };
        if let Err(e) = client
            .post(format!("{base}/federation/v1/reply/{id}"))
            .bearer_auth(token.expose())
            .json(&posted)
            .send()
            .await
        {
            tracing::warn!(error = %e, "could not post an answer back");
        }
    }
    Ok(())
}

async fn wait(backoff: &mut Duration, stop: &mut tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(*backoff) => {}
        _ = stop.changed() => {}
    }
    *backoff = (*backoff * 2).min(Duration::from_secs(30));
}

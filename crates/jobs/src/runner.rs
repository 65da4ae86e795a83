//! Runs queued jobs, at most `limit` at a time.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Semaphore};

use crate::{Job, JobError, Jobs, Outcome};

/// The work behind one kind of job: given the job's context, does it and
/// returns its result, or an error message for people.
pub type Handler = Arc<
    dyn Fn(JobContext) -> Pin<Box<dyn Future<Output = Result<serde_json::Value, String>> + Send>>
        + Send
        + Sync,
>;

/// How often progress is written and a cancel request is looked for.
const TICK: Duration = Duration::from_millis(500);

/// What a handler gets: the job, a way to report progress and log lines,
/// and the cancel flag to check.
#[derive(Clone)]
pub struct JobContext {
    /// The job as claimed.
    pub job: Job,
    jobs: Jobs,
    cancel: Arc<AtomicBool>,
    progress: watch::Sender<(f64, String)>,
}

impl JobContext {
    /// Reports progress (0–1) and what is being done. Cheap: the latest
    /// report is written to the database twice a second.
    pub fn report(&self, fraction: f64, message: impl Into<String>) {
        self.progress.send_replace((fraction, message.into()));
    }

    /// Adds a line to the job's log.
    pub async fn log(&self, line: impl AsRef<str>) {
        // A log line that cannot be written must not fail the job itself.
        let _ = self.jobs.append_log(self.job.id, line.as_ref()).await;
    }

    /// Set once a cancel has been asked for; long work checks it and stops.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Whether a cancel has been asked for.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Claims and runs jobs.
pub struct Runner {
    jobs: Jobs,
    handlers: HashMap<String, Handler>,
    limit: usize,
}

impl Runner {
    /// A runner over `jobs` running at most `limit` jobs at once.
    pub fn new(jobs: Jobs, limit: usize) -> Runner {
        Runner { jobs, handlers: HashMap::new(), limit: limit.max(1) }
    }

    /// Registers the handler of one kind of job.
    pub fn handle<F, Fut>(mut self, kind: &str, handler: F) -> Runner
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<serde_json::Value, String>> + Send + 'static,
    {
        self.handlers.insert(kind.to_owned(), Arc::new(move |ctx| Box::pin(handler(ctx))));
        self
    }

    /// Runs until `stop` turns true: first puts jobs an earlier process left
    /// running back in the queue (failing those it has lost too often),
    /// then takes queued jobs as slots free up. Jobs still running at the
    /// stop go back to the queue as a clean stop; the next start resumes
    /// them.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), JobError> {
        let requeued = self.jobs.requeue_running().await?;
        if requeued > 0 {
            self.jobs.wake.notify_one();
        }
        let slots = Arc::new(Semaphore::new(self.limit));
        let handlers = Arc::new(self.handlers);
        let in_flight = Arc::new(Mutex::new(HashSet::new()));
        loop {
            if *stop.borrow() {
                let ids: Vec<i64> = in_flight.lock().expect("in-flight lock").drain().collect();
                for id in ids {
                    self.jobs.release(id).await?;
                }
                return Ok(());
            }
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("semaphore open"),
                changed = stop.changed() => {
                    // A dropped sender can never say stop: stop now.
                    if changed.is_err() {
                        stop = watch::channel(true).1;
                    }
                    continue;
                }
            };
            match self.jobs.claim().await? {
                Some(job) => {
                    let (jobs, handlers) = (self.jobs.clone(), handlers.clone());
                    let in_flight = in_flight.clone();
                    in_flight.lock().expect("in-flight lock").insert(job.id);
                    tokio::spawn(async move {
                        let id = job.id;
                        run_one(jobs, &handlers, job).await;
                        in_flight.lock().expect("in-flight lock").remove(&id);
                        drop(permit);
                    });
                }
                None => {
                    drop(permit);
                    tokio::select! {
                        _ = self.jobs.wake.notified() => {}
                        // Jobs queued by another process are found by polling.
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        changed = stop.changed() => {
                            if changed.is_err() {
                                stop = watch::channel(true).1;
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn run_one(jobs: Jobs, handlers: &HashMap<String, Handler>, job: Job) {
    let id = job.id;
    let Some(handler) = handlers.get(&job.kind).cloned() else {
        let why = format!("no handler for jobs of kind '{}'", job.kind);
        let _ = jobs.finish(id, Outcome::Failed(why)).await;
        return;
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let (progress, mut seen) = watch::channel((job.progress, String::new()));
    let ctx = JobContext { job, jobs: jobs.clone(), cancel: cancel.clone(), progress };
    // The watcher writes progress and looks for cancel requests while the
    // handler works; it ends when the handler's context is dropped.
    let watcher = {
        let (jobs, cancel) = (jobs.clone(), cancel.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(TICK).await;
                if jobs.cancel_requested(id).await.unwrap_or(false) {
                    cancel.store(true, Ordering::Relaxed);
                }
                match seen.has_changed() {
                    Ok(true) => {
                        let (fraction, message) = seen.borrow_and_update().clone();
                        let _ = jobs.set_progress(id, fraction, &message).await;
                    }
                    Ok(false) => {}
                    Err(_) => return,
                }
            }
        })
    };
    let result = handler(ctx).await;
    watcher.abort();
    let cancelled =
        cancel.load(Ordering::Relaxed) || jobs.cancel_requested(id).await.unwrap_or(false);
    let outcome = match result {
        Ok(value) if !cancelled => Outcome::Done(value),
        _ if cancelled => Outcome::Cancelled,
        Err(e) => Outcome::Failed(e),
        Ok(_) => unreachable!("covered above"),
    };
    if let Outcome::Failed(e) = &outcome {
        let _ = jobs.append_log(id, &format!("failed: {e}")).await;
    }
    let _ = jobs.finish(id, outcome).await;
}

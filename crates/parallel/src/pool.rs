//! A bounded pool of large-stack threads for work a request waits on.
//!
//! Why not the async runtime's blocking pool: it grows to hundreds of
//! threads with default stacks, so a burst of hostile structures either
//! overflows a stack (the process dies) or takes every core while the
//! server's own threads starve. Here the threads are few and fixed, the
//! queue is bounded (a full queue answers [`PoolError::Busy`] at once), and
//! every task has a deadline: the caller is answered when it passes, and a
//! task still queued by then is dropped unstarted. A task that has started
//! runs to its end (RDKit cannot be interrupted), which is why structures
//! are size-checked before they get here.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Task = Box<dyn FnOnce() + Send>;

/// Why pooled work gave no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Every thread is busy and the queue is full.
    #[error("the server is busy with other work; try again shortly")]
    Busy,
    /// The deadline passed before the work finished.
    #[error("the work took longer than its limit of {} s", .0.as_secs_f64())]
    Deadline(Duration),
    /// The work panicked; the message is the panic's.
    #[error("the work failed: {0}")]
    Panicked(String),
}

/// Fixed threads, a bounded queue, a deadline per task.
pub struct Pool {
    queue: SyncSender<Task>,
    deadline: Duration,
}

impl Pool {
    /// A pool of `threads` threads (at least one), holding at most `queued`
    /// waiting tasks, whose tasks get `deadline` unless they ask otherwise.
    pub fn new(threads: usize, queued: usize, deadline: Duration) -> Pool {
        let threads = threads.max(1);
        let (queue, tasks) = sync_channel::<Task>(queued);
        let tasks = Arc::new(Mutex::new(tasks));
        for i in 0..threads {
            let tasks = tasks.clone();
            crate::spawn(&format!("pool-{i}"), move || loop {
                // The lock is held only while waiting for the next task.
                let next = tasks.lock().map(|t| t.recv());
                match next {
                    Ok(Ok(task)) => task(),
                    _ => return,
                }
            });
        }
        Pool { queue, deadline }
    }

    /// Runs `work` on the pool within the pool's deadline.
    pub async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, PoolError> {
        self.run_within(self.deadline, work).await
    }

    /// Runs `work` on the pool and waits at most `deadline` for it.
    pub async fn run_within<R: Send + 'static>(
        &self,
        deadline: Duration,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, PoolError> {
        let expires = Instant::now() + deadline;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move || {
            // Nobody waits for work whose deadline passed in the queue.
            if Instant::now() >= expires || tx.is_closed() {
                return;
            }
            let _ = tx.send(std::panic::catch_unwind(AssertUnwindSafe(work)));
        });
        match self.queue.try_send(task) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(PoolError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(PoolError::Panicked("the pool has stopped".into()))
            }
        }
        match tokio::time::timeout_at(expires.into(), rx).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(panic))) => Err(PoolError::Panicked(panic_message(panic.as_ref()))),
            // Dropped unstarted: its deadline passed while it waited.
            Ok(Err(_)) | Err(_) => Err(PoolError::Deadline(deadline)),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
    }

    #[test]
    fn results_come_back_and_panics_are_errors() {
        rt().block_on(async {
            let pool = Pool::new(2, 4, Duration::from_secs(5));
            assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
            let failed = pool.run(|| -> u8 { panic!("boom") }).await;
            assert_eq!(failed, Err(PoolError::Panicked("boom".into())));
            // The thread survives a panic.
            assert_eq!(pool.run(|| 1).await, Ok(1));
        });
    }

    #[test]
    fn a_slow_task_answers_at_its_deadline_and_queued_work_past_it_never_starts() {
        rt().block_on(async {
            let pool = Pool::new(1, 4, Duration::from_secs(5));
            let started = Instant::now();
            let slow = pool.run_within(Duration::from_millis(50), || {
                std::thread::sleep(Duration::from_millis(400))
            });
            assert_eq!(slow.await, Err(PoolError::Deadline(Duration::from_millis(50))));
            assert!(started.elapsed() < Duration::from_millis(300), "{:?}", started.elapsed());
            // Queued behind the slow task; expires before the thread is free.
            let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = ran.clone();
            let queued = pool.run_within(Duration::from_millis(50), move || {
                flag.store(true, std::sync::atomic::Ordering::SeqCst)
            });
            assert!(matches!(queued.await, Err(PoolError::Deadline(_))));
            assert_eq!(pool.run(|| 2).await, Ok(2));
            assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        });
    }

    #[test]
    fn a_full_queue_is_busy_at_once() {
        rt().block_on(async {
            let pool = Arc::new(Pool::new(1, 1, Duration::from_secs(5)));
            let (hold, release) = std::sync::mpsc::channel::<()>();
            let blocker = tokio::spawn({
                let pool = pool.clone();
                async move { pool.run(move || release.recv().ok()).await }
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            let waiting = tokio::spawn({
                let pool = pool.clone();
                async move { pool.run(|| 3).await }
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(pool.run(|| 4).await, Err(PoolError::Busy));
            hold.send(()).unwrap();
            assert!(blocker.await.unwrap().is_ok());
            assert_eq!(waiting.await.unwrap(), Ok(3));
        });
    }
}

//! The job queue with a real runner on a real database: progress, logs,
//! limits, cancellation, retry, restart and who may see what.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accounts::{Accounts, Actor, NewUser, Role};
use jobs::{Job, Jobs, Runner, Status};
use serde_json::json;
use testdb::Backend;
use tokio::sync::watch;

testdb::on_both_backends!(
    jobs_run_with_progress_and_logs_within_the_limit,
    cancel_stops_queued_and_running_jobs_and_retry_resumes,
    jobs_left_running_by_a_stopped_process_run_again,
    people_see_their_own_jobs_and_staff_see_all,
    a_job_that_keeps_killing_the_server_fails_and_a_clean_stop_does_not_count,
);

struct Bench {
    pool: sqlx::AnyPool,
    jobs: Jobs,
    sam: Actor,
    rita: Actor,
    rob: Actor,
}

async fn bench(b: &Backend) -> Bench {
    let registry = library::Registry::open(&b.fresh_url().await).await.unwrap();
    let accounts = Accounts::attach(registry.pool().clone()).await.unwrap();
    let mut actors = Vec::new();
    for (name, role) in
        [("sam", Role::SupportStaff), ("rita", Role::Researcher), ("rob", Role::Researcher)]
    {
        let password = "long enough password".to_string();
        accounts
            .create_user(
                None,
                NewUser {
                    username: name.into(),
                    display_name: String::new(),
                    password: password.clone(),
                    role,
                },
            )
            .await
            .unwrap();
        actors.push(accounts.sign_in(name, &password).await.unwrap().0);
    }
    let jobs = Jobs::attach(registry.pool().clone(), accounts).await.unwrap();
    let [sam, rita, rob] = actors.try_into().unwrap();
    Bench { pool: registry.pool().clone(), jobs, sam, rita, rob }
}

/// Starts `runner`; the returned sender stops it.
fn start(runner: Runner) -> watch::Sender<bool> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(runner.run(stopped));
    stop
}

async fn until(jobs: &Jobs, who: &Actor, id: i64, done: impl Fn(&Job) -> bool) -> Job {
    for _ in 0..400 {
        let job = jobs.get(who, id).await.unwrap();
        if done(&job) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} did not get there: {:?}", jobs.get(who, id).await.unwrap());
}

async fn jobs_run_with_progress_and_logs_within_the_limit(backend: &Backend) {
    let b = bench(backend).await;
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n, m) = (now.clone(), most.clone());
    let runner = Runner::new(b.jobs.clone(), 2).handle("count", move |ctx| {
        let (now, most) = (n.clone(), m.clone());
        async move {
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(running, Ordering::SeqCst);
            let upto = ctx.job.params["upto"].as_u64().unwrap();
            for i in 1..=upto {
                ctx.report(i as f64 / upto as f64, format!("{i} of {upto}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            ctx.log(format!("counted to {upto}")).await;
            now.fetch_sub(1, Ordering::SeqCst);
            Ok(json!({"counted": upto}))
        }
    });
    let stop = start(runner);
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(b.jobs.enqueue(&b.sam, "count", json!({"upto": 8})).await.unwrap().id);
    }
    // Progress shows while the job runs.
    let mid = until(&b.jobs, &b.sam, ids[0], |j| j.progress > 0.0 && j.progress < 1.0).await;
    assert_eq!(mid.status, Status::Running);
    assert!(mid.message.ends_with("of 8"), "{}", mid.message);
    for &id in &ids {
        let done = until(&b.jobs, &b.sam, id, |j| j.status.is_final()).await;
        assert_eq!(done.status, Status::Succeeded);
        assert_eq!(done.result, Some(json!({"counted": 8})));
        assert_eq!(done.progress, 1.0);
        let log = b.jobs.log(&b.sam, id).await.unwrap();
        assert_eq!(log.iter().map(|l| l.line.as_str()).collect::<Vec<_>>(), ["counted to 8"]);
    }
    assert_eq!(most.load(Ordering::SeqCst), 2, "never more than the limit at once");
    stop.send_replace(true);
}

async fn cancel_stops_queued_and_running_jobs_and_retry_resumes(backend: &Backend) {
    let b = bench(backend).await;
    let runner = Runner::new(b.jobs.clone(), 1)
        .handle("forever", |ctx| async move {
            while !ctx.is_cancelled() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err("stopped".to_string())
        })
        .handle("flaky", |ctx| async move {
            if ctx.job.attempts == 1 {
                Err("the instrument was offline".to_string())
            } else {
                Ok(json!({"attempt": ctx.job.attempts}))
            }
        });
    let stop = start(runner);
    let running = b.jobs.enqueue(&b.rita, "forever", json!({})).await.unwrap();
    until(&b.jobs, &b.rita, running.id, |j| j.status == Status::Running).await;
    let queued = b.jobs.enqueue(&b.rita, "forever", json!({})).await.unwrap();
    // Only one slot: the second waits, and cancelling it is immediate.
    assert_eq!(b.jobs.cancel(&b.rita, queued.id).await.unwrap().status, Status::Cancelled);
    b.jobs.cancel(&b.rita, running.id).await.unwrap();
    let stopped = until(&b.jobs, &b.rita, running.id, |j| j.status.is_final()).await;
    assert_eq!(stopped.status, Status::Cancelled);
    assert!(b.jobs.cancel(&b.rita, running.id).await.is_err(), "an ended job cannot be cancelled");

    let flaky = b.jobs.enqueue(&b.rita, "flaky", json!({})).await.unwrap();
    let failed = until(&b.jobs, &b.rita, flaky.id, |j| j.status.is_final()).await;
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.error.as_deref(), Some("the instrument was offline"));
    assert!(b.jobs.log(&b.rita, flaky.id).await.unwrap()[0].line.contains("offline"));
    b.jobs.retry(&b.rita, flaky.id).await.unwrap();
    let done = until(&b.jobs, &b.rita, flaky.id, |j| j.status.is_final()).await;
    assert_eq!((done.status, done.attempts), (Status::Succeeded, 2));
    assert!(b.jobs.retry(&b.rita, flaky.id).await.is_err(), "a succeeded job is not retried");
    stop.send_replace(true);
}

async fn jobs_left_running_by_a_stopped_process_run_again(backend: &Backend) {
    let b = bench(backend).await;
    let job = b.jobs.enqueue(&b.sam, "echo", json!({"say": "hello"})).await.unwrap();
    // As if a server had claimed it and then died.
    sqlx::query("UPDATE jobs SET status = 'running', attempts = 1 WHERE id = $1")
        .bind(job.id)
        .execute(&b.pool)
        .await
        .unwrap();
    let stop = start(
        Runner::new(b.jobs.clone(), 1)
            .handle("echo", |ctx| async move { Ok(ctx.job.params["say"].clone()) }),
    );
    let done = until(&b.jobs, &b.sam, job.id, |j| j.status.is_final()).await;
    assert_eq!((done.status, done.attempts), (Status::Succeeded, 2));
    assert_eq!(done.result, Some(json!("hello")));
    let unknown = b.jobs.enqueue(&b.sam, "no-such-kind", json!({})).await.unwrap();
    let failed = until(&b.jobs, &b.sam, unknown.id, |j| j.status.is_final()).await;
    assert!(failed.error.unwrap().contains("no handler"));
    stop.send_replace(true);
}

async fn people_see_their_own_jobs_and_staff_see_all(backend: &Backend) {
    let b = bench(backend).await;
    let mine = b.jobs.enqueue(&b.rita, "x", json!({})).await.unwrap();
    b.jobs.enqueue(&b.rob, "x", json!({})).await.unwrap();
    assert!(b.jobs.get(&b.rob, mine.id).await.is_err());
    assert!(b.jobs.cancel(&b.rob, mine.id).await.is_err());
    assert_eq!(b.jobs.list(&b.rita).await.unwrap().len(), 1);
    assert_eq!(b.jobs.list(&b.sam).await.unwrap().len(), 2);
    assert_eq!(b.jobs.get(&b.sam, mine.id).await.unwrap().owner_id, b.rita.user_id);
}

async fn a_job_that_keeps_killing_the_server_fails_and_a_clean_stop_does_not_count(
    backend: &Backend,
) {
    let b = bench(backend).await;
    // Each "server" claims the job and then dies under it: its runner is
    // dropped without a clean stop, leaving the job running in the table.
    let deadly = b.jobs.enqueue(&b.sam, "deadly", json!({})).await.unwrap();
    for life in 1..=jobs::MAX_INTERRUPTIONS + 1 {
        let runner = Runner::new(b.jobs.clone(), 1)
            .handle("deadly", |_ctx| std::future::pending::<Result<serde_json::Value, String>>());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(runner.run(stopped));
        // Waits for this start's own claim, not the last one's row.
        let job = until(&b.jobs, &b.sam, deadly.id, |j| {
            (j.status == Status::Running && j.interruptions == life - 1) || j.status.is_final()
        })
        .await;
        if life <= jobs::MAX_INTERRUPTIONS {
            assert_eq!(job.status, Status::Running, "start {life}");
            assert_eq!(job.interruptions, life - 1);
        } else {
            assert_eq!(job.status, Status::Failed, "start {life}: {job:?}");
            assert!(job
                .error
                .as_deref()
                .unwrap()
                .starts_with("interrupted: the server stopped 3 times"));
        }
        task.abort();
        let _ = task.await;
        drop(stop);
    }
    // Started three times, never a fourth.
    assert_eq!(b.jobs.get(&b.sam, deadly.id).await.unwrap().attempts, jobs::MAX_INTERRUPTIONS);
    // Retrying clears the count.
    assert_eq!(b.jobs.retry(&b.sam, deadly.id).await.unwrap().interruptions, 0);
    b.jobs.fail_by_operator(deadly.id, "kills the server").await.unwrap();

    // A job under way at a clean stop goes back to the queue uncounted.
    let patient = b.jobs.enqueue(&b.sam, "patient", json!({})).await.unwrap();
    for _ in 0..jobs::MAX_INTERRUPTIONS + 1 {
        let runner = Runner::new(b.jobs.clone(), 1)
            .handle("patient", |_ctx| std::future::pending::<Result<serde_json::Value, String>>());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(runner.run(stopped));
        until(&b.jobs, &b.sam, patient.id, |j| j.status == Status::Running).await;
        stop.send_replace(true);
        task.await.unwrap().unwrap();
        let job = b.jobs.get(&b.sam, patient.id).await.unwrap();
        assert_eq!((job.status, job.interruptions), (Status::Queued, 0));
    }

    // The operator fails a job that has not ended; an ended one stays.
    let failed = b.jobs.fail_by_operator(patient.id, "removed at the machine").await.unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.error.as_deref(), Some("failed by the operator: removed at the machine"));
    assert!(b.jobs.fail_by_operator(patient.id, "again").await.is_err());
}

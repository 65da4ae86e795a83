//! Slows password guessing: per account and per client address, failed
//! sign-ins beyond a free allowance make the next attempt wait, doubling
//! each time up to a cap. While an account or address must wait, its
//! attempts are refused without checking the password (no argon2 work, so
//! guessing cannot load the server either).
//!
//! Why a wait rather than a lockout: a lockout would let anyone lock a
//! colleague out by guessing wrong on purpose. The wait grows to a quarter
//! of an hour, which makes guessing useless (a few dozen guesses a day per
//! account) while a user who mistyped waits seconds.
//!
//! Kept in memory: a restart forgets it, which only gives a guesser back
//! the free allowance once; the map is bounded so that guesses at many
//! names cannot fill memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures within [`WINDOW`] before waits begin.
pub const FREE_FAILURES_PER_ACCOUNT: u32 = 5;
/// The same for one client address (across accounts).
pub const FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// How long failures are remembered after the last one.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Most keys remembered at once.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
    wait_until: Option<Instant>,
}

/// Failure counts per key (`user:NAME`, `addr:IP`).
#[derive(Default)]
pub(crate) struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    /// How long `key` must still wait, if at all.
    pub(crate) fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().expect("throttle lock");
        let until = entries.get(key)?.wait_until?;
        (until > now).then(|| until - now)
    }

    /// Records a failure of `key`; past `free` failures the key must wait,
    /// one second for the first and twice as long for each after.
    pub(crate) fn failed(&self, key: &str, free: u32, now: Instant) {
        let mut entries = self.entries.lock().expect("throttle lock");
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            entries.retain(|_, e| now.duration_since(e.last) < WINDOW);
            if entries.len() >= MAX_KEYS {
                // Still full of live keys: forget the stalest.
                if let Some(oldest) =
                    entries.iter().min_by_key(|(_, e)| e.last).map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last: now,
            wait_until: None,
        });
        if now.duration_since(entry.last) >= WINDOW {
            *entry = Entry { failures: 0, last: now, wait_until: None };
        }
        entry.failures += 1;
        entry.last = now;
        if entry.failures > free {
            let doublings = (entry.failures - free - 1).min(20);
            let wait = Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
            entry.wait_until = Some(now + wait);
        }
    }

    /// Forgets `key`'s failures (a successful sign-in of that account).
    pub(crate) fn succeeded(&self, key: &str) {
        self.entries.lock().expect("throttle lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_begin_after_the_allowance_and_double() {
        let t = Throttle::default();
        let start = Instant::now();
        for _ in 0..5 {
            t.failed("user:ada", 5, start);
            assert_eq!(t.wait("user:ada", start), None);
        }
        t.failed("user:ada", 5, start);
        assert_eq!(t.wait("user:ada", start), Some(Duration::from_secs(1)));
        t.failed("user:ada", 5, start);
        assert_eq!(t.wait("user:ada", start), Some(Duration::from_secs(2)));
        for _ in 0..30 {
            t.failed("user:ada", 5, start);
        }
        assert_eq!(t.wait("user:ada", start), Some(MAX_WAIT));
        assert_eq!(t.wait("user:ada", start + MAX_WAIT), None, "the wait ends");
        assert_eq!(t.wait("user:bob", start), None, "other accounts are untouched");
        t.succeeded("user:ada");
        assert_eq!(t.wait("user:ada", start), None);
    }

    #[test]
    fn failures_are_forgotten_after_the_window() {
        let t = Throttle::default();
        let start = Instant::now();
        for _ in 0..6 {
            t.failed("addr:1", 5, start);
        }
        assert!(t.wait("addr:1", start).is_some());
        let later = start + WINDOW;
        t.failed("addr:1", 5, later);
        assert_eq!(t.wait("addr:1", later), None, "a fresh window");
    }

    #[test]
    fn the_map_stays_bounded() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..MAX_KEYS + 10 {
            t.failed(&format!("user:u{i}"), 5, now);
        }
        assert!(t.entries.lock().unwrap().len() <= MAX_KEYS);
    }
}

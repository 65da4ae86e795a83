//! Work spread over the machine's cores.
//!
//! One ordered parallel map serves the fingerprint index (queries, blocks of
//! the similarity matrix), the prediction models (batches), screening
//! (plates), the library (slices of an import) and docking (ligands). Items
//! are handed out one at a time from a shared counter, so a slow item (a
//! large ligand, a dense plate) never leaves another core idle while work
//! remains; results come back in the items' order whatever order they
//! finished in.
//!
//! Every thread started here has a large stack ([`STACK_BYTES`]): RDKit
//! recurses once per atom in places (canonical SMILES, pattern
//! fingerprints), and a default 2 MiB stack overflows on a chain of a few
//! thousand atoms, which kills the process. [`Pool`] is where a server runs
//! such work for a request: bounded, with a deadline, off the async threads.

mod pool;

use std::sync::atomic::{AtomicUsize, Ordering};

pub use pool::{Pool, PoolError};

/// The stack of every thread this crate starts, and of the async runtime's
/// threads in the `soyaku` binary. Address space only: pages are committed
/// as they are touched.
pub const STACK_BYTES: usize = 64 << 20;

/// Starts a named thread with a [`STACK_BYTES`] stack.
///
/// # Panics
/// When the operating system cannot start a thread.
pub fn spawn<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .stack_size(STACK_BYTES)
        .spawn(work)
        .expect("starting a thread")
}

/// The number of cores this process may use (1 when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `work` over every item on up to `threads` threads, results in the items'
/// order. With one thread or one item it runs on the calling thread.
///
/// # Panics
/// When `work` panics on any item.
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let (next, work) = (&next, &work);
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let builder = std::thread::Builder::new().stack_size(STACK_BYTES);
                builder
                    .spawn_scoped(s, move || {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(item) = items.get(i) else { return mine };
                            mine.push((i, work(item)));
                        }
                    })
                    .expect("starting a thread")
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a worker thread panicked")).collect()
    });
    done.sort_unstable_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_however_uneven_the_work() {
        let items: Vec<u64> = (0..200).collect();
        for threads in [1, 2, 7, 500] {
            let out = map(&items, threads, |&x| {
                // Early items are slowest, so they finish last.
                std::thread::sleep(std::time::Duration::from_micros(200 - x));
                x * x
            });
            assert_eq!(out, items.iter().map(|x| x * x).collect::<Vec<_>>(), "{threads} threads");
        }
        assert!(map(&[] as &[u8], 4, |&x| x).is_empty());
    }

    #[test]
    fn threads_have_room_for_deep_recursion() {
        // About 16 MiB of frames: far past a default 2 MiB stack.
        fn depth(n: u32) -> u32 {
            let frame = std::hint::black_box([0u8; 1024]);
            if n == 0 {
                u32::from(frame[0])
            } else {
                depth(n - 1) + u32::from(frame[1]) + 1
            }
        }
        assert_eq!(map(&[16_000u32, 16_000], 2, |&n| depth(n)), vec![16_000, 16_000]);
        assert_eq!(spawn("deep", || depth(16_000)).join().unwrap(), 16_000);
    }

    #[test]
    fn every_thread_takes_work() {
        let seen = std::sync::Mutex::new(std::collections::HashSet::new());
        map(&[(); 64], 2, |_| {
            seen.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(std::time::Duration::from_millis(2));
        });
        assert_eq!(seen.into_inner().unwrap().len(), 2);
    }
}

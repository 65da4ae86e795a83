//! The bundled demo library's load as start-up uses it: a load cut short
//! (a stop, a crash) leaves the registry non-empty but the load unfinished,
//! which is what makes `soyaku serve` resume it instead of serving a
//! library cut at a random size.

use std::sync::atomic::{AtomicBool, Ordering};

use library::{demo, Registry};

#[tokio::test]
async fn a_demo_load_cut_short_is_unfinished_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open_dir(dir.path()).await.unwrap();
    assert!(!demo::unfinished(&registry).await.unwrap(), "nothing begun");
    let cancel = AtomicBool::new(false);
    // Stopped as soon as the first chunk is committed.
    let progress = |_: library::import::Progress| cancel.store(true, Ordering::Relaxed);
    let cut = demo::load(&registry, dir.path(), &progress, &cancel).await.unwrap();
    assert!(cut.cancelled);
    let parents = registry.counts().await.unwrap().parents;
    assert!(parents > 0 && parents < 99_042, "{parents}");
    assert!(demo::unfinished(&registry).await.unwrap(), "cut short: start-up must resume it");
}

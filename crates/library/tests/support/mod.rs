//! Test support: a fresh registry per call on either backend (the
//! throw-away PostgreSQL server comes from the `testdb` crate).

use std::path::Path;

use library::Registry;

/// The first `n` lines of the bundled demo library, as a SMILES file's text.
pub fn demo_slice(n: usize) -> String {
    use std::io::Read;
    let gz = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo/moses-demo.smi.gz"),
    )
    .expect("demo library present");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).expect("gzip");
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

/// The backend each scenario runs on.
pub use testdb::Backend as Ctx;

/// Registries on a test backend.
pub(crate) trait Registries {
    /// A new, empty registry.
    async fn registry(&self) -> Registry;
}

impl Registries for Ctx {
    async fn registry(&self) -> Registry {
        Registry::open(&self.fresh_url().await).await.unwrap()
    }
}

//! Test support: a fresh registry per call on either backend (the
//! throw-away PostgreSQL server comes from the `testdb` crate).

use std::path::Path;

use library::Registry;

/// Generates, for each scenario `async fn name(&Ctx)`, a module `name` with
/// the tests `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(&super::support::Ctx::sqlite()).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(&super::support::Ctx::postgres()).await;
            }
        }
    )*};
}

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

/// A backend to make registries on.
pub struct Ctx(testdb::Backend);

impl Ctx {
    pub fn sqlite() -> Ctx {
        Ctx(testdb::Backend::sqlite())
    }

    pub fn postgres() -> Ctx {
        Ctx(testdb::Backend::postgres())
    }

    /// Where the scenario may write its input files.
    pub fn dir(&self) -> &Path {
        self.0.dir()
    }

    /// A new, empty registry.
    pub async fn registry(&self) -> Registry {
        Registry::open(&self.0.fresh_url().await).await.unwrap()
    }
}

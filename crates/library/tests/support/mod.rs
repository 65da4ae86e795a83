//! Test support: a fresh registry per call on either backend. PostgreSQL runs
//! as a throw-away server in a temporary directory (Debian's `postgresql-15`
//! binaries, installed by `scripts/setup.sh test`), stopped when the test ends.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use library::Registry;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

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

/// A temporary directory and a backend to make registries on.
pub struct Ctx {
    // Fields drop in order: the server stops before its directory goes.
    postgres: Option<Postgres>,
    dir: tempfile::TempDir,
    made: AtomicUsize,
}

impl Ctx {
    pub fn sqlite() -> Ctx {
        Ctx { dir: tempfile::tempdir().unwrap(), postgres: None, made: AtomicUsize::new(0) }
    }

    pub fn postgres() -> Ctx {
        let dir = tempfile::tempdir().unwrap();
        let postgres = Postgres::start(dir.path());
        Ctx { dir, postgres: Some(postgres), made: AtomicUsize::new(0) }
    }

    /// Where the scenario may write its input files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A new, empty registry.
    pub async fn registry(&self) -> Registry {
        let n = self.made.fetch_add(1, Ordering::Relaxed);
        match &self.postgres {
            None => Registry::open_dir(&self.dir.path().join(format!("data-{n}"))).await.unwrap(),
            Some(pg) => {
                let db = format!("registry_{n}");
                let admin = sqlx::PgPool::connect(&pg.url("postgres")).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {db}")).execute(&admin).await.unwrap();
                admin.close().await;
                Registry::open(&pg.url(&db)).await.unwrap()
            }
        }
    }
}

struct Postgres {
    data: PathBuf,
    port: u16,
}

/// Runs a PostgreSQL binary as the `postgres` user when we are root (the
/// server refuses to run as root), as ourselves otherwise.
fn pg(tool: &str, args: &[&str]) {
    let bin = Path::new(PG_BIN).join(tool);
    assert!(bin.exists(), "{} missing: run `scripts/setup.sh test`", bin.display());
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let out = cmd.args(args).output().expect("PostgreSQL tool runs");
    assert!(
        out.status.success(),
        "{tool} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Postgres {
    fn start(dir: &Path) -> Postgres {
        use std::os::unix::fs::PermissionsExt;
        // The server runs as another user, who must be able to reach its files.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.join("pg");
        std::fs::create_dir_all(&home).unwrap();
        let _ = Command::new("chown").args(["-R", "postgres"]).arg(&home).status();
        let data = home.join("data");
        let log = home.join("log");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        pg("initdb", &["-D", data.to_str().unwrap(), "-U", "soyaku", "--auth=trust", "--no-sync"]);
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
            home.display()
        );
        pg(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        Postgres { data, port }
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://soyaku@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        pg("pg_ctl", &["-D", self.data.to_str().unwrap(), "-m", "immediate", "-w", "stop"]);
    }
}

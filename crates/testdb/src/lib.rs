//! Test support: a fresh, empty database per call on either backend.
//! PostgreSQL runs as a throw-away server in a temporary directory (Debian's
//! `postgresql-15` binaries, installed by `scripts/setup.sh test`), stopped
//! when the [`Backend`] is dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Generates, for each scenario `async fn name(&Backend)`, a module `name`
/// with the tests `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(&$crate::Backend::sqlite()).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(&$crate::Backend::postgres()).await;
            }
        }
    )*};
}

/// A temporary directory and a backend to make databases on.
pub struct Backend {
    // Fields drop in order: the server stops before its directory goes.
    postgres: Option<Postgres>,
    dir: tempfile::TempDir,
    made: AtomicUsize,
}

impl Backend {
    /// SQLite files in a temporary directory.
    pub fn sqlite() -> Backend {
        Backend { dir: tempfile::tempdir().unwrap(), postgres: None, made: AtomicUsize::new(0) }
    }

    /// A throw-away PostgreSQL server.
    pub fn postgres() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let postgres = Postgres::start(dir.path());
        Backend { dir, postgres: Some(postgres), made: AtomicUsize::new(0) }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A scratch directory (input files, data directories).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The URL of a new, empty database.
    pub async fn fresh_url(&self) -> String {
        let n = self.made.fetch_add(1, Ordering::Relaxed);
        match &self.postgres {
            None => format!(
                "sqlite://{}?mode=rwc",
                self.dir.path().join(format!("db-{n}.sqlite")).display()
            ),
            Some(pg) => {
                use sqlx::Connection as _;
                let db = format!("soyaku_{n}");
                let mut admin = sqlx::PgConnection::connect(&pg.url("postgres")).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut admin).await.unwrap();
                admin.close().await.unwrap();
                pg.url(&db)
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
    if let Err(e) = try_pg(tool, args) {
        panic!("{e}");
    }
}

fn try_pg(tool: &str, args: &[&str]) -> Result<(), String> {
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
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{tool} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
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
        pg("initdb", &["-D", data.to_str().unwrap(), "-U", "soyaku", "--auth=trust", "--no-sync"]);
        let (data_dir, log_file) = (data.to_str().unwrap(), log.to_str().unwrap());
        // The port is free when picked but another test's server may take it
        // before ours binds: then start again on a fresh one. On a loaded
        // machine start-up can exceed pg_ctl's default minute.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c synchronous_commit=off",
                home.display()
            );
            let started = try_pg(
                "pg_ctl",
                &["-D", data_dir, "-l", log_file, "-o", &options, "-t", "300", "-w", "start"],
            );
            match started {
                Ok(()) => return Postgres { data, port },
                Err(e) => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    failures.push(format!("{e}\nserver log:\n{log}"));
                    if !log.contains("could not bind") {
                        break;
                    }
                }
            }
        }
        panic!("PostgreSQL did not start: {}", failures.join("\n---\n"));
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

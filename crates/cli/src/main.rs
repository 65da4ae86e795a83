//! `soyaku`: the command-line face of the platform. Glue only: every command
//! parses its arguments, calls a domain crate and prints the result as a
//! human table or, with `--format json`, as JSON Lines.

mod biobank_cmd;
mod chem_cmd;
mod demo;
mod dock_cmd;
mod library_cmd;
mod models_cmd;
mod output;
mod screen_cmd;
mod search_cmd;
mod serve_cmd;
mod smiles_file;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// mimalloc, built with `override`, also serves RDKit's and InChI's C/C++
/// allocations: registration spends a quarter of its time in glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "soyaku",
    version,
    about = "Soyaku: shared infrastructure for academic drug discovery"
)]
struct Cli {
    /// Data directory (registry database, reports).
    #[arg(long, global = true, default_value = "./soyaku-data", env = "SOYAKU_DATA")]
    data: PathBuf,
    /// Database URL (sqlite://… or postgres://…); defaults to SQLite in --data.
    #[arg(long, global = true, env = "SOYAKU_DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The compound registry: import, show, stats, pick, cluster, reindex.
    #[command(subcommand)]
    Library(library_cmd::LibraryCommand),
    /// Chemistry on a single structure.
    #[command(subcommand)]
    Chem(chem_cmd::ChemCommand),
    /// Searches over the registry.
    #[command(subcommand)]
    Search(search_cmd::SearchCommand),
    /// Prediction models: list them, read their cards.
    #[command(subcommand)]
    Models(models_cmd::ModelsCommand),
    /// Predictions for a structure: ADMET profile, likely targets.
    #[command(subcommand)]
    Predict(models_cmd::PredictCommand),
    /// Docking with AutoDock Vina: one ligand, or a screen of a file.
    Dock(dock_cmd::DockArgs),
    /// Biobank catalogue: import, and protected cross-search queries.
    #[command(subcommand)]
    Biobank(biobank_cmd::BiobankCommand),
    /// Screening: runs from plate files to hits, dose-response fits, seeds.
    #[command(subcommand)]
    Screen(screen_cmd::ScreenCommand),
    /// Loads the bundled demo library (once) and runs example searches.
    Demo(demo::DemoArgs),
    /// The web portal and HTTP API (loads the demo library on first start).
    Serve(serve_cmd::ServeArgs),
    /// Accounts made at the machine, such as the first admin.
    #[command(subcommand)]
    Admin(serve_cmd::AdminCommand),
    /// The server's job queue, at the machine.
    #[command(subcommand)]
    Jobs(serve_cmd::JobsCommand),
    /// The audit log, at the machine.
    #[command(subcommand)]
    Audit(serve_cmd::AuditCommand),
}

/// Where a command finds the registry.
pub(crate) struct Context {
    data: PathBuf,
    database_url: Option<String>,
}

impl Context {
    async fn registry(&self) -> Result<library::Registry> {
        use anyhow::Context as _;
        match &self.database_url {
            Some(url) => library::Registry::open(url)
                .await
                .with_context(|| "opening the registry named by --database-url".to_string()),
            None => library::Registry::open_dir(&self.data)
                .await
                .with_context(|| format!("opening the registry in {}", self.data.display())),
        }
    }

    async fn catalog(&self) -> Result<library::Catalog> {
        Ok(library::Catalog::new(self.registry().await?, &self.data))
    }
}

impl Command {
    /// Servers answer many clients for a long time: a client that hangs up
    /// must cost its own connection, never the process.
    fn serves(&self) -> bool {
        matches!(
            self,
            Command::Serve(_) | Command::Biobank(biobank_cmd::BiobankCommand::Node { .. })
        )
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Output piped into `head` ends quietly, as for any Unix tool, instead
    // of a panic on the closed pipe (Rust ignores SIGPIPE by default). Not
    // for servers: there a client resetting its connection mid-answer would
    // raise SIGPIPE in the writing thread and kill the server.
    // SAFETY: restoring a signal's default action before any thread starts.
    #[cfg(unix)]
    if !cli.command.serves() {
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let ctx = Context { data: cli.data, database_url: cli.database_url };
    // Large stacks: blocking tasks reach RDKit, which recurses per atom.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(parallel::STACK_BYTES)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Library(c) => library_cmd::run_library(&ctx, c).await,
            Command::Search(c) => search_cmd::run(&ctx, c).await,
            Command::Chem(c) => chem_cmd::run(c),
            Command::Models(c) => models_cmd::run_models(c),
            Command::Dock(args) => dock_cmd::run(args),
            Command::Predict(c) => models_cmd::run_predict(&ctx, c).await,
            Command::Screen(c) => screen_cmd::run(&ctx, c).await,
            Command::Biobank(c) => biobank_cmd::run(&ctx, c).await,
            Command::Demo(args) => demo::run(&ctx, args).await,
            Command::Serve(args) => serve_cmd::serve(&ctx, args).await,
            Command::Admin(c) => serve_cmd::admin(&ctx, c).await,
            Command::Jobs(c) => serve_cmd::jobs(&ctx, c).await,
            Command::Audit(c) => serve_cmd::audit(&ctx, c).await,
        }
    })
}

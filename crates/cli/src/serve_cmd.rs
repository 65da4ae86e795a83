//! `soyaku serve` (the web portal) and `soyaku admin …` (accounts made at
//! the machine, such as the first admin), `soyaku jobs fail` (the job queue
//! at the machine), `soyaku audit verify` (the audit log's hash chain).

use std::io::{BufRead as _, IsTerminal as _};
use std::net::SocketAddr;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::Context;

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "SOYAKU_ADDR")]
    addr: SocketAddr,
    /// Do not load the bundled demo library into an empty registry.
    #[arg(long)]
    no_demo: bool,
    /// Mark cookies Secure (HTTPS only): `true` or `false`; by default yes
    /// unless listening on a loopback address.
    #[arg(long)]
    secure_cookies: Option<bool>,
    /// How many jobs (imports, index builds) run at once; each uses every core.
    #[arg(long, default_value_t = 1)]
    job_slots: usize,
    /// The biobank nodes the cross-search asks (a TOML federation file:
    /// `[[node]]` with name, url or `mode = "pull"`, token_file,
    /// timeout_ms); by default the catalogue imported here, else the demo's
    /// three nodes.
    #[arg(long, env = "SOYAKU_FEDERATION")]
    federation: Option<std::path::PathBuf>,
    /// Room on disk for uploads waiting to be imported, in GiB; an upload
    /// past it is refused (507).
    #[arg(long, default_value_t = server::DEFAULT_UPLOAD_QUOTA >> 30)]
    upload_quota_gib: u64,
    /// Largest structure accepted anywhere (searches, imports, models,
    /// docking), in atoms as written.
    #[arg(long, default_value_t = chem::limits::Limits::default().max_atoms)]
    max_atoms: usize,
    /// Longest SMILES or SMARTS accepted, in characters.
    #[arg(long, default_value_t = chem::limits::Limits::default().max_chars)]
    max_structure_chars: usize,
    /// Log line format.
    #[arg(long, value_enum, default_value_t)]
    log_format: LogFormat,
}

/// Logs to standard error, as text or JSON lines; `SOYAKU_LOG` filters.
pub(crate) fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SOYAKU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
}

pub(crate) async fn serve(ctx: &Context, args: ServeArgs) -> Result<()> {
    init_logs(args.log_format);
    chem::limits::set(chem::limits::Limits {
        max_atoms: args.max_atoms,
        max_chars: args.max_structure_chars,
    });
    server::serve(server::Config {
        addr: args.addr,
        data_dir: ctx.data.clone(),
        database_url: ctx.database_url.clone(),
        load_demo: !args.no_demo,
        secure_cookies: args.secure_cookies,
        job_slots: args.job_slots,
        federation: args.federation,
        upload_quota: args.upload_quota_gib << 30,
    })
    .await
}

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// Makes an account, such as the first admin. The password is read from
    /// standard input (one line), never from the command line, so it stays
    /// out of shell history and process lists.
    CreateUser {
        /// Sign-in name (3–64 of a-z 0-9 . _ -).
        username: String,
        /// Role: researcher, support_staff, biobank_curator,
        /// programme_officer or admin.
        #[arg(long)]
        role: String,
        /// Name as shown (default: the username).
        #[arg(long, default_value = "")]
        display_name: String,
    },
    /// Disables an account: it cannot sign in, and its sessions and API
    /// tokens stop working at once. Audited.
    #[command(name = "disable-user")]
    Disable {
        /// The account's username.
        username: String,
    },
    /// Enables a disabled account again. Audited.
    #[command(name = "enable-user")]
    Enable {
        /// The account's username.
        username: String,
    },
}

pub(crate) async fn admin(ctx: &Context, command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::CreateUser { username, role, display_name } => {
            let role: accounts::Role = role.parse()?;
            if std::io::stdin().is_terminal() {
                eprint!("password for {username} (at least 10 characters): ");
            }
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password).context("reading the password")?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            let registry = ctx.registry().await?;
            let accounts = accounts::Accounts::attach(registry.pool().clone()).await?;
            let user = accounts
                .create_user(None, accounts::NewUser { username, display_name, password, role })
                .await?;
            println!("created {} ({})", user.username, user.role);
            Ok(())
        }
        AdminCommand::Disable { username } => set_disabled(ctx, &username, true).await,
        AdminCommand::Enable { username } => set_disabled(ctx, &username, false).await,
    }
}

#[derive(Subcommand)]
pub(crate) enum JobsCommand {
    /// Fails a job that has not ended: the operator's way out of a job that
    /// stops the server whenever it runs (such a job is also failed by
    /// itself after it has been interrupted 3 times). Works with the server
    /// stopped; audited.
    Fail {
        /// The job's number (as in the portal's job list).
        id: i64,
        /// Why, for the job's log and the audit trail.
        #[arg(long, default_value = "stopped at the machine")]
        why: String,
    },
}

pub(crate) async fn jobs(ctx: &Context, command: JobsCommand) -> Result<()> {
    match command {
        JobsCommand::Fail { id, why } => {
            let registry = ctx.registry().await?;
            let accounts = accounts::Accounts::attach(registry.pool().clone()).await?;
            let jobs = jobs::Jobs::attach(registry.pool().clone(), accounts).await?;
            let job = jobs.fail_by_operator(id, &why).await?;
            println!(
                "job {} ({}) is {}: {}",
                job.id,
                job.kind,
                job.status,
                job.error.unwrap_or_default()
            );
            Ok(())
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Checks every link of the audit log's hash chain; exits 1 at the first
    /// broken link (a row removed, changed or inserted by hand) and prints
    /// the head link, to record elsewhere.
    Verify,
}

pub(crate) async fn audit(ctx: &Context, command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify => {
            let registry = ctx.registry().await?;
            let accounts = accounts::Accounts::attach(registry.pool().clone()).await?;
            let found = accounts.verify_audit().await?;
            println!(
                "{} rows ({} from before the chain began); head link {}",
                found.rows,
                found.unchained,
                found.head.as_deref().unwrap_or("-")
            );
            match found.first_break {
                None => {
                    println!("the chain is whole");
                    Ok(())
                }
                Some(b) => anyhow::bail!("the chain breaks at row {}: {}", b.id, b.why),
            }
        }
    }
}

async fn set_disabled(ctx: &Context, username: &str, disabled: bool) -> Result<()> {
    let registry = ctx.registry().await?;
    let accounts = accounts::Accounts::attach(registry.pool().clone()).await?;
    accounts.set_disabled(None, username, disabled).await?;
    println!("{username} is {}", if disabled { "disabled" } else { "enabled" });
    Ok(())
}

//! `soyaku biobank …`: a node's catalogue — import it, query it (with the
//! same protection the portal and the Beacon API apply).

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use biobank::store::{Input, Store};
use biobank::{Granularity, Guard, Policy, Query};
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use crate::output::{print_rows, OutputFormat};
use crate::Context;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Level {
    /// Yes or no per biobank (at least 10 donors).
    Boolean,
    /// Protected counts of donors, samples and aliquots.
    Count,
}

#[derive(Subcommand)]
pub(crate) enum BiobankCommand {
    /// Imports biobanks, participants and samples (CSV with a header, or
    /// JSON arrays); bad rows are listed with their line and the good ones
    /// kept; importing again updates.
    Import {
        /// Biobanks: id, name, name_ja.
        #[arg(long)]
        biobanks: Option<PathBuf>,
        /// Participants: biobank, id, sex, diseases (ICD-10 or names, `;`),
        /// consent (DUO, `;`), consent_disease, recontact, data (`;`),
        /// mother, father.
        #[arg(long)]
        individuals: Option<PathBuf>,
        /// Samples: biobank, id, individual, sample_type, age, aliquots,
        /// storage_c, collection (the cohort's id; optional).
        #[arg(long)]
        samples: Option<PathBuf>,
    },
    /// Counts per biobank for a query written as JSON, e.g.
    /// '{"and": [{"sex": "female"}, {"disease": "E11"}, {"sample_type": "dna"}]}'.
    Query {
        /// The query.
        query: String,
        /// Query the synthetic demo catalogue at this scale (1.0: about
        /// 520,000 participants) instead of the imported one.
        #[arg(long)]
        demo: Option<f64>,
        /// What to show.
        #[arg(long, value_enum, default_value_t = Level::Count)]
        granularity: Level,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Runs this biobank's node of the cross-search: its catalogue (the
    /// imported one, or one synthetic demo biobank) behind the GA4GH Beacon
    /// v2 API, protected here with this node's own noise secret and budget.
    /// Either listens (`--addr`; the cross-search calls in) or, where no
    /// inbound port may be opened, polls the cross-search (`--pull URL`).
    /// Prints `listening on http://…` or `polling …` when ready.
    Node {
        /// Address to listen on, e.g. 0.0.0.0:7100 (port 0: any free one).
        #[arg(long, required_unless_present = "pull", conflicts_with = "pull")]
        addr: Option<std::net::SocketAddr>,
        /// Poll the cross-search at this base URL for queries instead.
        #[arg(long)]
        pull: Option<String>,
        /// File holding the token shared with the cross-search (at least
        /// 16 characters; e.g. `openssl rand -hex 32 > node.token`).
        #[arg(long, env = "SOYAKU_NODE_TOKEN_FILE")]
        token_file: PathBuf,
        /// Serve this synthetic demo biobank (tmm, bbj or ncbn) instead of
        /// the imported catalogue.
        #[arg(long)]
        demo: Option<String>,
        /// Size of the demo biobank (1.0: its full synthetic size).
        #[arg(long, default_value_t = 0.1)]
        demo_scale: f64,
        /// Queries each caller may make per day at this node.
        #[arg(long, default_value_t = Policy::default().daily_budget)]
        daily_budget: u32,
    },
}

pub(crate) async fn run(ctx: &Context, command: BiobankCommand) -> Result<()> {
    let registry = ctx.registry().await?;
    let store = Store::attach(registry.pool().clone()).await?;
    match command {
        BiobankCommand::Node { addr, pull, token_file, demo, demo_scale, daily_budget } => {
            crate::serve_cmd::init_logs(crate::serve_cmd::LogFormat::Text);
            let text = fs_err::read_to_string(&token_file)?;
            let token = federation::Token::new(&text)
                .with_context(|| format!("the token in {}", token_file.display()))?;
            let (catalogue, synthetic) = match &demo {
                Some(bank) => {
                    if !biobank::synth::biobanks().iter().any(|b| &b.id == bank) {
                        bail!("--demo takes tmm, bbj or ncbn, not '{bank}'");
                    }
                    let (b, p, s) = biobank::synth::generate_for(demo_scale, 20261122, bank);
                    (biobank::Catalogue::build(b, p, s)?, true)
                }
                None => (
                    store.load().await?.context(
                        "no biobank catalogue here: import one (soyaku biobank import) or use --demo tmm",
                    )?,
                    false,
                ),
            };
            let policy = Policy { daily_budget, ..Policy::default() };
            let guard = Guard::new(policy, biobank::protect::secret_in(&ctx.data)?);
            let node = std::sync::Arc::new(biobank::node::Node::new(catalogue, guard, synthetic));
            use std::io::Write as _;
            match (addr, pull) {
                (_, Some(url)) => {
                    println!("polling {url}");
                    std::io::stdout().flush()?;
                    let (stop, stopped) = tokio::sync::watch::channel(false);
                    tokio::spawn(async move {
                        server::shutdown_signal().await;
                        stop.send_replace(true);
                    });
                    federation::pull(node, &url, &token, stopped).await?;
                }
                (Some(addr), None) => {
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("listening on {addr}"))?;
                    println!("listening on http://{}", listener.local_addr()?);
                    std::io::stdout().flush()?;
                    server::serve_node(listener, node, token, server::shutdown_signal()).await?;
                }
                (None, None) => bail!("give --addr to listen or --pull URL to poll"),
            }
            Ok(())
        }
        BiobankCommand::Import { biobanks, individuals, samples } => {
            if biobanks.is_none() && individuals.is_none() && samples.is_none() {
                bail!("give --biobanks, --individuals and/or --samples");
            }
            let read = |p: &Option<PathBuf>| -> Result<Option<(String, String)>> {
                p.as_ref()
                    .map(|p| {
                        let text = fs_err::read_to_string(p)?;
                        Ok((p.display().to_string(), text))
                    })
                    .transpose()
            };
            let (b, i, s) = (read(&biobanks)?, read(&individuals)?, read(&samples)?);
            fn input(f: &Option<(String, String)>) -> Option<Input<'_>> {
                f.as_ref().map(|(name, text)| Input { name, text })
            }
            let summary = store.import(input(&b), input(&i), input(&s)).await?;
            for e in &summary.errors {
                eprintln!("{}:{}: skipped: {}", e.file, e.line, e.reason);
            }
            println!(
                "{}",
                json!({"biobanks": summary.biobanks, "individuals": summary.individuals,
                       "samples": summary.samples, "errors": summary.errors.len()})
            );
            Ok(())
        }
        BiobankCommand::Query { query, demo, granularity, format } => {
            let catalogue = match demo {
                Some(scale) => {
                    let (b, p, s) = biobank::synth::generate(scale, 20261122);
                    biobank::Catalogue::build(b, p, s)?
                }
                None => store.load().await?.context(
                    "no biobank catalogue here: import one (soyaku biobank import) or use --demo 0.1",
                )?,
            };
            let query: Query = serde_json::from_str(&query).context("reading the query (JSON)")?;
            if let Some(b) = query
                .biobanks()
                .into_iter()
                .find(|b| !catalogue.biobanks.iter().any(|x| x.id == *b))
            {
                bail!("no biobank '{b}' in this catalogue");
            }
            let plan = query.plan(&catalogue)?;
            let matched = catalogue.evaluate(&plan);
            let level = match granularity {
                Level::Boolean => Granularity::Boolean,
                Level::Count => Granularity::Count,
            };
            // The node's noise secret, kept in the data directory: the same
            // people get the same noise in every run.
            let guard = Guard::new(Policy::default(), biobank::protect::secret_in(&ctx.data)?);
            let answer = guard
                .answer(&catalogue, "cli", level, &[], &plan, &matched, 0)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let rows: Vec<serde_json::Value> = answer
                .biobanks
                .iter()
                .map(|b| {
                    let shown = |r: Option<biobank::protect::Reported>| match r {
                        Some(biobank::protect::Reported::About(n)) => json!(n),
                        Some(biobank::protect::Reported::FewerThan(n)) => json!(format!("<{n}")),
                        None => serde_json::Value::Null,
                    };
                    json!({"biobank": b.biobank, "exists": b.exists, "donors": shown(b.donors),
                           "samples": shown(b.samples), "aliquots": shown(b.aliquots)})
                })
                .collect();
            print_rows(format, &["biobank", "exists", "donors", "samples", "aliquots"], &rows);
            Ok(())
        }
    }
}

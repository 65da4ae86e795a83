//! `soyaku serve`: the web portal and the HTTP API under `/api/v1`.
//!
//! A thin layer: handlers parse requests, identify the caller
//! ([`auth`]), call the domain crates (`accounts`, `library`) and render
//! JSON or HTML. Rights are checked by the domain crates through the
//! caller's [`accounts::Actor`]; this crate adds only what belongs to HTTP
//! (cookies, anti-forgery tokens, limits, status codes).
//!
//! Start-up is one step for the user: the server listens at once (so
//! `/healthz` answers), then loads the bundled demo library on first start
//! and opens the search files; `/readyz` says 503 with the progress until
//! that is done.

mod access;
mod api;
mod assets;
mod auth;
mod beacon;
mod deadline;
mod docking;
mod error;
mod export;
mod hits;
mod node;
mod openapi;
mod predict;
mod provision;
mod screens;
mod ui;
mod work;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;

pub use error::ApiError;
pub use node::{node_router, serve_node};

/// How the server is run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The data directory (SQLite database, search files, demo file).
    pub data_dir: PathBuf,
    /// A database URL instead of SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Load the bundled demo library when the registry is empty.
    pub load_demo: bool,
    /// Mark cookies `Secure` (HTTPS only). `None`: yes unless listening on
    /// a loopback address, where browsers are reached over plain HTTP.
    pub secure_cookies: Option<bool>,
    /// How many jobs run at once (imports use every core each).
    pub job_slots: usize,
    /// The biobank nodes to search (a federation file); `None`: the
    /// catalogue imported here, else the demo's three nodes.
    pub federation: Option<PathBuf>,
    /// Most bytes uploads waiting to be imported may hold on disk.
    pub upload_quota: u64,
}

/// The default of [`Config::upload_quota`].
pub const DEFAULT_UPLOAD_QUOTA: u64 = 20 << 30;

/// Where start-up is.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Still starting: what is being done and how far it is (0–100).
    Starting { doing: String, percent: u8 },
    /// Serving searches.
    Ready,
    /// Start-up failed; the message says why.
    Failed(String),
}

/// What every handler shares.
pub struct AppState {
    pub(crate) accounts: accounts::Accounts,
    pub(crate) catalog: library::Catalog,
    pub(crate) requests: requests::Requests,
    pub(crate) campaigns: campaigns::Campaigns,
    pub(crate) cross_search: beacon::CrossSearch,
    pub(crate) negotiator: negotiator::Negotiator,
    pub(crate) jobs: jobs::Jobs,
    /// Prediction models, loaded on first use.
    pub(crate) models: Arc<models::Catalogue>,
    /// Where requests run chemistry (RDKit, models): see
    /// [`AppState::chemistry`]. The catalogue searches in it too.
    pub(crate) chem: Arc<parallel::Pool>,
    pub(crate) data_dir: PathBuf,
    pub(crate) stage: RwLock<Stage>,
    pub(crate) secure_cookies: bool,
    pub(crate) upload_quota: u64,
}

impl AppState {
    /// Opens the platform database (applying every crate's migrations).
    pub async fn open(config: &Config) -> anyhow::Result<Arc<AppState>> {
        let registry = match &config.database_url {
            Some(url) => library::Registry::open(url).await.context("opening --database-url")?,
            None => library::Registry::open_dir(&config.data_dir).await.with_context(|| {
                format!("opening the registry in {}", config.data_dir.display())
            })?,
        };
        let accounts = accounts::Accounts::attach(registry.pool().clone()).await?;
        let requests = requests::Requests::attach(registry.clone(), accounts.clone()).await?;
        let jobs = jobs::Jobs::attach(registry.pool().clone(), accounts.clone()).await?;
        let campaigns = campaigns::Campaigns::attach(registry.clone(), accounts.clone()).await?;
        let cross_search = cross_search(registry.pool(), config).await?;
        let negotiator =
            negotiator::Negotiator::attach(registry.pool().clone(), accounts.clone()).await?;
        let chem = Arc::new(parallel::Pool::new(
            parallel::cores(),
            CHEMISTRY_QUEUE,
            library::catalog::SEARCH_DEADLINE,
        ));
        Ok(Arc::new(AppState {
            cross_search,
            negotiator,
            accounts,
            requests,
            campaigns,
            jobs,
            models: Arc::new(models::Catalogue::new()),
            data_dir: config.data_dir.clone(),
            catalog: library::Catalog::with_pool(registry, &config.data_dir, chem.clone()),
            chem,
            stage: RwLock::new(Stage::Starting { doing: "opening".into(), percent: 0 }),
            secure_cookies: config.secure_cookies.unwrap_or(!config.addr.ip().is_loopback()),
            upload_quota: config.upload_quota,
        }))
    }

    /// Runs `work` (anything that reaches RDKit or a model) for a request:
    /// in the bounded pool of large-stack threads, never on the async
    /// threads, answered within the pool's deadline. A full pool is
    /// "busy" at once rather than a queue that grows.
    pub(crate) async fn chemistry<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        Ok(self.chem.run(work).await?)
    }

    pub(crate) fn stage(&self) -> Stage {
        self.stage.read().expect("stage lock").clone()
    }

    fn set_stage(&self, stage: Stage) {
        *self.stage.write().expect("stage lock") = stage;
    }

    /// Loads the demo library if asked and the registry is empty (or a
    /// demo load was cut short), then opens the search files; sets the
    /// stage as it goes.
    pub async fn start(&self, load_demo: bool, cancel: &AtomicBool, data_dir: &std::path::Path) {
        match self.prepare(load_demo, cancel, data_dir).await {
            Ok(()) => {
                self.set_stage(Stage::Ready);
                tracing::info!("ready");
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "start-up failed");
                self.set_stage(Stage::Failed(format!("{e:#}")));
            }
        }
    }

    async fn prepare(
        &self,
        load_demo: bool,
        cancel: &AtomicBool,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<()> {
        let registry = self.catalog.registry();
        if load_demo
            && (registry.counts().await?.parents == 0
                || library::demo::unfinished(registry).await?)
        {
            tracing::info!("loading the bundled demo library");
            let progress = |p: library::import::Progress| {
                let percent = (p.bytes_read * 100).checked_div(p.bytes_total).unwrap_or(0);
                self.set_stage(Stage::Starting {
                    doing: format!("loading the demo library: {} compounds", p.records_done),
                    percent: percent.min(99) as u8,
                });
            };
            let summary = library::demo::load(registry, data_dir, &progress, cancel).await?;
            tracing::info!(
                records = summary.tally.records,
                errors = summary.tally.errors,
                "demo library loaded"
            );
            if summary.cancelled {
                anyhow::bail!("stopped while loading the demo library; start again to resume");
            }
        }
        self.set_stage(Stage::Starting { doing: "opening the search indexes".into(), percent: 99 });
        self.catalog.files().await.context("building the search indexes")?;
        Ok(())
    }
}

/// Starts the job runner for a state made without [`serve`] (tests);
/// sending `true` on the returned channel stops it.
pub fn start_jobs(state: Arc<AppState>, slots: usize) -> tokio::sync::watch::Sender<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(work::runner(state, slots).run(stopped));
    stop
}

/// The biobank cross-search: the nodes of the federation file if given;
/// else the catalogue imported here, as one node in process; else (with the
/// demo enabled) three synthetic demo biobanks, each its own node serving
/// the Beacon API on a loopback port, so the demo is federated as a real
/// deployment is; else nothing.
async fn cross_search(
    pool: &sqlx::AnyPool,
    config: &Config,
) -> anyhow::Result<beacon::CrossSearch> {
    let store = biobank::store::Store::attach(pool.clone()).await?;
    let guard = |dir: &std::path::Path| -> anyhow::Result<biobank::Guard> {
        let secret = biobank::protect::secret_in(dir)
            .with_context(|| format!("the biobank noise key in {}", dir.display()))?;
        Ok(biobank::Guard::new(biobank::Policy::default(), secret))
    };
    let (peers, synthetic) = if let Some(file) = &config.federation {
        (federation::config::read(file)?, false)
    } else if let Some(catalogue) = store.load().await? {
        let node = biobank::node::Node::new(catalogue, guard(&config.data_dir)?, false);
        let link = federation::Link::Local(Arc::new(node));
        (vec![federation::Peer { name: "local".into(), link, timeout: NODE_TIMEOUT }], false)
    } else if config.load_demo {
        let mut peers = Vec::new();
        // One generation, split: each node gets its biobank's share.
        for (b, p, s) in biobank::synth::generate_shares(DEMO_BIOBANK_SCALE, 20261122) {
            let id = b[0].id.clone();
            let dir = config.data_dir.join("nodes").join(&id);
            let node =
                biobank::node::Node::new(biobank::Catalogue::build(b, p, s)?, guard(&dir)?, true);
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
            let url = format!("http://{}", listener.local_addr()?);
            let token = federation::Token::random()?;
            tokio::spawn(serve_node(
                listener,
                Arc::new(node),
                token.clone(),
                std::future::pending(),
            ));
            let link = federation::Link::Push { url, token };
            peers.push(federation::Peer { name: id, link, timeout: NODE_TIMEOUT });
        }
        (peers, true)
    } else {
        (Vec::new(), false)
    };
    let description = if synthetic {
        "Soyaku biobank cross-search over SYNTHETIC demo biobanks (no real participant data)"
    } else {
        "Soyaku biobank cross-search"
    };
    let identity = biobank::beacon::Identity {
        id: "jp.soyaku.biobank-cross-search".into(),
        name: "Soyaku biobank cross-search (バイオバンク横断検索)".into(),
        description: description.into(),
        synthetic,
    };
    Ok(beacon::CrossSearch {
        identity,
        federation: federation::Federation::new(peers)?,
        anon_key: std::hash::RandomState::new(),
    })
}

/// How many requests' chemistry may wait for a free thread.
const CHEMISTRY_QUEUE: usize = 64;

/// How long a node of the demo or the imported catalogue may take.
const NODE_TIMEOUT: Duration = Duration::from_secs(3);

/// The demo catalogue's size: a tenth of the three biobanks (about 52,000
/// synthetic participants, 140,000 samples), built in a fraction of a second.
const DEMO_BIOBANK_SCALE: f64 = 0.1;

/// Largest request body accepted, except uploads.
const BODY_LIMIT: usize = 2 << 20;
/// Largest file accepted for import.
pub(crate) const UPLOAD_LIMIT: usize = 4 << 30;

/// The whole application: API, pages and static assets.
pub fn router(state: Arc<AppState>) -> Router {
    let (api, _) = api::routes();
    Router::new()
        .merge(api)
        .merge(ui::routes())
        .merge(assets::routes())
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(deadline::limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit_refusals))
        .layer(axum::middleware::from_fn_with_state(state.secure_cookies, security_headers))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

/// Audits every refusal (a role that may not, a missing anti-forgery
/// token) with the caller, if known, and what was asked: refusals are the
/// trace of someone probing what they may not do. The checks themselves
/// live in the domain; this only records their answers.
async fn audit_refusals(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let slot = auth::ActorSlot::default();
    request.extensions_mut().insert(slot.clone());
    let asked = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    if let Some(refusal) = response.extensions().get::<error::Refusal>() {
        let actor = slot.0.lock().expect("actor slot").clone();
        let detail = serde_json::json!({"code": refusal.code, "why": refusal.message});
        if let Err(e) = state.accounts.audit(actor.as_ref(), "refused", &asked, detail).await {
            tracing::error!(error = %e, "could not audit a refusal");
        }
    }
    response
}

/// The policy every page is served under: scripts, styles, images and
/// requests from this site only, no inline script (the structure editor,
/// which needs it, lives in a frame of its own page: `assets::editor`),
/// the pages' few inline style attributes allowed, frames only of this
/// site's own pages, never framed by another site, forms posting only here.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; frame-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

/// The security headers of every answer, set in one place: the policy
/// above, no MIME sniffing, no framing, no referrer beyond this site, HSTS
/// where the server is reached over HTTPS, and `no-store` on whatever does
/// not say how it may be cached (pages and API answers may hold what only
/// the signed-in user may see).
async fn security_headers(
    axum::extract::State(https): axum::extract::State<bool>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A page with a policy of its own (the structure editor's) keeps it.
    let mut unless_set = |name: header::HeaderName, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    unless_set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    unless_set(header::X_FRAME_OPTIONS, "DENY");
    unless_set(header::CACHE_CONTROL, "no-store");
    unless_set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    unless_set(header::REFERRER_POLICY, "same-origin");
    if https {
        unless_set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    response
}

/// One structured log line per request: method, path (never the query,
/// which may carry structures or tokens), status and time.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

/// Runs the server until Ctrl-C or SIGTERM, then finishes the requests in
/// flight and stops (an unfinished demo load resumes at the next start).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = AppState::open(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("listening on {}", config.addr))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let cancel = Arc::new(AtomicBool::new(false));
    let starting = {
        let (state, cancel, dir) = (state.clone(), cancel.clone(), config.data_dir.clone());
        tokio::spawn(async move { state.start(config.load_demo, &cancel, &dir).await })
    };
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let runner = work::runner(state.clone(), config.job_slots).run(jobs_stopped);
    tokio::spawn(async move {
        if let Err(e) = runner.await {
            tracing::error!(error = %e, "the job runner stopped");
        }
    });
    let stop = cancel.clone();
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            stop.store(true, Ordering::Relaxed);
            stop_jobs.send_replace(true);
        })
        .await?;
    // A demo load in progress stops after its chunk in flight (the cancel
    // flag is set); the next start resumes it.
    let _ = tokio::time::timeout(Duration::from_secs(10), starting).await;
    Ok(())
}

/// Resolves at Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

//! The server's life: start the components a configuration asks for, reload them when the
//! configuration changes (file, SIGHUP, API: all through [`App::reload`], the one owner of
//! the configuration in force), stop them on SIGINT/SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferromtx_conf::{Conf, Loaded, LogDestination, LogLevel};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::backend::{ConfChange, ServerBackend};
use crate::logger::{self, Destination, LogLayer, LoggerHandle, Settings};
use crate::watcher::ConfWatcher;
use ferromtx_api::component::Registration;
use ferromtx_api::servers::{Api, Metrics, Pprof};
use ferromtx_api::{Component, Context, ControlServer, Registry, component};
use ferromtx_auth::Manager as AuthManager;
use ferromtx_core::PathManager;
use tokio::sync::{mpsc, watch};

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Logger(#[from] logger::LoggerError),
    #[error("{0}")]
    Start(String),
    #[error("unable to install signal handlers: {0}")]
    Signals(std::io::Error),
}

pub fn logger_settings(conf: &Conf) -> Settings {
    Settings {
        level: match conf.log_level {
            LogLevel::Error => logger::Level::Error,
            LogLevel::Warn => logger::Level::Warn,
            LogLevel::Info => logger::Level::Info,
            LogLevel::Debug => logger::Level::Debug,
        },
        structured: conf.log_structured,
        destinations: conf
            .log_destinations
            .iter()
            .map(|d| match d {
                LogDestination::Stdout => Destination::Stdout,
                LogDestination::File => Destination::File(PathBuf::from(&conf.log_file)),
                LogDestination::Syslog => Destination::Syslog {
                    prefix: conf.sys_log_prefix.clone(),
                    socket: None,
                },
            })
            .collect(),
    }
}

pub async fn run(loaded: Loaded) -> Result<(), AppError> {
    let (layer, log) = LogLayer::new(&logger_settings(&loaded.conf))?;
    tracing_subscriber::registry().with(layer).init();

    // Signals and the file watcher are in place before anything is logged, so whoever
    // acts on the startup lines (a supervisor, a test) is heard.
    let mut sigint = signal(SignalKind::interrupt()).map_err(AppError::Signals)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(AppError::Signals)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(AppError::Signals)?;
    let (mut watcher, watch_error) = match &loaded.file {
        Some(f) => match ConfWatcher::new(f) {
            Ok(w) => (Some(w), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };

    for w in &loaded.warnings {
        warn!("{w}");
    }
    info!("ferromtx {}", crate::version::long());
    match &loaded.file {
        Some(p) => info!("configuration loaded from {}", p.display()),
        None => {
            let cwd = std::env::current_dir().unwrap_or_default();
            let list: Vec<String> = ferromtx_conf::DEFAULT_CONF_PATHS
                .iter()
                .map(|p| cwd.join(p).display().to_string())
                .collect();
            warn!(
                "configuration file not found (looked in {}), using the built-in defaults",
                list.join(", ")
            );
        }
    }
    if let Some(e) = watch_error {
        warn!("unable to watch the configuration file: {e}");
    }

    if let Err(e) = ferromtx_net::sys::raise_fd_limit() {
        tracing::debug!("open-file limit not raised: {e}");
    }

    let file = loaded.file.clone();
    let mut app = App::start(Arc::new(loaded.conf), log).await?;

    loop {
        tokio::select! {
            () = changed(&mut watcher) => {
                info!("reloading configuration (file changed)");
                if let Some(f) = &file {
                    app.reload_from_file(f).await;
                }
            }
            Some((conf, done)) = app.api_changes.recv() => {
                info!("reloading configuration (API request)");
                app.reload(conf).await;
                let _ = done.send(());
            }
            _ = sighup.recv() => {
                info!("reloading configuration (SIGHUP)");
                if let Some(f) = &file {
                    app.reload_from_file(f).await;
                }
            }
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
        }
    }
    info!("shutting down gracefully");
    app.close().await;
    Ok(())
}

async fn changed(w: &mut Option<ConfWatcher>) {
    match w {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

/// Everything the server runs, in MediaMTX's start order (closed in the reverse order):
/// one line per protocol.
fn register(r: &mut Registration) {
    r.component(component::<ControlServer<Metrics>>());
    r.component(component::<ControlServer<Pprof>>());
    ferromtx_record::register(r);
    ferromtx_rtsp::register(r);
    ferromtx_rtmp::register(r);
    ferromtx_hls::register(r);
    ferromtx_webrtc::register(r);
    ferromtx_srt::register(r);
    r.component(component::<ControlServer<Api>>());
}

/// The running server: the one owner of the configuration in force, the core, and the
/// components.
struct App {
    conf: watch::Sender<Arc<Conf>>,
    log: LoggerHandle,
    ctx: Context,
    components: Vec<Box<dyn Component>>,
    api_changes: mpsc::Receiver<ConfChange>,
}

impl App {
    async fn start(conf: Arc<Conf>, log: LoggerHandle) -> Result<App, AppError> {
        let mut registration = Registration::default();
        register(&mut registration);
        let Registration {
            components,
            sources,
        } = registration;
        let auth = Arc::new(AuthManager::new(&conf));
        let paths = Arc::new(PathManager::with_sources(
            conf.clone(),
            auth.clone(),
            sources,
        ));
        let (conf_tx, conf_rx) = watch::channel(Arc::clone(&conf));
        let (changes_tx, api_changes) = mpsc::channel(8);
        let registry = Arc::new(Registry::default());
        let backend = Arc::new(ServerBackend::new(
            conf_rx,
            changes_tx,
            auth.clone(),
            paths.clone(),
            registry.clone(),
        ));
        let ctx = Context {
            conf,
            paths,
            auth,
            backend,
            registry,
        };
        let mut app = App {
            conf: conf_tx,
            log,
            ctx,
            components,
            api_changes,
        };
        for i in 0..app.components.len() {
            if let Err(e) = app.components[i].apply(&app.ctx).await {
                app.close().await;
                return Err(AppError::Start(e));
            }
        }
        Ok(app)
    }

    async fn reload_from_file(&mut self, file: &Path) {
        match ferromtx_conf::load(Some(file)) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    warn!("{w}");
                }
                self.reload(Arc::new(loaded.conf)).await;
            }
            Err(e) => error!("{e}"),
        }
    }

    /// Puts a new configuration in force: logger, authentication, paths, then every
    /// component, which restarts only if its own settings changed.
    async fn reload(&mut self, new: Arc<Conf>) {
        let old = Arc::clone(&self.ctx.conf);
        if *new == *old {
            return;
        }
        let settings = logger_settings(&new);
        if settings != logger_settings(&old)
            && let Err(e) = self.log.apply(&settings)
        {
            error!("{e}");
        }
        self.conf.send_replace(Arc::clone(&new));
        self.ctx.conf = Arc::clone(&new);
        self.ctx.auth.reload(&new);
        self.ctx.paths.reload(new);
        for c in &mut self.components {
            if let Err(e) = c.apply(&self.ctx).await {
                error!("{e}");
            }
        }
    }

    async fn close(&mut self) {
        for c in self.components.iter_mut().rev() {
            c.close().await;
        }
        self.ctx.paths.close();
        // As MediaMTX: hooks launched at the end (`runOnDisconnect`, `runOnUnread`...) run
        // to their end, the others are stopped by their owners above.
        info!("waiting for running hooks");
        ferromtx_core::externalcmd::wait_all().await;
    }
}

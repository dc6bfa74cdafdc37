//! The server's life: start the components a configuration asks for, reload them when the
//! configuration changes (file, SIGHUP, API), stop them on SIGINT/SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferromtx_conf::{Conf, Loaded, LogDestination, LogLevel};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::backend::ServerBackend;
use crate::http::HttpComponent;
use crate::logger::{self, Destination, LogLayer, LoggerHandle, Settings};
use crate::watcher::ConfWatcher;
use ferromtx_api::HttpServerKind;
use ferromtx_auth::Manager as AuthManager;
use ferromtx_core::PathManager;
use tokio::sync::mpsc;

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
    raise_fd_limit();

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
            Some(conf) = app.api_changes.recv() => {
                info!("reloading configuration (API request)");
                app.reload(conf).await;
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

/// On Linux, raise the soft limit of open files to the hard one, so many clients fit.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid resource and a pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The running components.
struct App {
    conf: Arc<Conf>,
    log: LoggerHandle,
    auth: Arc<AuthManager>,
    paths: Arc<PathManager>,
    backend: Arc<ServerBackend>,
    api_changes: mpsc::UnboundedReceiver<Arc<Conf>>,
    api: Option<HttpComponent>,
    metrics: Option<HttpComponent>,
    pprof: Option<HttpComponent>,
    rtsp: crate::rtsp::RtspServers,
    webrtc: Option<crate::webrtc::WebrtcComponent>,
}

impl App {
    async fn start(conf: Arc<Conf>, log: LoggerHandle) -> Result<App, AppError> {
        let auth = Arc::new(AuthManager::new(&conf));
        let mut sources = ferromtx_core::SourceRegistry::new();
        ferromtx_rtsp::source::register_with(
            &mut sources,
            ferromtx_rtsp::RtspSource::new(
                usize::try_from(conf.udp_max_payload_size)
                    .unwrap_or(ferromtx_rtsp::server::DEFAULT_UDP_MAX_PAYLOAD_SIZE),
            ),
        );
        let paths = Arc::new(PathManager::with_sources(
            conf.clone(),
            auth.clone(),
            sources,
        ));
        let (tx, api_changes) = mpsc::unbounded_channel();
        let backend = Arc::new(ServerBackend::new(
            conf.clone(),
            tx,
            auth.clone(),
            paths.clone(),
        ));
        let mut app = App {
            conf: conf.clone(),
            log,
            auth,
            paths,
            backend,
            api_changes,
            api: None,
            metrics: None,
            pprof: None,
            rtsp: crate::rtsp::RtspServers::default(),
            webrtc: None,
        };
        // Same order as MediaMTX: metrics and pprof, the protocol servers, then the API.
        app.metrics = app.http(HttpServerKind::Metrics, &conf).await?;
        app.pprof = app.http(HttpServerKind::Pprof, &conf).await?;
        app.rtsp = crate::rtsp::start(&conf, app.paths.clone())
            .await
            .map_err(AppError::Start)?;
        app.backend.set_rtsp(&app.rtsp);
        app.webrtc = crate::webrtc::start(&conf, app.paths.clone(), app.backend.clone())
            .await
            .map_err(AppError::Start)?;
        app.backend
            .set_webrtc(app.webrtc.as_ref().map(|w| w.server.clone()));
        app.api = app.http(HttpServerKind::Api, &conf).await?;
        Ok(app)
    }

    /// Starts one HTTP server if the configuration enables it.
    async fn http(
        &self,
        kind: HttpServerKind,
        conf: &Conf,
    ) -> Result<Option<HttpComponent>, AppError> {
        if !crate::http::enabled(kind, conf) {
            return Ok(None);
        }
        HttpComponent::start(kind, conf, self.backend.clone())
            .await
            .map(Some)
            .map_err(AppError::Start)
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

    /// Applies a new configuration, restarting only the components whose settings changed.
    async fn reload(&mut self, new: Arc<Conf>) {
        let old = self.conf.clone();
        if *new == *old {
            return;
        }
        let settings = logger_settings(&new);
        if settings != logger_settings(&old)
            && let Err(e) = self.log.apply(&settings)
        {
            error!("{e}");
        }
        self.backend.set_conf(new.clone());
        self.auth.reload(&new);
        self.paths.reload(new.clone());

        if crate::rtsp::changed(&old, &new) {
            self.backend.set_rtsp(&crate::rtsp::RtspServers::default());
            crate::rtsp::close(std::mem::take(&mut self.rtsp)).await;
            match crate::rtsp::start(&new, self.paths.clone()).await {
                Ok(r) => self.rtsp = r,
                Err(e) => error!("{e}"),
            }
            self.backend.set_rtsp(&self.rtsp);
        }
        if crate::webrtc::changed(&old, &new) {
            self.backend.set_webrtc(None);
            if let Some(w) = self.webrtc.take() {
                w.close().await;
            }
            match crate::webrtc::start(&new, self.paths.clone(), self.backend.clone()).await {
                Ok(w) => self.webrtc = w,
                Err(e) => error!("{e}"),
            }
            self.backend
                .set_webrtc(self.webrtc.as_ref().map(|w| w.server.clone()));
        }

        for kind in [
            HttpServerKind::Metrics,
            HttpServerKind::Pprof,
            HttpServerKind::Api,
        ] {
            if !crate::http::changed(kind, &old, &new) {
                continue;
            }
            let slot = match kind {
                HttpServerKind::Pprof => &mut self.pprof,
                HttpServerKind::Metrics => &mut self.metrics,
                _ => &mut self.api,
            };
            if let Some(c) = slot.take() {
                c.close().await;
            }
            if crate::http::enabled(kind, &new) {
                match HttpComponent::start(kind, &new, self.backend.clone()).await {
                    Ok(c) => *slot = Some(c),
                    Err(e) => error!("{e}"),
                }
            }
        }
        self.conf = new;
    }

    async fn close(self) {
        if let Some(c) = self.api {
            c.close().await;
        }
        self.backend.set_webrtc(None);
        if let Some(w) = self.webrtc {
            w.close().await;
        }
        self.backend.set_rtsp(&crate::rtsp::RtspServers::default());
        crate::rtsp::close(self.rtsp).await;
        for c in [self.metrics, self.pprof].into_iter().flatten() {
            c.close().await;
        }
        self.paths.close();
    }
}

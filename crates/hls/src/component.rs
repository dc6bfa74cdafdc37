//! The HLS server as a component of the binary: its settings from the `hls*` keys, its
//! HTTP server (TLS, CORS and trusted proxies through the shared layer), the HLS pull
//! source, and what the API shows (`/v3/hlsmuxers`, `/v3/hlssessions`, `hls_*` metrics).

use std::sync::{Arc, Weak};
use std::time::Duration;

use ferromtx_api::component::{BoxFuture, Registration};
use ferromtx_api::{
    Context, Failure, HttpServer, HttpServerKind, HttpSettings, Server, Servers, Sessions,
    component, dto,
};
use ferromtx_conf::{Conf, HlsVariant};

use crate::server::{HlsServer, ServerConfig};
use crate::source::HlsSource;
use crate::{Config, Variant};

/// Registers the HLS server and the `http`/`https` (HLS) pull source.
pub fn register(r: &mut Registration) {
    r.component(component::<Hls>());
    let source = Arc::new(HlsSource);
    r.source("http", source.clone());
    r.source("https", source);
}

/// The HLS HTTP server: its router authenticates per path; the shared layer adds TLS
/// (`hlsEncryption`), CORS and the client's address as a trusted proxy tells it.
pub const HTTP_KIND: HttpServerKind = HttpServerKind {
    log_prefix: "[HLS]",
    preflight: crate::server::http::PREFLIGHT,
    auth: None,
    client_in_connect_info: true,
};

/// Everything of the configuration the HLS server reads: a change restarts it.
#[derive(Debug, Clone, PartialEq)]
pub struct HlsSettings {
    /// `hlsAddress`.
    pub address: String,
    /// `hlsEncryption`, `hlsServerKey/Cert`, `hlsAllowOrigins`, `hlsTrustedProxies`,
    /// `readTimeout`.
    pub http: HttpSettings,
    pub server: ServerConfig,
}

impl HlsSettings {
    pub fn from_conf(conf: &Conf) -> HlsSettings {
        HlsSettings {
            address: conf.hls_address.clone(),
            http: HttpSettings::from_keys(
                HTTP_KIND.log_prefix,
                conf.hls_encryption,
                &conf.hls_server_key,
                &conf.hls_server_cert,
                &conf.hls_allow_origins,
                &conf.hls_trusted_proxies,
                conf.read_timeout,
            ),
            server: ServerConfig {
                muxer: Config {
                    variant: match conf.hls_variant {
                        HlsVariant::Mpegts => Variant::MpegTs,
                        HlsVariant::Fmp4 => Variant::Fmp4,
                        HlsVariant::LowLatency => Variant::LowLatency,
                    },
                    segment_count: usize::try_from(conf.hls_segment_count).unwrap_or(0),
                    segment_duration: conf.hls_segment_duration,
                    part_duration: conf.hls_part_duration,
                    segment_max_size: conf.hls_segment_max_size,
                },
                always_remux: conf.hls_always_remux,
                directory: (!conf.hls_directory.is_empty()).then(|| conf.hls_directory.clone()),
                close_after: conf.hls_muxer_close_after.max(Duration::from_millis(1)),
                cdn_secret: conf.hls_cdn_secret.clone(),
            },
        }
    }
}

/// The running HLS server.
pub struct Hls {
    server: Arc<HlsServer>,
    http: HttpServer,
}

impl std::fmt::Debug for Hls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hls").finish_non_exhaustive()
    }
}

impl Server for Hls {
    type Settings = HlsSettings;

    fn settings(conf: &Conf) -> Option<HlsSettings> {
        conf.hls.then(|| HlsSettings::from_conf(conf))
    }

    fn start<'a>(
        settings: &'a HlsSettings,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let server = Arc::new(HlsServer::start(
                settings.server.clone(),
                Arc::clone(&ctx.paths),
            ));
            let http = match HttpServer::start(
                HTTP_KIND,
                &settings.address,
                settings.http.clone(),
                server.router(),
                Arc::clone(&ctx.backend),
            )
            .await
            {
                Ok(h) => h,
                Err(e) => {
                    server.close().await;
                    return Err(e);
                }
            };
            tracing::info!("{}", http.started_line());
            Ok(Arc::new(Hls { server, http }))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::info!("[HLS] closing");
            // Muxers first: requests waiting on them end, then the listener closes.
            self.server.close().await;
            self.http.close().await;
        })
    }

    fn sessions(self: &Arc<Self>) -> Option<Arc<dyn Sessions>> {
        Some(Arc::new(HlsApi(Arc::downgrade(&self.server))))
    }
}

/// What the API shows of the HLS server. Holds it weakly: a closed server is gone.
struct HlsApi(Weak<HlsServer>);

impl Sessions for HlsApi {
    fn servers(&self, running: &mut Servers) {
        running.hls = self.0.strong_count() > 0;
    }

    fn hls_muxers(&self) -> Vec<dto::HLSMuxer> {
        self.0.upgrade().map(|s| s.muxers()).unwrap_or_default()
    }

    fn hls_sessions(&self) -> Vec<dto::HLSSession> {
        self.0.upgrade().map(|s| s.sessions()).unwrap_or_default()
    }

    fn kick_hls_session(&self, id: &str) -> Option<Result<(), Failure>> {
        let server = self.0.upgrade()?;
        server.kick_session(id).then_some(Ok(()))
    }
}

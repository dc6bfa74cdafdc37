//! HTTP server settings read from the configuration (`api*`, `metrics*`, `pprof*`,
//! `playback*` keys and `readTimeout`).

use ferromtx_conf::Conf;

use crate::http::{HttpServerKind, HttpSettings, IpNetwork};

fn networks(kind: HttpServerKind, items: &[String]) -> Vec<IpNetwork> {
    items
        .iter()
        .filter_map(|s| match s.parse() {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!("{} ignoring trusted proxy: {e}", kind.log_prefix());
                None
            }
        })
        .collect()
}

/// The settings of server `kind` in `conf`.
pub fn http_settings(kind: HttpServerKind, conf: &Conf) -> HttpSettings {
    let (encryption, key, cert, origins, proxies) = match kind {
        HttpServerKind::Api => (
            conf.api_encryption,
            &conf.api_server_key,
            &conf.api_server_cert,
            &conf.api_allow_origins,
            &conf.api_trusted_proxies,
        ),
        HttpServerKind::Metrics => (
            conf.metrics_encryption,
            &conf.metrics_server_key,
            &conf.metrics_server_cert,
            &conf.metrics_allow_origins,
            &conf.metrics_trusted_proxies,
        ),
        HttpServerKind::Pprof => (
            conf.pprof_encryption,
            &conf.pprof_server_key,
            &conf.pprof_server_cert,
            &conf.pprof_allow_origins,
            &conf.pprof_trusted_proxies,
        ),
        HttpServerKind::Playback => (
            conf.playback_encryption,
            &conf.playback_server_key,
            &conf.playback_server_cert,
            &conf.playback_allow_origins,
            &conf.playback_trusted_proxies,
        ),
        HttpServerKind::WebRtc => (
            conf.webrtc_encryption,
            &conf.webrtc_server_key,
            &conf.webrtc_server_cert,
            &conf.webrtc_allow_origins,
            &conf.webrtc_trusted_proxies,
        ),
    };
    let proxies: Vec<String> = proxies.iter().map(ToString::to_string).collect();
    HttpSettings {
        encryption,
        server_key: key.into(),
        server_cert: cert.into(),
        allow_origins: origins.clone(),
        trusted_proxies: networks(kind, &proxies),
        read_timeout: conf.read_timeout,
    }
}

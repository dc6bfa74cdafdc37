//! HTTP server settings read from the configuration (`api*`, `metrics*`, `pprof*`,
//! `playback*` keys and `readTimeout`); protocols that serve HTTP build theirs with
//! [`HttpSettings::from_keys`] from their own keys.

use std::path::PathBuf;
use std::time::Duration;

use ferromtx_conf::Conf;

use crate::http::{HttpServerKind, HttpSettings, IpNetwork};

impl HttpSettings {
    /// The settings of one server from its `*Encryption`, `*ServerKey`, `*ServerCert`,
    /// `*AllowOrigins` and `*TrustedProxies` keys and `readTimeout`. Trusted proxies that
    /// do not parse are left out with a warning naming the server (`log_prefix`).
    pub fn from_keys(
        log_prefix: &str,
        encryption: bool,
        server_key: &str,
        server_cert: &str,
        allow_origins: &[String],
        trusted_proxies: &[impl ToString],
        read_timeout: Duration,
    ) -> HttpSettings {
        HttpSettings {
            encryption,
            server_key: PathBuf::from(server_key),
            server_cert: PathBuf::from(server_cert),
            allow_origins: allow_origins.to_vec(),
            trusted_proxies: trusted_proxies
                .iter()
                .filter_map(|s| match s.to_string().parse::<IpNetwork>() {
                    Ok(n) => Some(n),
                    Err(e) => {
                        tracing::warn!("{log_prefix} ignoring trusted proxy: {e}");
                        None
                    }
                })
                .collect(),
            read_timeout,
        }
    }
}

/// The settings of the control plane's server `kind` ([`HttpServerKind::API`],
/// `METRICS`, `PPROF`, `PLAYBACK`) in `conf`; `None` for another kind.
pub fn http_settings(kind: HttpServerKind, conf: &Conf) -> Option<HttpSettings> {
    let p = kind.log_prefix;
    let t = conf.read_timeout;
    let s = if kind == HttpServerKind::API {
        HttpSettings::from_keys(
            p,
            conf.api_encryption,
            &conf.api_server_key,
            &conf.api_server_cert,
            &conf.api_allow_origins,
            &conf.api_trusted_proxies,
            t,
        )
    } else if kind == HttpServerKind::METRICS {
        HttpSettings::from_keys(
            p,
            conf.metrics_encryption,
            &conf.metrics_server_key,
            &conf.metrics_server_cert,
            &conf.metrics_allow_origins,
            &conf.metrics_trusted_proxies,
            t,
        )
    } else if kind == HttpServerKind::PPROF {
        HttpSettings::from_keys(
            p,
            conf.pprof_encryption,
            &conf.pprof_server_key,
            &conf.pprof_server_cert,
            &conf.pprof_allow_origins,
            &conf.pprof_trusted_proxies,
            t,
        )
    } else if kind == HttpServerKind::PLAYBACK {
        HttpSettings::from_keys(
            p,
            conf.playback_encryption,
            &conf.playback_server_key,
            &conf.playback_server_cert,
            &conf.playback_allow_origins,
            &conf.playback_trusted_proxies,
            t,
        )
    } else {
        return None;
    };
    Some(s)
}

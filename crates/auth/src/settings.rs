//! The part of the configuration the manager uses, prepared once per
//! (re)load: regular expressions compiled, networks parsed, clients built.

use std::time::Duration;

use ferromtx_conf::{AuthMethod, Conf};

use crate::credential::Credential;
use crate::http_client::make_client;
use crate::ip_network::IpNetwork;
use crate::permission::PermissionSet;

/// Used when the configuration gives no usable `readTimeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Internal,
    Http,
    Jwt,
}

#[derive(Debug)]
pub(crate) struct InternalUser {
    /// User `any`: no credentials needed.
    pub(crate) anonymous: bool,
    pub(crate) user: Credential,
    pub(crate) pass: Credential,
    /// `None`: any address. `Some`: only these.
    pub(crate) ips: Option<Vec<IpNetwork>>,
    pub(crate) permissions: PermissionSet,
}

impl InternalUser {
    /// Whether checking credentials costs real CPU time (argon2).
    pub(crate) fn is_expensive(&self) -> bool {
        self.user.is_expensive() || self.pass.is_expensive()
    }

    pub(crate) fn matches(&self, user: &str, pass: &str) -> bool {
        self.user.check(user) && self.pass.check(pass)
    }

    pub(crate) fn ip_allowed(&self, ip: std::net::IpAddr) -> bool {
        match &self.ips {
            None => true,
            Some(nets) => nets.iter().any(|n| n.contains(ip)),
        }
    }
}

#[derive(Debug)]
pub(crate) struct HttpSettings {
    pub(crate) address: String,
    pub(crate) exclude: PermissionSet,
    /// `Err` holds why the client could not be built.
    pub(crate) client: Result<reqwest::Client, String>,
}

#[derive(Debug)]
pub(crate) struct JwtSettings {
    pub(crate) jwks_url: String,
    pub(crate) jwks_fingerprint: String,
    pub(crate) claim_key: String,
    pub(crate) exclude: PermissionSet,
    pub(crate) issuer: String,
    pub(crate) audience: String,
    /// Deprecated `authJWTInHTTPQuery`: also take tokens from the query of
    /// HTTP requests.
    pub(crate) in_http_query: bool,
    pub(crate) client: Result<reqwest::Client, String>,
}

#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) method: Method,
    pub(crate) users: Vec<InternalUser>,
    pub(crate) http: HttpSettings,
    pub(crate) jwt: JwtSettings,
}

impl Settings {
    pub(crate) fn from_conf(conf: &Conf) -> Settings {
        let timeout = read_timeout(conf);
        let method = match conf.auth_method {
            AuthMethod::Internal => Method::Internal,
            AuthMethod::Http => Method::Http,
            AuthMethod::Jwt => Method::Jwt,
        };
        let users = conf
            .auth_internal_users
            .iter()
            .map(|u| InternalUser {
                anonymous: u.user.as_str() == "any",
                user: Credential::parse(u.user.as_str()),
                pass: Credential::parse(u.pass.as_str()),
                ips: (!u.ips.is_empty()).then(|| {
                    u.ips
                        .iter()
                        .map(|n| IpNetwork::new(n.addr(), n.prefix()))
                        .collect()
                }),
                permissions: PermissionSet::new(
                    u.permissions.iter().map(|p| (p.action, p.path.as_str())),
                ),
            })
            .collect();
        let (http_client, jwks_client) = match method {
            Method::Internal => (Err(unused()), Err(unused())),
            Method::Http => (
                make_client(timeout, &conf.auth_http_fingerprint),
                Err(unused()),
            ),
            Method::Jwt => (
                Err(unused()),
                make_client(timeout, &conf.auth_jwt_jwks_fingerprint),
            ),
        };
        Settings {
            method,
            users,
            http: HttpSettings {
                address: conf.auth_http_address.clone(),
                exclude: PermissionSet::new(
                    conf.auth_http_exclude
                        .iter()
                        .map(|p| (p.action, p.path.as_str())),
                ),
                client: http_client,
            },
            jwt: JwtSettings {
                jwks_url: conf.auth_jwt_jwks.clone(),
                jwks_fingerprint: conf.auth_jwt_jwks_fingerprint.clone(),
                claim_key: conf.auth_jwt_claim_key.clone(),
                exclude: PermissionSet::new(
                    conf.auth_jwt_exclude
                        .iter()
                        .map(|p| (p.action, p.path.as_str())),
                ),
                issuer: conf.auth_jwt_issuer.clone(),
                audience: conf.auth_jwt_audience.clone(),
                in_http_query: conf.auth_jwt_in_http_query.unwrap_or(false),
                client: jwks_client,
            },
        }
    }
}

fn unused() -> String {
    "HTTP client not built for this authentication method".to_owned()
}

fn read_timeout(conf: &Conf) -> Duration {
    if conf.read_timeout.is_zero() {
        DEFAULT_TIMEOUT
    } else {
        conf.read_timeout
    }
}

//! Authentication: method, actions, internal users, IP networks.

use crate::node::{Node, Value};
use crate::schema::{conf_object, object_value};
use crate::value::{ConfValue, FieldError, string_enum, text_of};
use serde_json::Value as Json;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

string_enum! {
    /// `authMethod`.
    pub enum AuthMethod ("invalid authMethod: '{}'", null = keep, default = Internal) {
        Internal = "internal",
        Http = "http",
        Jwt = "jwt",
    }
}

string_enum! {
    /// What a permission allows.
    pub enum AuthAction ("invalid auth action: '{}'", null = reject, default = Publish) {
        Publish = "publish",
        Read = "read",
        Playback = "playback",
        Api = "api",
        Metrics = "metrics",
        Pprof = "pprof",
    }
}

/// An IP network; a bare address is a /32 (IPv4) or /128 (IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// The network containing `addr` with `prefix` bits; host bits are cleared.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, String> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!("invalid prefix length {prefix}"));
        }
        let addr = match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Ok(IpNetwork { addr, prefix })
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` belongs to the network (IPv4-mapped IPv6 addresses match
    /// IPv4 networks).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }
}

impl FromStr for IpNetwork {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("unable to parse IP/CIDR '{s}'");
        match s.split_once('/') {
            Some((ip, bits)) => {
                let ip: IpAddr = ip.parse().map_err(|_| bad())?;
                if bits.is_empty() || !bits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let bits: u8 = bits.parse().map_err(|_| bad())?;
                IpNetwork::new(ip, bits).map_err(|_| bad())
            }
            None => {
                let ip: IpAddr = s.parse().map_err(|_| bad())?;
                let bits = if ip.is_ipv4() { 32 } else { 128 };
                IpNetwork::new(ip, bits).map_err(|_| bad())
            }
        }
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Default for IpNetwork {
    fn default() -> Self {
        IpNetwork {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix: 0,
        }
    }
}

impl ConfValue for IpNetwork {
    fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
        let text = text_of(node)?.unwrap_or("");
        *self = text.parse().map_err(|m| FieldError::invalid(node, m))?;
        Ok(())
    }
    fn to_json(&self) -> Option<Json> {
        Some(Json::String(self.to_string()))
    }
    fn env_scalar(s: &str) -> Result<Value, String> {
        Ok(Value::Str(s.to_string()))
    }
}

/// Whether any of `networks` contains `ip`.
pub fn networks_contain(networks: &[IpNetwork], ip: IpAddr) -> bool {
    networks.iter().any(|n| n.contains(ip))
}

/// `rtspTrustedProxies` / `rtmpTrustedProxies` for a connection from `ip`: `None` when no
/// proxy is trusted (no PROXY header is looked for), else whether `ip` is one of them.
pub fn proxy_trust(trusted_proxies: &[IpNetwork], ip: IpAddr) -> Option<bool> {
    (!trusted_proxies.is_empty()).then(|| networks_contain(trusted_proxies, ip))
}

conf_object! {
    /// A permission of an internal user (an empty path means any path).
    #[derive(Clone, Debug, PartialEq)]
    pub struct AuthInternalUserPermission {
        action: AuthAction = "action" => AuthAction::Publish,
        path: String = "path" => String::new(),
    }
}
object_value!(AuthInternalUserPermission);

conf_object! {
    /// An entry of `authInternalUsers`. `user`/`pass` may be `sha256:` or
    /// `argon2:` hashes; an empty `ips` means any IP.
    #[derive(Clone, Debug, PartialEq)]
    pub struct AuthInternalUser {
        user: String = "user" => String::new(),
        pass: String = "pass" => String::new(),
        ips: Vec<IpNetwork> = "ips" => Vec::new(),
        permissions: Vec<AuthInternalUserPermission> = "permissions" => Vec::new(),
    }
}
object_value!(AuthInternalUser);

impl AuthInternalUserPermission {
    pub fn new(action: AuthAction, path: &str) -> Self {
        AuthInternalUserPermission {
            action,
            path: path.to_string(),
        }
    }
}

fn net(s: &str) -> IpNetwork {
    // Only called with literal, valid networks.
    s.parse().unwrap_or_default()
}

/// The two built-in users of MediaMTX.
pub(crate) fn default_auth_internal_users() -> Vec<AuthInternalUser> {
    vec![
        AuthInternalUser {
            user: "any".into(),
            pass: String::new(),
            ips: Vec::new(),
            permissions: vec![
                AuthInternalUserPermission::new(AuthAction::Publish, ""),
                AuthInternalUserPermission::new(AuthAction::Read, ""),
                AuthInternalUserPermission::new(AuthAction::Playback, ""),
            ],
        },
        local_admin_user(),
    ]
}

pub(crate) fn local_admin_user() -> AuthInternalUser {
    AuthInternalUser {
        user: "any".into(),
        pass: String::new(),
        ips: vec![net("127.0.0.1/32"), net("::1/128")],
        permissions: vec![
            AuthInternalUserPermission::new(AuthAction::Api, ""),
            AuthInternalUserPermission::new(AuthAction::Metrics, ""),
            AuthInternalUserPermission::new(AuthAction::Pprof, ""),
        ],
    }
}

pub(crate) fn any_network() -> IpNetwork {
    net("0.0.0.0/0")
}

const PLAIN_CREDENTIAL_CHARS: &str = "A-Z,0-9,!,$,(,),*,+,.,;,<,=,>,[,],^,_,-,\",\",@,#,&";

/// Checks a user or password as MediaMTX does.
pub(crate) fn check_credential(c: &str) -> Result<(), String> {
    if c.is_empty() {
        return Ok(());
    }
    if let Some(hash) = c.strip_prefix("sha256:") {
        let ok = !hash.is_empty()
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        return if ok {
            Ok(())
        } else {
            Err(
                "credential contains unsupported characters, sha256 hash must be base64 encoded"
                    .into(),
            )
        };
    }
    if c.starts_with("argon2:") {
        return Ok(());
    }
    if is_plain_credential(c) {
        Ok(())
    } else {
        Err(format!(
            "credential contains unsupported characters. Supported are: {PLAIN_CREDENTIAL_CHARS}"
        ))
    }
}

pub(crate) fn is_plain_credential(c: &str) -> bool {
    !c.is_empty()
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!$()*+.;<=>[]^_-{}@#&".contains(&b))
}

pub(crate) fn is_hashed(c: &str) -> bool {
    c.starts_with("sha256:") || c.starts_with("argon2:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_network_parsing_and_contains() {
        let n: IpNetwork = "10.1.2.3/8".parse().unwrap();
        assert_eq!(n.to_string(), "10.0.0.0/8");
        assert!(n.contains("10.200.0.1".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.0.0.1".parse().unwrap()));
        let one: IpNetwork = "192.168.1.5".parse().unwrap();
        assert_eq!(one.to_string(), "192.168.1.5/32");
        assert!(one.contains("192.168.1.5".parse().unwrap()));
        assert!(!one.contains("192.168.1.6".parse().unwrap()));
        let v6: IpNetwork = "::1".parse().unwrap();
        assert_eq!(v6.to_string(), "::1/128");
        assert!(v6.contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
        assert!("nope".parse::<IpNetwork>().is_err());
    }

    #[test]
    fn credentials_are_checked() {
        assert!(check_credential("myuser").is_ok());
        assert!(check_credential("sha256:j1tsRqDEw9xvq/D7/9tMx6Jh/jMhk3UfjwIB2f1zgMo=").is_ok());
        assert!(check_credential("my user").is_err());
        assert!(check_credential("sha256:not base64").is_err());
    }
}

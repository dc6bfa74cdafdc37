//! MediaMTX's validation rules, applied after every load or change.

use crate::auth::{
    AuthInternalUser, AuthInternalUserPermission, check_credential, is_hashed, is_plain_credential,
    local_admin_user,
};
use crate::deprecated::Warnings;
use crate::global::Conf;
use crate::path::PathRegex;
use crate::protocol::{Encryption, RtspAuthMethod, RtspTransport};
use crate::source::path_name_problem;
use crate::{AuthAction, AuthMethod, ConfError};
use regex::Regex;

pub(crate) fn invalid(m: impl Into<String>) -> ConfError {
    ConfError::Invalid(m.into())
}

/// Compile the expression of a path name: `None` for a plain name.
pub(crate) fn compile_name(name: &str) -> Result<Option<PathRegex>, ConfError> {
    if name == "all_others" || name == "all" {
        let re = Regex::new("^.*$").map_err(|e| invalid(e.to_string()))?;
        return Ok(Some(PathRegex(re)));
    }
    match name.strip_prefix('~') {
        Some(expr) => {
            Regex::new(expr)
                .map(|re| Some(PathRegex(re)))
                .map_err(|e| ConfError::InvalidRegex {
                    name: name.to_string(),
                    message: {
                        let text = e.to_string();
                        let last = text.lines().last().unwrap_or("").trim();
                        last.strip_prefix("error: ").unwrap_or(last).to_string()
                    },
                })
        }
        None => match path_name_problem(name) {
            Some(reason) => Err(ConfError::InvalidPathName {
                name: name.to_string(),
                reason: reason.to_string(),
            }),
            None => Ok(None),
        },
    }
}

impl Conf {
    /// Check the configuration, convert deprecated keys into the keys that
    /// replace them, rebuild every path from `pathDefaults` plus its own keys.
    /// Returns the deprecation warnings.
    pub fn validate(&mut self) -> Result<Vec<String>, ConfError> {
        let mut w = Warnings::default();
        self.convert_deprecated_general(&mut w);
        self.validate_general()?;
        self.convert_deprecated_auth(&mut w);
        let legacy_credentials = self.uses_deprecated_credentials();
        if legacy_credentials {
            w.push(
                "you are using one or more authentication-related deprecated parameters \
                 (publishUser, publishPass, publishIPs, readUser, readPass, readIPs). \
                 These have been replaced by 'authInternalUsers'"
                    .into(),
            );
            let derived = self.derived_users.as_ref() == Some(&self.auth_internal_users);
            if !derived && self.auth_internal_users != crate::auth::default_auth_internal_users() {
                return Err(invalid(
                    "authInternalUsers and legacy credentials (publishUser, publishPass, \
                     publishIPs, readUser, readPass, readIPs) cannot be used together",
                ));
            }
            self.auth_internal_users = vec![
                AuthInternalUser {
                    user: "any".into(),
                    permissions: vec![AuthInternalUserPermission::new(AuthAction::Playback, "")],
                    ..AuthInternalUser::default()
                },
                local_admin_user(),
            ];
        }
        self.validate_auth()?;
        self.convert_deprecated_servers(&mut w);
        self.validate_servers()?;
        self.convert_deprecated_record(&mut w);
        self.validate_paths(legacy_credentials, &mut w)?;
        self.derived_users = legacy_credentials.then(|| self.auth_internal_users.clone());
        Ok(w.0)
    }

    fn validate_general(&self) -> Result<(), ConfError> {
        if self.read_timeout.is_zero() {
            return Err(invalid("'readTimeout' must be greater than zero"));
        }
        if self.write_timeout.is_zero() {
            return Err(invalid("'writeTimeout' must be greater than zero"));
        }
        if self.write_queue_size <= 0 {
            return Err(invalid("'writeQueueSize' must be greater than zero"));
        }
        if self.write_queue_size & (self.write_queue_size - 1) != 0 {
            return Err(ConfError::InvalidValue {
                key: "writeQueueSize".into(),
                message: "must be a power of two".into(),
                line: 0,
            });
        }
        if self.udp_max_payload_size > 1472 {
            return Err(invalid("'udpMaxPayloadSize' must be at most 1472"));
        }
        Ok(())
    }

    fn validate_auth(&self) -> Result<(), ConfError> {
        for u in &self.auth_internal_users {
            for c in [&u.user, &u.pass] {
                check_credential(c).map_err(invalid)?;
            }
        }
        match self.auth_method {
            AuthMethod::Internal => {
                for u in &self.auth_internal_users {
                    if u.user.is_empty() {
                        return Err(invalid("empty usernames are not supported"));
                    }
                    if u.user == "any" && !u.pass.is_empty() {
                        return Err(invalid("using a password with 'any' user is not supported"));
                    }
                }
            }
            AuthMethod::Http => {
                if self.auth_http_address.is_empty() {
                    return Err(invalid("'authHTTPAddress' is empty"));
                }
                if !is_http_url(&self.auth_http_address) {
                    return Err(invalid("'externalAuthenticationURL' must be a HTTP URL"));
                }
            }
            AuthMethod::Jwt => {
                if self.auth_jwt_jwks.is_empty() {
                    return Err(invalid("'authJWTJWKS' is empty"));
                }
                if !is_http_url(&self.auth_jwt_jwks) {
                    return Err(invalid("'authJWTJWKS' must be a HTTP URL"));
                }
                if self.auth_jwt_claim_key.is_empty() {
                    return Err(invalid("'authJWTClaimKey' is empty"));
                }
            }
        }
        Ok(())
    }

    fn validate_servers(&self) -> Result<(), ConfError> {
        let needs = |enabled: bool, addr: &str, msg: &str| {
            if enabled && addr.is_empty() {
                Err(invalid(msg))
            } else {
                Ok(())
            }
        };
        needs(
            self.api,
            &self.api_address,
            "'apiAddress' must be set when API is enabled",
        )?;
        needs(
            self.metrics,
            &self.metrics_address,
            "'metricsAddress' must be set when metrics are enabled",
        )?;
        needs(
            self.pprof,
            &self.pprof_address,
            "'pprofAddress' must be set when pprof is enabled",
        )?;
        needs(
            self.playback,
            &self.playback_address,
            "'playbackAddress' must be set when playback is enabled",
        )?;
        if self.rtsp {
            self.validate_rtsp()?;
        }
        needs(
            self.rtmp,
            &self.rtmp_address,
            "'rtmpAddress' must be set when RTMP is enabled",
        )?;
        needs(
            self.hls,
            &self.hls_address,
            "'hlsAddress' must be set when HLS is enabled",
        )?;
        if !self.hls_cdn_secret.is_empty() && !is_plain_credential(&self.hls_cdn_secret) {
            return Err(invalid(
                "'hlsCDNSecret' contains unsupported characters. Supported are: \
                 A-Z,0-9,!,$,(,),*,+,.,;,<,=,>,[,],^,_,-,\",\",@,#,&",
            ));
        }
        if self.webrtc {
            self.validate_webrtc()?;
        }
        if self.moq && self.moq_quic_address.is_empty() {
            return Err(invalid("'moqQUICAddress' must be set when MoQ is enabled"));
        }
        Ok(())
    }

    fn validate_rtsp(&self) -> Result<(), ConfError> {
        let udp = self.rtsp_transports.contains(&RtspTransport::Udp);
        let multicast = self.rtsp_transports.contains(&RtspTransport::Multicast);
        let enc = self.rtsp_encryption;
        let check = |cond: bool, msg: &str| if cond { Err(invalid(msg)) } else { Ok(()) };
        if matches!(enc, Encryption::No | Encryption::Optional) {
            let plain = "and RTSP encryption is 'no' or 'optional'";
            check(
                self.rtsp_address.is_empty(),
                &format!("'rtspAddress' must be set when RTSP is enabled {plain}"),
            )?;
            if udp {
                check(
                    self.rtp_address.is_empty(),
                    &format!("'rtpAddress' must be set when UDP is enabled {plain}"),
                )?;
                check(
                    self.rtcp_address.is_empty(),
                    &format!("'rtcpAddress' must be set when UDP is enabled {plain}"),
                )?;
            }
            if multicast {
                for (empty, key) in [
                    (self.multicast_ip_range.is_empty(), "multicastIPRange"),
                    (self.multicast_rtp_port == 0, "multicastRTPPort"),
                    (self.multicast_rtcp_port == 0, "multicastRTCPPort"),
                ] {
                    check(
                        empty,
                        &format!("'{key}' must be set when UDP multicast is enabled {plain}"),
                    )?;
                }
            }
        }
        if matches!(enc, Encryption::Optional | Encryption::Strict) {
            let secure = "and RTSP encryption is 'optional' or 'strict'";
            check(
                self.rtsps_address.is_empty(),
                &format!("'rtspsAddress' must be set when RTSP is enabled {secure}"),
            )?;
            if udp {
                check(
                    self.srtp_address.is_empty(),
                    &format!("'srtpAddress' must be set when UDP is enabled {secure}"),
                )?;
                check(
                    self.srtcp_address.is_empty(),
                    &format!("'srtcpAddress' must be set when UDP is enabled {secure}"),
                )?;
            }
            if multicast {
                for (empty, key) in [
                    (self.multicast_ip_range.is_empty(), "multicastIPRange"),
                    (self.multicast_srtp_port == 0, "multicastSRTPPort"),
                    (self.multicast_srtcp_port == 0, "multicastSRTCPPort"),
                ] {
                    check(
                        empty,
                        &format!("'{key}' must be set when UDP multicast is enabled {secure}"),
                    )?;
                }
            }
        }
        if self.rtsp_auth_methods.is_empty() {
            return Err(invalid("at least one 'rtspAuthMethods' must be provided"));
        }
        if self.rtsp_auth_methods.contains(&RtspAuthMethod::Digest) {
            if self.auth_method != AuthMethod::Internal {
                return Err(invalid(
                    "when RTSP digest is enabled, the only supported auth method is 'internal'",
                ));
            }
            if self
                .auth_internal_users
                .iter()
                .any(|u| is_hashed(&u.user) || is_hashed(&u.pass))
            {
                return Err(invalid(
                    "when RTSP digest is enabled, hashed credentials cannot be used",
                ));
            }
        }
        Ok(())
    }

    fn validate_webrtc(&self) -> Result<(), ConfError> {
        if self.webrtc_address.is_empty() {
            return Err(invalid(
                "'webrtcAddress' must be set when WebRTC is enabled",
            ));
        }
        for s in &self.webrtc_ice_servers2 {
            if !["stun:", "turn:", "turns:"]
                .iter()
                .any(|p| s.url.starts_with(p))
            {
                return Err(invalid(format!("invalid ICE server: '{}'", s.url)));
            }
        }
        let local =
            !self.webrtc_local_udp_address.is_empty() || !self.webrtc_local_tcp_address.is_empty();
        if !local && self.webrtc_ice_servers2.is_empty() {
            return Err(invalid(
                "at least one between 'webrtcLocalUDPAddress', 'webrtcLocalTCPAddress' or \
                 'webrtcICEServers2' must be filled",
            ));
        }
        if local && !self.webrtc_ips_from_interfaces && self.webrtc_additional_hosts.is_empty() {
            return Err(invalid(
                "at least one between 'webrtcIPsFromInterfaces' or 'webrtcAdditionalHosts' must be filled",
            ));
        }
        Ok(())
    }

    fn validate_paths(&mut self, legacy: bool, w: &mut Warnings) -> Result<(), ConfError> {
        let aliases = self
            .paths
            .iter()
            .filter(|p| matches!(p.name.as_str(), "all" | "all_others" | "~^.*$"))
            .count();
        if aliases > 1 {
            return Err(invalid("all_others, all and '~^.*$' are aliases"));
        }
        let mut rebuilt = Vec::with_capacity(self.paths.len());
        for (i, p) in self.paths.iter().enumerate() {
            if self.paths[..i].iter().any(|q| q.name == p.name) {
                return Err(ConfError::PathExists(p.name.clone()));
            }
            let mut np = p.rebase(&self.path_defaults)?;
            np.regex = compile_name(&np.name)?;
            rebuilt.push(np);
        }
        // MediaMTX validates paths in name order; the order matters for the
        // users created from legacy credentials.
        let mut order: Vec<usize> = (0..rebuilt.len()).collect();
        order.sort_by(|a, b| rebuilt[*a].name.cmp(&rebuilt[*b].name));
        for i in order {
            let others: Vec<(String, u32, bool, bool)> = rebuilt
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, o)| {
                    (
                        o.name.clone(),
                        o.rpi_camera_cam_id,
                        o.source == "rpiCamera",
                        o.rpi_camera_secondary,
                    )
                })
                .collect();
            let p = &mut rebuilt[i];
            p.validate(self.playback, &others, w)?;
            if legacy {
                self.auth_internal_users.extend(p.legacy_users());
            }
        }
        self.paths = rebuilt;
        Ok(())
    }
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

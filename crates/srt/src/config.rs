//! Connection settings, with libsrt's live-mode defaults.

use std::time::Duration;

use crate::crypto::{CryptoError, check_passphrase};
use crate::packet::{HEADER_LEN, UDP_IPV4_OVERHEAD};

/// Settings shared by listener-side and caller-side connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Receiver latency (TSBPD delay) we ask for; the larger of both sides' wins. Default 120 ms.
    pub latency: Duration,
    /// Latency we propose for the peer's receiving. Default 120 ms.
    pub peer_latency: Duration,
    /// Close the connection after this long without any packet from the peer. Default 5 s.
    pub peer_idle_timeout: Duration,
    /// MTU in bytes, IP and UDP headers included. Default 1500; the smaller side wins.
    pub mtu: u32,
    /// Flow window (packets in flight) we announce. Default 8192.
    pub flow_window: u32,
    /// Largest payload [`crate::Connection::send`] takes. Default 1316 (7 TS packets),
    /// at most `mtu - 44`.
    pub max_payload: usize,
    /// Packets kept for retransmission. Default 8192; the oldest is dropped when full.
    pub send_buffer_packets: usize,
    /// Packets the receive buffer holds ahead of delivery. Default 8192.
    pub recv_buffer_packets: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(120),
            peer_latency: Duration::from_millis(120),
            peer_idle_timeout: Duration::from_secs(5),
            mtu: 1500,
            flow_window: 8192,
            max_payload: 1316,
            send_buffer_packets: 8192,
            recv_buffer_packets: 8192,
        }
    }
}

impl Settings {
    /// The largest payload that fits the MTU.
    pub fn mtu_payload(mtu: u32) -> usize {
        usize::try_from(mtu)
            .unwrap_or(usize::MAX)
            .saturating_sub(UDP_IPV4_OVERHEAD + HEADER_LEN)
    }

    pub(crate) fn latency_ms(&self) -> u16 {
        u16::try_from(self.latency.as_millis()).unwrap_or(u16::MAX)
    }

    pub(crate) fn peer_latency_ms(&self) -> u16 {
        u16::try_from(self.peer_latency.as_millis()).unwrap_or(u16::MAX)
    }

    /// Bounds the buffer sizes and payload to sane values.
    pub(crate) fn clamped(mut self) -> Self {
        const DAY: Duration = Duration::from_secs(86_400);
        self.latency = self.latency.min(Duration::from_millis(u64::from(u16::MAX)));
        self.peer_latency = self
            .peer_latency
            .min(Duration::from_millis(u64::from(u16::MAX)));
        self.peer_idle_timeout = self
            .peer_idle_timeout
            .clamp(Duration::from_millis(100), DAY);
        self.mtu = self.mtu.clamp(576, 9000);
        self.max_payload = self.max_payload.clamp(1, Self::mtu_payload(self.mtu));
        self.send_buffer_packets = self.send_buffer_packets.clamp(16, 1 << 16);
        self.recv_buffer_packets = self.recv_buffer_packets.clamp(16, 1 << 16);
        self.flow_window = self.flow_window.clamp(16, 1 << 16);
        self
    }
}

/// What a caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerConfig {
    /// Stream id sent in the handshake (at most 512 bytes).
    pub stream_id: Option<String>,
    /// Passphrase (10 to 79 bytes) to encrypt with.
    pub passphrase: Option<String>,
    /// Key length in bytes: 16, 24 or 32 (libsrt's `pbkeylen`). Default 16.
    pub key_len: usize,
    /// Give up when the handshake has not finished after this long. Default 3 s.
    pub connect_timeout: Duration,
    /// First sequence number (random when `None`, the normal case).
    pub initial_seq: Option<u32>,
    /// Connection settings.
    pub settings: Settings,
}

impl Default for CallerConfig {
    fn default() -> Self {
        Self {
            stream_id: None,
            passphrase: None,
            key_len: 16,
            connect_timeout: Duration::from_secs(3),
            initial_seq: None,
            settings: Settings::default(),
        }
    }
}

/// A caller configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Stream id longer than 512 bytes.
    #[error("stream id of {0} bytes is longer than 512")]
    StreamIdTooLong(usize),
    /// Bad passphrase or key length.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl CallerConfig {
    /// Checks lengths the way libsrt does.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(sid) = &self.stream_id
            && sid.len() > crate::handshake::MAX_STREAM_ID_LEN
        {
            return Err(ConfigError::StreamIdTooLong(sid.len()));
        }
        if let Some(p) = &self.passphrase {
            check_passphrase(p)?;
            if !matches!(self.key_len, 16 | 24 | 32) {
                return Err(CryptoError::KeyLength(self.key_len).into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_libsrt_live_mode() {
        let s = Settings::default();
        assert_eq!(s.latency, Duration::from_millis(120));
        assert_eq!(Settings::mtu_payload(1500), 1456);
        assert_eq!(s.clone().clamped(), s);
    }

    #[test]
    fn caller_config_is_validated() {
        let mut c = CallerConfig {
            passphrase: Some("short".into()),
            ..CallerConfig::default()
        };
        assert_eq!(
            c.validate(),
            Err(ConfigError::Crypto(CryptoError::PassphraseLength(5)))
        );
        c.passphrase = Some("long enough passphrase".into());
        c.key_len = 8;
        assert_eq!(
            c.validate(),
            Err(ConfigError::Crypto(CryptoError::KeyLength(8)))
        );
        c.key_len = 32;
        assert_eq!(c.validate(), Ok(()));
        c.stream_id = Some("x".repeat(513));
        assert_eq!(c.validate(), Err(ConfigError::StreamIdTooLong(513)));
    }
}

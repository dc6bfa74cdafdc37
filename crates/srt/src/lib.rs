//! SRT (Secure Reliable Transport, draft-sharabayko-srt), live mode, sans-IO.
//!
//! Pure protocol: parsers take bytes, state machines take `now`; nothing here touches a
//! socket or a clock. A driver runs many connections over one UDP socket:
//!
//! - datagrams whose destination socket id ([`packet::destination_socket_id`]) is 0 go
//!   to the [`Listener`], which answers handshakes and surfaces [`ConnectionRequest`]s;
//!   the driver decides (possibly after async authentication) with [`Listener::accept`]
//!   or [`Listener::reject`];
//! - every other datagram goes to the [`Connection`] registered under (peer address,
//!   destination socket id);
//! - a caller is a [`Connection::connect`].
//!
//! On top of the protocol: the SRT server ([`component::Srt`], a UDP socket task routing
//! datagrams to one task per connection), the `srt://` caller source, the MPEG-TS and RTP
//! sources over UDP and Unix sockets, MPEG-TS in ([`mpegts_in`]) and out ([`mpegts_out`],
//! a derived view muxed once per stream). [`register`] adds them all to the binary.
//!
//! Interoperates with libsrt 1.5 (ffmpeg, srt-live-transmit): HSv5 handshake with
//! HSREQ/KMREQ/SID extensions, TSBPD with too-late drop, ACK/ACKACK/NAK/DROPREQ,
//! AES-CTR encryption with 16/24/32-byte keys.
#![forbid(unsafe_code)]

mod caller;
pub mod component;
pub mod config;
pub mod connection;
pub mod crypto;
pub mod handshake;
pub mod key_material;
mod link;
pub mod listener;
pub mod loss_list;
pub mod mpegts_in;
pub mod mpegts_out;
pub mod packet;
pub mod receive_buffer;
pub mod reject;
pub mod rtt;
pub mod send_buffer;
pub mod seq;
pub mod server;
pub mod source;
pub mod stats;
pub mod stream_id;
pub mod tsbpd;

pub use component::register;
pub use config::{CallerConfig, ConfigError, Settings};
pub use connection::{CloseReason, Connection, Event, SendError};
pub use listener::{
    AcceptError, ConnectionRequest, Listener, ListenerConfig, ListenerEvent, RequestId, Transmit,
};
pub use packet::destination_socket_id;
pub use reject::RejectReason;
pub use stats::Stats;

/// Receive buffer asked for SRT sockets when `udpReadBufferSize` is 0, as libsrt's default
/// (8192 packets of 1500 bytes); the system caps it (`net.core.rmem_max`).
pub(crate) const DEFAULT_UDP_READ_BUFFER: usize = 8192 * 1500;

/// A random version-4 UUID in its text form (connection ids of the API and hooks).
pub(crate) fn uuid() -> String {
    let b = server::random_seed();
    let hex: String = b.iter().take(16).map(|x| format!("{x:02x}")).collect();
    // Version 4, variant 10.
    let version = format!("4{}", &hex[13..16]);
    let variant = ["8", "9", "a", "b"][usize::from(b[8] & 3)];
    format!(
        "{}-{}-{version}-{variant}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_are_version_4_and_distinct() {
        let a = super::uuid();
        let b = super::uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
    }
}

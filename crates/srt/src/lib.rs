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
//! Interoperates with libsrt 1.5 (ffmpeg, srt-live-transmit): HSv5 handshake with
//! HSREQ/KMREQ/SID extensions, TSBPD with too-late drop, ACK/ACKACK/NAK/DROPREQ,
//! AES-CTR encryption with 16/24/32-byte keys.
#![forbid(unsafe_code)]

mod caller;
pub mod config;
pub mod connection;
pub mod crypto;
pub mod handshake;
pub mod key_material;
pub mod listener;
pub mod loss_list;
pub mod packet;
pub mod receive_buffer;
pub mod reject;
pub mod rtt;
pub mod send_buffer;
pub mod seq;
pub mod stats;
pub mod tsbpd;

pub use config::{CallerConfig, ConfigError, Settings};
pub use connection::{CloseReason, Connection, Event, SendError};
pub use listener::{
    AcceptError, ConnectionRequest, Listener, ListenerConfig, ListenerEvent, RequestId, Transmit,
};
pub use packet::destination_socket_id;
pub use reject::RejectReason;
pub use stats::Stats;

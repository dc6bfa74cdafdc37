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
//! On top of the protocol: MPEG-TS in ([`mpegts_in`]) and out ([`mpegts_out`], a derived
//! view muxed once per stream), and the stream id as MediaMTX reads it ([`stream_id`]).
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
pub mod mpegts_in;
pub mod mpegts_out;
pub mod packet;
pub mod receive_buffer;
pub mod reject;
pub mod rtt;
pub mod send_buffer;
pub mod seq;
pub mod stats;
pub mod stream_id;
pub mod tsbpd;


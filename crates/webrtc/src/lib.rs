//! WebRTC: WHEP readers and WHIP publishers.
//!
//! - [`udp_mux`]: one UDP socket for every session, routed by STUN ufrag then address.
//! - [`tcp_mux`]: optional ICE-TCP listener (RFC 6544, RFC 4571 framing in [`rfc4571`]).
//! - [`session`]: one str0m `Rtc` per peer (sans-IO), RTP mode, ICE-lite.
//! - [`server`]: the session tasks and the [`server::Backend`] the binary implements.
//! - [`http`]: the WHIP/WHEP HTTP endpoints and the player/publisher pages.
//! - [`source`]: what a WHEP session reads and a WHIP session writes.
//! - [`core_backend`]: the [`server::Backend`] on ferromtx-core (shared egress view,
//!   ingest into core streams).
//! - [`component`]: the server as a component of the binary, and what the API shows.
//! - [`transcode`]: audio a browser can't play (AAC, MP3, LPCM, G.711 it did not offer) to Opus,
//!   once per stream, as a derived view.
//! - [`interfaces`]: local interface addresses for host candidates.
#![forbid(unsafe_code)]

pub mod auth;
pub mod component;
pub mod core_backend;
pub mod http;
pub mod interfaces;
pub mod negotiation;
pub mod outbox;
pub mod page;
pub mod rfc4571;
pub mod server;
pub mod session;
pub mod source;
pub mod stun;
pub mod tcp_mux;
pub mod transcode;
pub mod udp_mux;

pub use auth::{AccessRequest, Credentials};
pub use component::register;
pub use core_backend::{CoreBackend, CoreSink, CoreSource, EgressView};
pub use server::{Backend, IceServer, OpenError, SessionInfo, WebrtcConfig, WebrtcServer};
pub use session::{LocalCandidates, Session, SessionConfig, SessionError};
pub use source::{EgressItem, EgressPacket, EgressSource, IngestSink};

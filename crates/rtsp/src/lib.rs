//! RTSP (RFC 2326): wire format and sans-IO state machines.
//!
//! Everything here is pure (parsers take bytes, state machines take requests and `now`,
//! nothing touches a socket or a clock) except [`server`], the tokio driver built on top
//! that serves publishers and readers of a `ferromtx_core::PathManager`.
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
pub mod component;
pub mod datagram;
pub mod interleaved;
pub mod message;
pub mod public;
pub mod range;
pub mod request_uri;
pub mod rtcp;
pub mod rtp_in;
pub mod rtp_info;
pub mod sdp;
mod secret;
pub mod server;
pub mod server_session;
pub mod session;
pub mod source;
pub mod transport;

#[cfg(test)]
mod xorshift;

pub use component::register;
pub use interleaved::Interleaved;
pub use message::{Decoder, Headers, Incoming, Message, Method, Request, Response, StatusCode};
pub use server::{RtspServer, RtspSettings};
pub use source::RtspSource;

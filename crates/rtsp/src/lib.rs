//! RTSP (RFC 2326): wire format and sans-IO state machines.
//!
//! Everything here is pure: parsers take bytes, state machines take requests and `now`,
//! and nothing touches a socket or a clock. The tokio driver is built on top.
#![forbid(unsafe_code)]

pub mod auth;
pub mod interleaved;
pub mod message;
pub mod public;
pub mod range;
pub mod rtcp;
pub mod rtp_info;
pub mod sdp;
pub mod server_session;
pub mod session;
pub mod transport;

#[cfg(test)]
mod xorshift;

pub use interleaved::Interleaved;
pub use message::{Decoder, Headers, Incoming, Message, Method, Request, Response, StatusCode};

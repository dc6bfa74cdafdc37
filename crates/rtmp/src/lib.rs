//! RTMP (Adobe RTMP 1.0) with Enhanced RTMP v1/v2: wire formats and sans-IO state
//! machines for both ends of a connection.
//!
//! Everything here is pure: parsers take bytes, the state machines
//! ([`ServerConnection`], [`ClientConnection`]) take received bytes and `now`, and give
//! back bytes to send and events; nothing touches a socket or a clock. A thin driver
//! owns the socket:
//!
//! ```text
//! loop {
//!     conn.handle_input(now, &bytes_read)?;
//!     while let Some(out) = conn.poll_output() { send or act on it }
//! }
//! ```
//!
//! Layers, bottom up: [`handshake`], [`chunk`] (the chunk stream), [`message`] (protocol
//! control, user control, AMF0 commands and data, aggregates; [`amf0`] values), [`flv`]
//! (audio and video tag bodies, legacy and Enhanced RTMP, and their codec configuration
//! records), [`media`] (the codec-neutral frames and track configurations), [`server`]
//! and [`client`].
//!
//! Bounds: messages are at most 16 MiB (the length field's limit, lower if configured),
//! the chunk streams with state and the bytes of incomplete messages are capped
//! ([`chunk::ChunkLimits`]), AMF0 nesting is capped ([`amf0::MAX_DEPTH`]), aggregates
//! hold at most [`message::MAX_AGGREGATE_PARTS`] parts, and pending output is capped
//! ([`connection::Limits`]).
#![forbid(unsafe_code)]

pub mod amf0;
pub mod chunk;
pub mod client;
pub mod component;
pub mod connection;
pub mod error;
pub mod flv;
pub mod format;
pub mod handshake;
pub mod media;
pub mod message;
pub mod publish;
pub mod server;
pub mod server_io;
pub mod source;
pub mod url;
pub mod view;

pub use client::{ClientConfig, ClientConnection, ClientEvent, ClientMode, ClientOutput};
pub use component::register;
pub use connection::Limits;
pub use error::Error;
pub use flv::{FlvTag, TagItem, TagStyle};
pub use media::{Codec, CodecParams, FourCc, Media, MediaKind, TrackConfig, TrackId};
pub use server::{
    ConnectInfo, Rejection, ServerConfig, ServerConnection, ServerEvent, ServerOutput,
    StreamRequest,
};
pub use server_io::{CloseReason, ConnInfo, ConnState, RtmpServer, RtmpSettings};
pub use url::{ClientUrl, StreamPath};
pub use view::{FlvUnit, FlvView, Selection};

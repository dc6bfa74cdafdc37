//! The error of the connection state machines.

use crate::chunk::ChunkError;
use crate::flv::FlvError;
use crate::handshake::HandshakeError;
use crate::message::MessageError;

/// Why a connection cannot go on. After any error but [`Error::InvalidState`] and
/// [`Error::OutputFull`] the state machine is closed: later input is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    #[error("chunk stream: {0}")]
    Chunk(#[from] ChunkError),
    #[error("message: {0}")]
    Message(#[from] MessageError),
    #[error("media: {0}")]
    Flv(#[from] FlvError),
    /// The peer broke the command sequence.
    #[error("{0}")]
    Protocol(String),
    /// The peer refused a command (its `_error` or error `onStatus`).
    #[error("{code}: {description}")]
    Rejected { code: String, description: String },
    /// More than the configured bytes wait to be sent; the driver is not draining output.
    #[error("more than {0} bytes of output pending")]
    OutputFull(usize),
    /// A call that the current state does not allow (a driver bug, nothing closed).
    #[error("not allowed now: {0}")]
    InvalidState(&'static str),
    /// The connection failed earlier or was rejected.
    #[error("connection closed")]
    Closed,
}

pub(crate) fn protocol(msg: impl Into<String>) -> Error {
    Error::Protocol(msg.into())
}

//! Why an RTMP connection ends: the reason its `closed: ...` line gives, in MediaMTX's
//! words where it has some.

use ferromtx_core::{PathError, StreamError};

use crate::publish::DetectError;

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the connection.
    #[error("EOF")]
    Eof,
    /// The socket failed.
    #[error("{0}")]
    Io(String),
    #[error("TLS handshake error: {0}")]
    TlsHandshake(String),
    #[error("TLS handshake timeout")]
    TlsTimeout,
    /// Nothing (or not enough to start) arrived within `readTimeout`.
    #[error("read timeout")]
    ReadTimeout,
    /// The client did not take our data within `writeTimeout`.
    #[error("write timeout")]
    WriteTimeout,
    /// The stream ended, another publisher took the path over, the server closes, or
    /// the API kicked the connection.
    #[error("terminated")]
    Terminated,
    /// Bytes that break the protocol, with the parser's reason.
    #[error("{0}")]
    Protocol(#[from] crate::Error),
    /// The path manager refused the request (authentication, path, publisher).
    #[error(transparent)]
    Refused(Box<PathError>),
    /// The publisher's tracks could not be found.
    #[error(transparent)]
    Tracks(#[from] DetectError),
    /// Nothing of the stream can be written as FLV for this player.
    #[error(
        "the stream doesn't contain any supported codec, which are currently AV1, VP8, VP9, \
         H265, H264, Opus, MPEG-4 Audio (AAC), MPEG-1/2 Audio (MP3), G711, LPCM"
    )]
    NoSupportedCodecs,
    /// Writing into the path's stream failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
}

impl From<PathError> for CloseReason {
    fn from(e: PathError) -> CloseReason {
        CloseReason::Refused(Box::new(e))
    }
}

impl From<std::io::Error> for CloseReason {
    fn from(e: std::io::Error) -> CloseReason {
        CloseReason::Io(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_mediamtx_logs_them() {
        assert_eq!(CloseReason::Eof.to_string(), "EOF");
        assert_eq!(CloseReason::Terminated.to_string(), "terminated");
        assert_eq!(
            CloseReason::from(PathError::NoStream("cam".into())).to_string(),
            "no stream is available on path 'cam'"
        );
        assert_eq!(
            CloseReason::from(DetectError::NoTracks).to_string(),
            "no tracks found"
        );
    }
}

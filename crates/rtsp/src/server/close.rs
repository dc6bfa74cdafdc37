//! Why an RTSP connection ends: the reason its `closed: ...` line gives, in MediaMTX's
//! words, typed so the driver never closes on a bare string.

use ferromtx_core::{PathError, StreamError};

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
    /// Nothing arrived within `readTimeout`.
    #[error("read timeout")]
    ReadTimeout,
    /// The client did not take our data within `writeTimeout`.
    #[error("write timeout")]
    WriteTimeout,
    /// The stream ended or another publisher took the path over.
    #[error("terminated")]
    Terminated,
    /// Closed through the API (`/v3/rtspsessions/kick`).
    #[error("kicked")]
    Kicked,
    /// A message that can't be read, with the parser's reason.
    #[error("{0}")]
    Malformed(String),
    /// The path manager refused the request (authentication, path, publisher).
    #[error(transparent)]
    Refused(Box<PathError>),
    /// A request the session can't go on after, with what was wrong.
    #[error("{0}")]
    Session(&'static str),
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
            CloseReason::Session("no announced medias").to_string(),
            "no announced medias"
        );
    }
}

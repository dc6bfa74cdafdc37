//! RTSP authentication headers from the network: a camera's `WWW-Authenticate` (the RTSP
//! source answers it) and a client's `Authorization` (the server verifies it). Any text
//! gives a value or an error; a parsed value written out parses back to itself when the
//! text has no line breaks (they are replaced by spaces when written); the answer to a
//! challenge is an `Authorization` the server parses.

use ferromtx_rtsp::auth::{Challenge, Credentials, Sender};
use ferromtx_rtsp::message::Method;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let one_line = !text.contains(['\r', '\n']);
    if let Ok(challenge) = Challenge::parse(&text) {
        let written = challenge.to_string();
        let again = Challenge::parse(&written);
        if one_line {
            assert_eq!(again.as_ref(), Ok(&challenge), "{written:?} from {text:?}");
        }
    }
    if let Ok(credentials) = Credentials::parse(&text) {
        let written = credentials.to_string();
        let again = Credentials::parse(&written);
        if one_line {
            assert_eq!(
                again.as_ref(),
                Ok(&credentials),
                "{written:?} from {text:?}"
            );
        }
    }
    if let Ok(mut sender) = Sender::new([&*text], "user", "pa:ss\"word") {
        for method in [Method::Describe, Method::Setup] {
            let value = sender.authorization(&method, "rtsp://127.0.0.1:8554/path", "c0ffee");
            let parsed = Credentials::parse(&value);
            assert!(parsed.is_ok(), "{value:?} from {text:?}: {parsed:?}");
        }
    }
}

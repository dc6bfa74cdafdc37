//! What a WHIP or WHEP client sends before a session exists: the request path and the SDP
//! offer, read by our own negotiation (codec choice for publishers, audio codecs a reader
//! plays). Any text gives an answer; nothing panics, and each choice names a codec the
//! offer's text contains, and an endpoint's path is the request's.

use ferromtx_webrtc::http::{Route, route};
use ferromtx_webrtc::negotiation::{ingest_choices, offered_audio_codecs};

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lower = text.to_ascii_lowercase();
    for codec in offered_audio_codecs(&text) {
        assert!(lower.contains(&codec), "{codec:?} is not in the offer");
    }
    let _ = ingest_choices(&text);
    if let Some(line) = text.lines().next()
        && let Route::Endpoint { path, publish } = route(line)
    {
        let kind = if publish { "whip" } else { "whep" };
        assert_eq!(format!("/{path}/{kind}"), line);
    }
}

//! The RTMP server from the first byte a client sends: the handshake (C0, C1, C2), then
//! chunks. Any bytes, whole or split at a point the first byte chooses, never panic, and
//! both ways give the same events and the same outcome.

use std::time::Instant;

use ferromtx_rtmp::{ServerConfig, ServerConnection, ServerOutput};

fn run_pieces(pieces: &[&[u8]]) -> (Vec<String>, bool) {
    let now = Instant::now();
    let mut server = ServerConnection::new(ServerConfig::default(), now);
    let mut events = Vec::new();
    for piece in pieces {
        let failed = server.handle_input(now, piece).is_err();
        while let Some(out) = server.poll_output() {
            if let ServerOutput::Event(event) = out {
                events.push(format!("{event:?}"));
            }
        }
        if failed {
            return (events, true);
        }
    }
    (events, false)
}

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) * rest.len() / 255;
    let whole = run_pieces(&[rest]);
    assert_eq!(run_pieces(&[&rest[..cut], &rest[cut..]]), whole);
}

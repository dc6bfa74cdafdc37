//! RFC 4571 framing of ICE-TCP connections, fed from the network: any bytes, cut at any
//! point, give the same frames as in one piece; framing what came out gives it back.

use ferromtx_webrtc::rfc4571::{FrameDecoder, frame};

fn frames(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, usize) {
    let mut d = FrameDecoder::default();
    let mut out = Vec::new();
    for c in chunks {
        d.push(c);
        while let Some(f) = d.next_frame() {
            out.push(f.to_vec());
        }
    }
    (out, d.pending())
}

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(cut).min(rest.len());
    let whole = frames(&[rest]);
    assert_eq!(frames(&[&rest[..at], &rest[at..]]), whole);
    let bytes: Vec<u8> = whole
        .0
        .iter()
        .flat_map(|f| frame(f).expect("a frame fits"))
        .collect();
    assert_eq!(bytes[..], rest[..rest.len() - whole.1]);
}

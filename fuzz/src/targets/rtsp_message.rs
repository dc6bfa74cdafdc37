//! RTSP stream decoding: arbitrary bytes, pushed whole and split at a point chosen by
//! the first byte, give the same items; nothing panics and the buffer stays bounded.

use ferromtx_rtsp::message::{Decoder, Limits};

fn decode(chunks: &[&[u8]]) -> Vec<String> {
    let mut d = Decoder::with_limits(Limits {
        max_header_bytes: 4096,
        max_body_bytes: 4096,
    });
    let mut out = Vec::new();
    for chunk in chunks {
        d.push(chunk);
        while let Some(item) = d.pull() {
            out.push(format!("{item:?}"));
        }
        assert!(d.buffered() <= 4096 + 65_540);
    }
    out
}

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(first) % (rest.len() + 1);
    let whole = decode(&[rest]);
    let split = decode(&[&rest[..cut], &rest[cut..]]);
    assert_eq!(whole, split);
}

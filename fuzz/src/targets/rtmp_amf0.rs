//! AMF0 decoding: arbitrary bytes never panic; what decodes encodes to bytes that decode
//! to values encoding to the very same bytes.

use bytes::BytesMut;
use ferromtx_rtmp::amf0::{self, Amf0Value};

fn encode(values: &[Amf0Value]) -> BytesMut {
    let mut out = BytesMut::new();
    amf0::encode_all(values, &mut out);
    out
}

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let Ok(values) = amf0::decode_all(data) else {
        return;
    };
    let first = encode(&values);
    let again = amf0::decode_all(&first).expect("encoded values decode");
    assert_eq!(encode(&again), first);
}

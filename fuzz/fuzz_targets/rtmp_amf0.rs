//! AMF0 decoding: arbitrary bytes never panic; what decodes encodes to bytes that decode
//! to values encoding to the very same bytes.
#![no_main]

use bytes::BytesMut;
use ferromtx_rtmp::amf0::{self, Amf0Value};
use libfuzzer_sys::fuzz_target;

fn encode(values: &[Amf0Value]) -> BytesMut {
    let mut out = BytesMut::new();
    amf0::encode_all(values, &mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(values) = amf0::decode_all(data) else {
        return;
    };
    let first = encode(&values);
    let again = amf0::decode_all(&first).expect("encoded values decode");
    assert_eq!(encode(&again), first);
});

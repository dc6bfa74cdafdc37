//! RTP packet parsing robustness.

mod common;

use bytes::Bytes;
use common::XorShift;
use ferromtx_codec::rtp::{Extension, Packet};

#[test]
fn prefixes_and_garbage_never_panic_and_reparse() {
    let valid = Packet {
        marker: true,
        payload_type: 96,
        sequence_number: 1,
        timestamp: 2,
        ssrc: 3,
        csrc: vec![4, 5],
        extension: Some(Extension {
            profile: 0xbede,
            data: Bytes::from_static(&[0x10, 0xaa, 0, 0]),
        }),
        payload: Bytes::from_static(&[0x7c, 0x85, 1, 2, 3]),
    }
    .marshal();
    let mut inputs: Vec<Vec<u8>> = (0..=valid.len()).map(|n| valid[..n].to_vec()).collect();
    let mut rng = XorShift(3550);
    for i in 0..2000 {
        let mut b = rng.bytes(48);
        if let (true, Some(first)) = (i % 2 == 0, b.first_mut()) {
            // Version 2, keep the other flag bits random.
            *first = 0x80 | (*first & 0x3f);
        }
        inputs.push(b);
    }
    let mut parsed = 0;
    for input in inputs {
        if let Ok(pkt) = Packet::unmarshal(&Bytes::from(input)) {
            parsed += 1;
            let again = Packet::unmarshal(&pkt.marshal()).expect("marshalled packet parses");
            assert_eq!(again.payload, pkt.payload);
            assert_eq!(again.sequence_number, pkt.sequence_number);
        }
    }
    assert!(parsed > 0);
}

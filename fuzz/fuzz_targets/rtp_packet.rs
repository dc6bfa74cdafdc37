//! RTP packet parsing: any bytes give a packet or an error, and a parsed packet
//! survives marshal/unmarshal.
#![no_main]

use bytes::Bytes;
use ferromtx_codec::rtp::Packet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pkt) = Packet::unmarshal(&Bytes::copy_from_slice(data)) {
        let wire = pkt.marshal();
        let again = Packet::unmarshal(&wire).expect("re-parse of a marshalled packet");
        assert_eq!(again.payload, pkt.payload);
    }
});

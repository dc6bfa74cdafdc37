//! RTP packet parsing: any bytes give a packet or an error, and a parsed packet
//! survives marshal/unmarshal.

use bytes::Bytes;
use ferromtx_codec::rtp::Packet;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(pkt) = Packet::unmarshal(&Bytes::copy_from_slice(data)) {
        let wire = pkt.marshal();
        let again = Packet::unmarshal(&wire).expect("re-parse of a marshalled packet");
        assert_eq!(again.payload, pkt.payload);
    }
}

//! What the public ICE/UDP port does with any datagram before a session sees it: classify
//! it and route it by STUN USERNAME or by address. Never panics; a ufrag it finds survives
//! a binding request built from it.

use std::net::SocketAddr;

use ferromtx_webrtc::stun::{binding_request, binding_request_local_ufrag, classify};
use ferromtx_webrtc::udp_mux::{Demux, Route};

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let _ = classify(data);
    if let Some(ufrag) = binding_request_local_ufrag(data)
        && !ufrag.contains(':')
    {
        let again = binding_request(&format!("{ufrag}:remote"));
        assert_eq!(binding_request_local_ufrag(&again), Some(ufrag));
    }
    let mut demux = Demux::<u8>::default();
    demux.register("abcd".to_owned(), 1);
    let from: SocketAddr = "127.0.0.1:5000".parse().expect("address");
    match demux.route(from, data) {
        Route::Session(k) => assert_eq!(k, 1),
        Route::Unroutable => {}
    }
}

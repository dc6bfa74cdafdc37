//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::webrtc_offer`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(webrtc_offer);

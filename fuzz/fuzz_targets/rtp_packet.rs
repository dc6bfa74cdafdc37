//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::rtp_packet`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(rtp_packet);

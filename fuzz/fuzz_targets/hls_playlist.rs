//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::hls_playlist`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(hls_playlist);

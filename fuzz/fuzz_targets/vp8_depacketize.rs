//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::vp8_depacketize`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(vp8_depacketize);

//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::av1_depacketize`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(av1_depacketize);

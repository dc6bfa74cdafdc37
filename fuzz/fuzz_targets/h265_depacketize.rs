//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::h265_depacketize`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(h265_depacketize);

//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::mpeg1audio_depacketize`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(mpeg1audio_depacketize);

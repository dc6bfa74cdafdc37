//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::mpeg4audio_depacketize`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(mpeg4audio_depacketize);

//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::srt_packet`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(srt_packet);

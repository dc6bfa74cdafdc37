//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::rtmp_chunk`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(rtmp_chunk);

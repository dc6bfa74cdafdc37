//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::rtmp_publish`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(rtmp_publish);

//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::aac_transcode`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(aac_transcode);

//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::rtsp_message`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(rtsp_message);

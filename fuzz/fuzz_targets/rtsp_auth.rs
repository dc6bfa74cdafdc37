//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::rtsp_auth`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(rtsp_auth);

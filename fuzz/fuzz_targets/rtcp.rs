//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::rtcp`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(rtcp);

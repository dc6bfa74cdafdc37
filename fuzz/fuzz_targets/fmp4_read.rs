//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::fmp4_read`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(fmp4_read);

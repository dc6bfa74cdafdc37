//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::proxy_header`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(proxy_header);

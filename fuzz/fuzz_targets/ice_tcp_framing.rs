//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::ice_tcp_framing`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(ice_tcp_framing);

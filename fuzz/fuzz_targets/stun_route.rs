//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::stun_route`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(stun_route);

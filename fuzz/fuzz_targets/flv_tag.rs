//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::flv_tag`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(flv_tag);

//! cargo-fuzz target; the body is `ferromtx_fuzz::targets::mpegts_demux`.
#![cfg_attr(fuzzing, no_main)]
ferromtx_fuzz::fuzz_target!(mpegts_demux);

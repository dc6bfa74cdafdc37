#![allow(dead_code)]

#[path = "../../src/xorshift.rs"]
mod xorshift;

pub use xorshift::XorShift;

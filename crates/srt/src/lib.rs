//! SRT (Secure Reliable Transport), sans-IO.
#![forbid(unsafe_code)]

pub mod crypto;
pub mod handshake;
pub mod key_material;
pub mod loss_list;
pub mod packet;
pub mod seq;

//! RTMP (Adobe RTMP 1.0) with Enhanced RTMP v1/v2: wire formats and sans-IO state
//! machines.
#![forbid(unsafe_code)]

pub mod amf0;
pub mod chunk;
pub mod flv;
pub mod handshake;
pub mod media;
pub mod message;

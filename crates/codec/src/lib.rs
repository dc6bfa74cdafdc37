//! Codec bitstreams and RTP (de)packetizers. Pure code: no sockets, no clocks.
#![forbid(unsafe_code)]

pub mod format;
pub mod frame;
pub mod rtp;

pub use format::Format;
pub use frame::Frame;

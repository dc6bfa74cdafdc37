//! Codec bitstreams and RTP (de)packetizers. Pure code: no sockets, no clocks.
//!
//! Depacketizers follow a push/pull shape: [`Depacketizer::push`] one RTP packet, then
//! [`Depacketizer::pull`] until it returns `None`. Packetizers turn one [`Frame`] into
//! the RTP packets that carry it.
#![forbid(unsafe_code)]

pub mod av1;
pub mod bitstream;
pub mod depacketizer;
pub mod fmp4;
pub mod format;
pub mod frame;
pub mod g711;
pub mod g722;
pub mod generic;
pub mod h264;
pub mod h265;
pub mod lpcm;
pub mod mpeg1audio;
pub mod mpeg4audio;
pub mod mpegts;
pub mod opus;
pub mod packetizer;
pub mod reorder;
pub mod rtp;
pub mod sdp;
pub mod vp8;
pub mod vp9;

pub use depacketizer::{DepacketizeError, Depacketizer, depacketizer};
pub use format::Format;
pub use frame::Frame;
pub use packetizer::{PacketizeError, Packetizer, packetizer};

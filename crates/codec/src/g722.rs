//! G.722 in RTP (RFC 3551 4.5.2): 16 kHz audio at 64 kbit/s whose RTP clock runs at
//! 8000 Hz for historical reasons, so one payload byte (two samples) is one clock tick.
//! Packets are split with [`crate::lpcm::SampleSplitter`] and received with
//! [`crate::generic::GenericDepacketizer`].

/// Static payload type of G722.
pub const PAYLOAD_TYPE: u8 = 9;
/// RTP clock rate of G722 (RFC 3551 4.5.2).
pub const CLOCK_RATE: u32 = 8_000;

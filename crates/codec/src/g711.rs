//! G.711 (PCMU / PCMA) in RTP (RFC 3551 4.5.14): one byte per sample and channel,
//! 8 kHz by default. Packets are plain sample runs, split with
//! [`crate::lpcm::SampleSplitter`] and received with [`crate::generic::GenericDepacketizer`].

/// Static payload type of PCMU (mu-law).
pub const PAYLOAD_TYPE_PCMU: u8 = 0;
/// Static payload type of PCMA (A-law).
pub const PAYLOAD_TYPE_PCMA: u8 = 8;

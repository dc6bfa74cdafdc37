//! Audio transcoding for WebRTC readers: a stream's AAC (MPEG-4 Audio), MP3 (MPEG-1/2 audio),
//! G.711 or LPCM track decoded, resampled to 48 kHz, mixed to mono or stereo and encoded to
//! Opus in 20 ms frames.
//!
//! Pure and sans-IO like the codec crate: a [`Transcoder`] takes the frames of one track with
//! their presentation timestamps and returns Opus packets with 48 kHz timestamps derived from
//! the input's, so audio stays aligned with video. It never touches a clock or a socket.
//!
//! Decoders: [`symphonia_codec_aac`] (pure Rust, AAC-LC), [`symphonia_bundle_mp3`] (pure
//! Rust, MPEG-1/2 audio layers I-III) and G.711/LPCM expanded here.
//! Encoder: libopus through the `opus` crate (the only unsafe code is in those bindings).
#![forbid(unsafe_code)]

pub mod decode;
pub mod encode;
pub mod resample;
pub mod transcoder;

pub use decode::{DecodeError, Decoder};
pub use encode::{EncodeError, OPUS_FRAME, OPUS_RATE, OpusEncoder};
pub use resample::Resampler;
pub use transcoder::{OpusPacket, TranscodeError, Transcoder, transcodable};

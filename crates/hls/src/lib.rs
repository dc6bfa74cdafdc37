//! HLS and Low-Latency HLS muxing, sans-IO: [`Muxer`] takes the access units of a stream's
//! tracks and keeps segments, parts, init segments and playlists as MediaMTX serves them;
//! an HTTP driver maps a request path to [`Muxer::get`] and sends the [`Answer`].
//!
//! File names are MediaMTX's: `index.m3u8`; one media playlist per track in the fMP4
//! variants (`video1_stream.m3u8`, `audio2_stream.m3u8`: kind and 1-based track number) or
//! `main_stream.m3u8` for MPEG-TS; `<prefix>_video1_init.mp4`, `<prefix>_video1_seg7.mp4`,
//! `<prefix>_video1_part35.mp4`, `<prefix>_main_seg3.ts`, with a random prefix per muxer.
//!
//! Blocking requests: an answer of [`Answer::Wait`] means "not yet"; the driver waits for
//! [`Muxer::generation`] to change (it does whenever a part or segment is finished) and
//! asks again, giving up after its own timeout. Nothing here reads a clock.
#![forbid(unsafe_code)]

mod config;
pub mod delivery;
mod mpegts;
mod muxer;
mod playlist;
mod stream;
mod track;

pub use config::{Config, ConfigError, Variant};
pub use delivery::{Directives, Position, Readiness};
pub use mpegts::{TsError, TsWriter};
pub use muxer::{Answer, Muxer, PlaylistAnswer, Resource, WriteError};

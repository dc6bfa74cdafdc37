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
//! asks again, giving up after its own timeout. Nothing in the muxer reads a clock.
//!
//! Around the muxer: [`DtsExtractor`] (decoding timestamps for RTP video), the
//! [`CodecTsWriter`] of the `mpegts` variant, the HTTP server and its component
//! ([`register`]), the player page with hls.js, and the HLS pull source ([`HlsSource`]).
#![forbid(unsafe_code)]

mod component;
mod config;
pub mod delivery;
mod dts;
mod mpegts;
mod muxer;
mod page;
mod playlist;
pub mod server;
pub mod source;
mod stream;
mod track;
mod ts_writer;

pub use component::{HTTP_KIND, Hls, HlsSettings, register};
pub use dts::DtsExtractor;
pub use page::HLS_JS_VERSION;
pub use server::{HlsServer, ServerConfig};
pub use source::HlsSource;
pub use ts_writer::CodecTsWriter;

pub use config::{Config, ConfigError, Variant};
pub use delivery::{Directives, Position, Readiness};
pub use mpegts::{TsError, TsWriter};
pub use muxer::{Answer, Muxer, PlaylistAnswer, Resource, WriteError};

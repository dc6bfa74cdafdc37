//! Recording to disk and the playback server, as MediaMTX does them.
//!
//! - A recorder per recorded path ([`recording`]): a reader of the path's stream writing
//!   fMP4 segments laid out as MediaMTX writes them ([`fmp4_writer`]) or MPEG-TS segments
//!   through the shared muxer ([`ts_writer`]), named by `recordPath` ([`path_format`]),
//!   with the `runOnRecordSegmentCreate/Complete` hooks.
//! - The [`cleaner`] module: `recordDeleteAfter`.
//! - The [`store`] module: the segments on disk, for the playback server and `/v3/recordings`.
//! - The [`playback`] module: the playback server (`/list`, `/get`).
//!
//! The segment writers are sans-IO: they take samples and hand out file operations
//! ([`segment::Output`]); the recorder's driver carries them out.
#![forbid(unsafe_code)]

pub mod cleaner;
pub mod fmp4_writer;
pub mod mp4;
pub mod path_format;
pub mod playback;
pub mod recorder;
pub mod recording;
pub mod segment;
pub mod store;
mod track;
pub mod ts_writer;

use ferromtx_api::component;
use ferromtx_api::component::Registration;

/// Registers the record cleaner, the playback server and recording, in MediaMTX's
/// start order.
pub fn register(r: &mut Registration) {
    r.component(component::<cleaner::Cleaner>());
    r.component(component::<playback::Playback>());
    r.component(component::<recording::Recording>());
}

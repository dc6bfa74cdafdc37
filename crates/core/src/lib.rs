//! Paths, streams and their zero-copy fan-out to readers, and the external-command hooks.
//!
//! A publisher writes [`Unit`]s into a [`Stream`]; every [`Reader`] follows the stream's
//! bounded ring with its own cursor, so adding a reader costs a cursor, not a queue. The
//! [`PathManager`] maps names to configuration, authenticates, and owns the live paths.
#![forbid(unsafe_code)]

pub mod externalcmd;
pub mod hooks;
pub mod ingest;
pub mod keyframe;
pub mod observer;
pub mod packets;
pub mod path;
pub mod path_manager;
pub mod reader;
mod ring;
pub mod source;
pub mod stream;
pub mod unit;
pub mod view;

pub use hooks::Described;
pub use ingest::{Anomalies, IngestOptions, RtpIngest, UnitIngest};
pub use keyframe::{KeyframeGate, KeyframeRequests};
pub use observer::{AvailableStream, Observation, StreamObserver};
pub use packets::{Fitted, Repacketizer, RtpView};
pub use path::{PathError, PathInfo, Publisher, ReaderHandle};
pub use path_manager::{PathManager, PathRequest};
pub use reader::{Reader, TryNext};
pub use source::{SourceContext, SourceError, SourceRegistry, StaticSource};
pub use stream::{Stream, StreamError, Track};
pub use unit::Unit;
pub use view::{View, ViewHandle};

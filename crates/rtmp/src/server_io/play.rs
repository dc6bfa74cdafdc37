//! A player: its reader of the path's stream, fed from the stream's FLV view (tags made
//! once per stream, shared by every player that gets the same tracks). Per player there
//! is only the cursor, the chunking of shared tag bodies and the send.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ferromtx_core::{TryNext, Unit, ViewHandle};
use tokio::io::AsyncReadExt;

use super::close::CloseReason;
use super::conn::Conn;
use super::info::ConnState;
use crate::StreamRequest;
use crate::media::MediaKind;
use crate::view::{FlvView, Selection};

/// Units written to the socket in one go when more are ready.
const BATCH: usize = 64;

/// What a player has been sent.
struct Progress {
    view: ViewHandle<FlvView>,
    /// Video tracks that had their first key frame (earlier frames are not sent).
    started: BTreeSet<u8>,
    /// The configuration last sent per video track.
    configs: BTreeMap<u8, Bytes>,
    discarded: u64,
}

impl Progress {
    /// Writes one unit's tags to the player's connection state (not yet to the socket).
    fn write(&mut self, conn: &mut Conn, unit: &Unit) -> Result<(), CloseReason> {
        let Some(out) = unit.view(&self.view) else {
            return Ok(());
        };
        if out.kind == MediaKind::Video && !self.started.contains(&out.flv_track) {
            if !out.keyframe {
                return Ok(());
            }
            self.started.insert(out.flv_track);
        }
        if let Some(config) = &out.config
            && self.configs.get(&out.flv_track) != Some(&config.body)
        {
            conn.machine.write_tag(config)?;
            self.configs.insert(out.flv_track, config.body.clone());
        }
        for tag in &out.tags {
            conn.machine.write_tag(tag)?;
        }
        Ok(())
    }
}

enum Event {
    Unit(Option<Arc<Unit>>),
    Read(std::io::Result<usize>),
    Stop,
}

/// Serves a play request until the player leaves or the stream ends.
pub(super) async fn run(conn: &mut Conn, req: StreamRequest) -> CloseReason {
    let mut handle = match conn.ctx.paths.add_reader(conn.path_request(&req)).await {
        Ok(h) => h,
        Err(e) => return conn.refuse(e).await,
    };
    let fourccs = conn
        .machine
        .connect_info()
        .map(|c| c.fourcc_list.clone())
        .unwrap_or_default();
    let stream = Arc::clone(handle.stream());
    let described = stream.described_tracks();
    let selection = Selection::for_player(&described, &fourccs);
    if selection.is_empty() {
        return CloseReason::NoSupportedCodecs;
    }
    if let Err(e) = conn.machine.accept_play() {
        return e.into();
    }
    let mut progress = Progress {
        view: stream.view::<FlvView>(selection.clone()),
        started: BTreeSet::new(),
        configs: BTreeMap::new(),
        discarded: 0,
    };
    let mut first = vec![selection.metadata()];
    for (track, kind, tag) in selection.configs(&described) {
        if kind == MediaKind::Video {
            progress.configs.insert(track, tag.body.clone());
        }
        first.push(tag);
    }
    for tag in &first {
        if let Err(e) = conn.machine.write_tag(tag) {
            return e.into();
        }
    }
    if let Err(reason) = conn.flush().await {
        return reason;
    }
    let user = req.user().unwrap_or_default();
    conn.entry
        .set_stream(ConnState::Read, &req.path.path, &req.path.query, &user);
    tracing::info!(
        "is reading from path '{}', {}",
        req.path.path,
        ferromtx_core::stream::tracks_info(&selection.names(&described))
    );
    // The player starts at the next key frame: ask the publisher for one.
    stream.request_keyframe(Instant::now());
    let mut sent = conn.machine.bytes_sent();
    loop {
        conn.events.clear();
        let event = tokio::select! {
            u = handle.reader().next() => Event::Unit(u),
            r = conn.reader.read(&mut conn.rbuf) => Event::Read(r),
            () = conn.entry.kick.notified() => Event::Stop,
            () = conn.cancel.cancelled() => Event::Stop,
        };
        match event {
            Event::Unit(None) | Event::Stop => return CloseReason::Terminated,
            Event::Read(Err(e)) => return e.into(),
            Event::Read(Ok(n)) => {
                if let Err(reason) = conn.received(n).await {
                    return reason;
                }
            }
            Event::Unit(Some(unit)) => {
                if let Err(reason) = progress.write(conn, &unit) {
                    return reason;
                }
                // More units already waiting go out in the same write.
                let now = Instant::now();
                for _ in 1..BATCH {
                    match handle.reader().try_next(tokio::time::Instant::now()) {
                        TryNext::Unit(unit) => {
                            if let Err(reason) = progress.write(conn, &unit) {
                                return reason;
                            }
                        }
                        TryNext::Closed => return CloseReason::Terminated,
                        TryNext::Pending => break,
                    }
                }
                if let Err(reason) = conn.flush().await {
                    return reason;
                }
                let total = conn.machine.bytes_sent();
                handle.reader().add_bytes_sent(total - sent);
                sent = total;
                let discarded = handle.reader().discarded();
                if discarded != progress.discarded {
                    // It skipped ahead to a key frame; others come sooner if asked.
                    progress.discarded = discarded;
                    conn.entry.set_discarded(discarded);
                    stream.request_keyframe(now);
                }
            }
        }
    }
}

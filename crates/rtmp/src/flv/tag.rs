//! FLV tags: their kinds, what reading one gives, the reader that keeps per-track state,
//! and the Enhanced RTMP pieces audio and video share (ModEx prefixes, multitrack).

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};

use super::{FlvError, audio_tag, invalid, truncated, video_tag};
use crate::amf0::{self, Amf0Value};
use crate::media::{Codec, FourCc, Media, MediaKind, TrackConfig, TrackId};

/// FLV tag types, equal to the RTMP message types that carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagKind {
    Audio,
    Video,
    Script,
}

impl TagKind {
    /// The FLV TagType / RTMP message type id.
    pub fn type_id(self) -> u8 {
        match self {
            TagKind::Audio => 8,
            TagKind::Video => 9,
            TagKind::Script => 18,
        }
    }
}

/// One tag: kind, timestamp and body (the RTMP message payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlvTag {
    pub kind: TagKind,
    pub timestamp_ms: u32,
    pub body: Bytes,
}

impl FlvTag {
    /// A script data tag (`onMetaData` and its object, for example).
    pub fn script(timestamp_ms: u32, values: &[Amf0Value]) -> Self {
        let mut out = BytesMut::new();
        amf0::encode_all(values, &mut out);
        FlvTag {
            kind: TagKind::Script,
            timestamp_ms,
            body: out.freeze(),
        }
    }
}

impl FlvTag {
    /// The tag announcing a track's configuration; `None` for codecs that have no
    /// sequence header in the chosen style (legacy MP3, G711, LPCM).
    pub fn config(
        config: &TrackConfig,
        timestamp_ms: u32,
        style: TagStyle,
    ) -> Result<Option<Self>, FlvError> {
        Ok(match config.params.codec().kind() {
            MediaKind::Video => Some(FlvTag {
                kind: TagKind::Video,
                timestamp_ms,
                body: video_tag::write_config(config, style)?,
            }),
            MediaKind::Audio => audio_tag::write_config(config, style)?.map(|body| FlvTag {
                kind: TagKind::Audio,
                timestamp_ms,
                body,
            }),
        })
    }

    /// The tag carrying a frame.
    pub fn frame(media: &Media, style: TagStyle) -> Result<Self, FlvError> {
        let (kind, body) = match media.codec.kind() {
            MediaKind::Video => (TagKind::Video, video_tag::write_frame(media, style)?),
            MediaKind::Audio => (TagKind::Audio, audio_tag::write_frame(media, style)?),
        };
        Ok(FlvTag {
            kind,
            timestamp_ms: media.timestamp_ms,
            body,
        })
    }

    /// The tag ending a track's sequence; `None` where the legacy form has none.
    pub fn sequence_end(
        track: u8,
        codec: Codec,
        timestamp_ms: u32,
        style: TagStyle,
    ) -> Result<Option<Self>, FlvError> {
        Ok(match codec.kind() {
            MediaKind::Video => Some(FlvTag {
                kind: TagKind::Video,
                timestamp_ms,
                body: video_tag::write_end(track, codec, style)?,
            }),
            MediaKind::Audio => audio_tag::write_end(track, codec, style)?.map(|body| FlvTag {
                kind: TagKind::Audio,
                timestamp_ms,
                body,
            }),
        })
    }

    /// One Enhanced RTMP many-tracks tag with a frame of each track: all of one kind,
    /// at the timestamp of the first.
    pub fn multitrack(frames: &[Media]) -> Result<Self, FlvError> {
        let first = frames
            .first()
            .ok_or(invalid("multitrack body", "no frames"))?;
        let kind = first.codec.kind();
        if frames.iter().any(|m| m.codec.kind() != kind) {
            return Err(invalid("multitrack body", "audio and video mixed"));
        }
        let (kind, body) = match kind {
            MediaKind::Video => (TagKind::Video, video_tag::write_frames(frames)?),
            MediaKind::Audio => (TagKind::Audio, audio_tag::write_frames(frames)?),
        };
        Ok(FlvTag {
            kind,
            timestamp_ms: first.timestamp_ms,
            body,
        })
    }
}

/// What a tag means.
#[derive(Debug, Clone, PartialEq)]
pub enum TagItem {
    /// A sequence header / sequence start.
    Config(TrackConfig),
    Frame(Media),
    /// The end of a track's sequence.
    SequenceEnd(TrackId),
    /// Enhanced RTMP video metadata (such as `colorInfo`), name/value pairs.
    VideoMetadata {
        track: u8,
        values: Vec<Amf0Value>,
    },
}

/// How a writer lays out tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagStyle {
    /// The legacy headers for track 0 of H264, AAC, MP3, G711 and LPCM (what every
    /// player reads), Enhanced RTMP for everything else.
    #[default]
    Classic,
    /// Enhanced RTMP FourCC headers for every codec that has a FourCC.
    Enhanced,
}

/// Enhanced RTMP multitrack layouts.
pub(crate) const ONE_TRACK: u8 = 0;
pub(crate) const MANY_TRACKS: u8 = 1;
pub(crate) const MANY_TRACKS_MANY_CODECS: u8 = 2;

/// Reads tags into [`TagItem`]s, remembering per track what later tags need (the NAL
/// unit length size announced by an H264/H265 configuration record). At most 256
/// tracks per kind exist, so the state is bounded.
#[derive(Debug, Default)]
pub struct TagReader {
    length_sizes: BTreeMap<TrackId, u8>,
}

impl TagReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads an audio or video tag body, appending what it means to `out` (nothing for
    /// silence, command frames and packets with no media).
    pub fn read(
        &mut self,
        kind: TagKind,
        timestamp_ms: u32,
        body: &Bytes,
        out: &mut Vec<TagItem>,
    ) -> Result<(), FlvError> {
        match kind {
            TagKind::Audio => audio_tag::read(timestamp_ms, body, out),
            TagKind::Video => video_tag::read(self, timestamp_ms, body, out),
            TagKind::Script => Ok(()),
        }
    }

    pub(crate) fn length_size(&self, track: TrackId) -> u8 {
        self.length_sizes.get(&track).copied().unwrap_or(4)
    }

    pub(crate) fn set_length_size(&mut self, track: TrackId, size: u8) {
        self.length_sizes.insert(track, size);
    }
}

/// A cursor over a tag body.
pub(crate) struct Cursor<'a> {
    pub body: &'a Bytes,
    pub pos: usize,
    pub what: &'static str,
}

impl<'a> Cursor<'a> {
    pub fn new(body: &'a Bytes, what: &'static str) -> Self {
        Cursor { body, pos: 0, what }
    }

    pub fn u8(&mut self) -> Result<u8, FlvError> {
        let b = *self.body.get(self.pos).ok_or(truncated(self.what))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn take(&mut self, n: usize) -> Result<Bytes, FlvError> {
        let end = self.pos.checked_add(n).ok_or(truncated(self.what))?;
        if end > self.body.len() {
            return Err(truncated(self.what));
        }
        let b = self.body.slice(self.pos..end);
        self.pos = end;
        Ok(b)
    }

    pub fn u24(&mut self) -> Result<u32, FlvError> {
        let b = self.take(3)?;
        Ok((u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]))
    }

    pub fn fourcc(&mut self) -> Result<FourCc, FlvError> {
        let b = self.take(4)?;
        Ok(FourCc([b[0], b[1], b[2], b[3]]))
    }

    pub fn rest(&mut self) -> Bytes {
        let b = self.body.slice(self.pos.min(self.body.len())..);
        self.pos = self.body.len();
        b
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.body.len()
    }
}

/// Skips ModEx prefixes (packet type 7): returns the real packet type. Each prefix
/// consumes at least two bytes, so the loop ends with the input.
pub(crate) fn skip_mod_ex(c: &mut Cursor<'_>, mut packet_type: u8) -> Result<u8, FlvError> {
    const MOD_EX: u8 = 7;
    while packet_type == MOD_EX {
        let mut size = usize::from(c.u8()?) + 1;
        if size == 256 {
            let b = c.take(2)?;
            size = usize::from(u16::from_be_bytes([b[0], b[1]])) + 1;
        }
        // The only defined modifier is a nanosecond timestamp offset, below the
        // millisecond precision media is kept at.
        c.take(size)?;
        packet_type = c.u8()? & 0x0f;
    }
    Ok(packet_type)
}

/// One track's packet inside an (optionally multitrack) Enhanced RTMP tag.
pub(crate) struct TrackPacket {
    pub fourcc: FourCc,
    pub track: u8,
    pub body: Bytes,
}

/// Walks the tracks of an Enhanced RTMP body whose header (up to the packet type) is
/// consumed: the FourCC for a single track, or the multitrack layout.
pub(crate) fn tracks(
    c: &mut Cursor<'_>,
    multitrack: Option<u8>,
    mut f: impl FnMut(TrackPacket) -> Result<(), FlvError>,
) -> Result<(), FlvError> {
    let Some(layout) = multitrack else {
        let fourcc = c.fourcc()?;
        return f(TrackPacket {
            fourcc,
            track: 0,
            body: c.rest(),
        });
    };
    if layout > MANY_TRACKS_MANY_CODECS {
        return Err(invalid(c.what, "unknown multitrack type"));
    }
    let mut fourcc = if layout == MANY_TRACKS_MANY_CODECS {
        FourCc([0; 4])
    } else {
        c.fourcc()?
    };
    loop {
        if layout == MANY_TRACKS_MANY_CODECS {
            fourcc = c.fourcc()?;
        }
        let track = c.u8()?;
        let body = if layout == ONE_TRACK {
            c.rest()
        } else {
            let size = c.u24()? as usize;
            c.take(size)?
        };
        f(TrackPacket {
            fourcc,
            track,
            body,
        })?;
        if layout == ONE_TRACK || c.at_end() {
            return Ok(());
        }
    }
}

/// Appends an Enhanced RTMP body for one track: the FourCC and payload, inside a
/// one-track multitrack wrapper for tracks other than 0. `first` is the header byte
/// without its packet type; `multitrack_type` the packet type announcing multitrack.
pub(crate) fn put_ex_body(
    out: &mut BytesMut,
    first: u8,
    multitrack_type: u8,
    packet_type: u8,
    fourcc: FourCc,
    track: u8,
    payload: &[&[u8]],
) {
    if track == 0 {
        out.put_u8(first | packet_type);
        out.put_slice(&fourcc.0);
    } else {
        out.put_u8(first | multitrack_type);
        out.put_u8((ONE_TRACK << 4) | packet_type);
        out.put_slice(&fourcc.0);
        out.put_u8(track);
    }
    for p in payload {
        out.put_slice(p);
    }
}

/// Appends a many-tracks body: every track's packet, sizes prefixed, with one FourCC
/// when all tracks share a codec and one per track otherwise.
pub(crate) fn put_many_tracks(
    out: &mut BytesMut,
    first: u8,
    multitrack_type: u8,
    packet_type: u8,
    tracks: &[(FourCc, u8, Vec<u8>)],
) -> Result<(), FlvError> {
    let shared = tracks.windows(2).all(|w| w[0].0 == w[1].0);
    let layout = if shared {
        MANY_TRACKS
    } else {
        MANY_TRACKS_MANY_CODECS
    };
    out.put_u8(first | multitrack_type);
    out.put_u8((layout << 4) | packet_type);
    if shared && let Some((fourcc, _, _)) = tracks.first() {
        out.put_slice(&fourcc.0);
    }
    for (fourcc, track, payload) in tracks {
        if !shared {
            out.put_slice(&fourcc.0);
        }
        out.put_u8(*track);
        let size = u32::try_from(payload.len())
            .ok()
            .filter(|s| *s <= 0x00ff_ffff)
            .ok_or(invalid("multitrack body", "track payload over 16 MiB"))?;
        out.put_slice(&size.to_be_bytes()[1..]);
        out.put_slice(payload);
    }
    Ok(())
}

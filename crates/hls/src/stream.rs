//! One media playlist ("stream"): its segments, parts, init segment and ids. The muxer
//! cuts; this keeps what was cut and answers lookups by file name.

use std::collections::VecDeque;
use std::time::SystemTime;

use bytes::Bytes;

use crate::delivery::Position;

/// A finished part (LL-HLS) or, in the `fmp4` variant, a whole segment's fragment.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) duration_ns: i64,
    pub(crate) independent: bool,
    pub(crate) bytes: Bytes,
}

#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) name: String,
    pub(crate) start_ntp: SystemTime,
    pub(crate) duration_ns: i64,
    pub(crate) parts: Vec<Part>,
    /// The segment's bytes: its parts' bytes one after the other (fMP4), or the TS data.
    pub(crate) chunks: Vec<Bytes>,
    pub(crate) size: u64,
    /// The driver keeps the bytes (`hlsDirectory`); `chunks` are empty then.
    pub(crate) stored: bool,
}

/// A playlist entry: a segment, or one of the gaps LL-HLS starts with (iOS needs a
/// playlist of several segments before it plays).
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    Gap { duration_ns: i64 },
    Segment(Segment),
}

impl Entry {
    pub(crate) fn duration_ns(&self) -> i64 {
        match self {
            Entry::Gap { duration_ns } => *duration_ns,
            Entry::Segment(s) => s.duration_ns,
        }
    }
}

/// The segment being written.
#[derive(Debug)]
pub(crate) struct OpenSegment {
    pub(crate) id: u64,
    pub(crate) start_ns: i64,
    pub(crate) start_ntp: SystemTime,
    pub(crate) parts: Vec<Part>,
    pub(crate) size: u64,
    /// MPEG-TS variant: the segment's packets so far.
    pub(crate) ts: Vec<u8>,
}

/// The part being written: per track of the stream, the DTS of its first sample and its
/// samples.
#[derive(Debug)]
pub(crate) struct OpenPart {
    pub(crate) id: u64,
    pub(crate) start_ns: i64,
    pub(crate) independent: bool,
    pub(crate) tracks: Vec<Option<(u64, Vec<ferromtx_codec::fmp4::Sample>)>>,
}

#[derive(Debug)]
pub(crate) struct Stream {
    /// "video1", "audio2" (track kind and 1-based track number) or "main" (MPEG-TS).
    pub(crate) id: String,
    /// Track indexes (into the muxer's tracks) in this stream, in fMP4 track-ID order.
    pub(crate) tracks: Vec<usize>,
    pub(crate) leading: bool,
    pub(crate) rendition: bool,
    pub(crate) default: bool,
    pub(crate) all_audio: bool,
    pub(crate) entries: VecDeque<Entry>,
    pub(crate) next_segment: Option<OpenSegment>,
    pub(crate) next_part: Option<OpenPart>,
    pub(crate) next_segment_id: u64,
    pub(crate) next_part_id: u64,
    pub(crate) init: Option<Bytes>,
    pub(crate) deleted: u64,
    pub(crate) target_duration: u64,
    pub(crate) part_target_ns: i64,
}

impl Stream {
    pub(crate) fn playlist_name(&self) -> String {
        format!("{}_stream.m3u8", self.id)
    }

    /// The muxer has something to list: two segments (`fmp4`), one entry otherwise.
    pub(crate) fn has_content(&self, min_entries: usize) -> bool {
        self.entries.len() >= min_entries
    }

    pub(crate) fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Segment(s) => Some(s),
            Entry::Gap { .. } => None,
        })
    }

    pub(crate) fn position(&self) -> Position {
        let next_parts = self
            .next_segment
            .as_ref()
            .map_or(0, |s| s.parts.len() as u64);
        let last_parts = match self.entries.back() {
            Some(Entry::Segment(s)) => s.parts.len() as u64,
            _ => 0,
        };
        Position {
            next_msn: self.next_segment_id,
            next_parts,
            last_parts,
            part_target_ms: (self.part_target_ns / 1_000_000).max(0) as u64,
        }
    }

    /// Bytes of the file `name` (a segment or a part) if the stream still holds it.
    pub(crate) fn find_segment(&self, name: &str) -> Option<&Segment> {
        self.segments().find(|s| s.name == name)
    }

    pub(crate) fn find_part(&self, name: &str) -> Option<&Part> {
        self.segments()
            .flat_map(|s| &s.parts)
            .chain(self.next_segment.iter().flat_map(|s| &s.parts))
            .find(|p| p.name == name)
    }

    /// Largest part duration listed, rounded up to the millisecond.
    pub(crate) fn compute_part_target_ns(&self) -> i64 {
        let longest = self
            .segments()
            .flat_map(|s| &s.parts)
            .chain(self.next_segment.iter().flat_map(|s| &s.parts))
            .map(|p| p.duration_ns)
            .max()
            .unwrap_or(0);
        (longest + 999_999) / 1_000_000 * 1_000_000
    }

    /// Largest segment duration, rounded to the nearest second (at least 1).
    pub(crate) fn compute_target_duration(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| ((e.duration_ns() + 500_000_000) / 1_000_000_000).max(1) as u64)
            .max()
            .unwrap_or(1)
    }
}

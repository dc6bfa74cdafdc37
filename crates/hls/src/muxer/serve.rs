//! The read side of the muxer: playlists and files by name, for the HTTP driver.

use bytes::Bytes;

use super::{Answer, Muxer, PlaylistAnswer, Resource};
use crate::config::Variant;
use crate::delivery::{Directives, Readiness};
use crate::playlist::{self, MediaParams, Rendition, VariantInfo};
use crate::stream::{Entry, Stream};

impl Muxer {
    fn min_entries(&self) -> usize {
        if self.config.variant == Variant::Fmp4 {
            2
        } else {
            1
        }
    }

    /// `index.m3u8`. `query` (raw, without `?`) is appended to the media playlist URIs.
    pub fn multivariant_playlist(&self, query: &str) -> Answer {
        let Some(first) = self.streams.first() else {
            return Answer::NotFound;
        };
        if !first.has_content(self.min_entries()) {
            return Answer::Wait;
        }
        let query = Directives::parse(query)
            .map(|d| d.query)
            .unwrap_or_default();
        let with_query = |uri: String| {
            if query.is_empty() {
                uri
            } else {
                format!("{uri}?{query}")
            }
        };
        let (mut max_bw, mut bytes, mut ns) = (0u64, 0u64, 0i64);
        for seg in first.segments().filter(|s| s.duration_ns > 0) {
            max_bw = max_bw
                .max((8 * u128::from(seg.size) * 1_000_000_000 / seg.duration_ns as u128) as u64);
            bytes += seg.size;
            ns += seg.duration_ns;
        }
        let average = if ns > 0 {
            (8 * u128::from(bytes) * 1_000_000_000 / ns as u128) as u64
        } else {
            0
        };
        let mut info = VariantInfo {
            bandwidth: max_bw,
            average_bandwidth: average,
            codecs: Vec::new(),
            resolution: None,
            frame_rate: None,
            audio_group: false,
            uri: String::new(),
        };
        let mut renditions = Vec::new();
        for s in &self.streams {
            for t in s.tracks.iter().filter_map(|i| self.tracks[*i].as_ref()) {
                let c = t.codec.codec_string();
                if !c.is_empty() && !info.codecs.contains(&c) {
                    info.codecs.push(c);
                }
                if let Some((size, fps)) = t.codec.picture() {
                    info.resolution = Some(size);
                    info.frame_rate = fps;
                }
            }
            let uri = with_query(s.playlist_name());
            if s.leading {
                info.uri = uri.clone();
            }
            if s.rendition {
                info.audio_group = true;
                renditions.push(Rendition {
                    name: s.id.clone(),
                    default: s.default,
                    uri: (!s.leading).then_some(uri),
                });
            }
        }
        let version = if self.config.variant == Variant::MpegTs {
            3
        } else {
            10
        };
        Answer::Ready(Resource::text(playlist::multivariant(
            version,
            &renditions,
            &info,
        )))
    }

    /// A media playlist (`video1_stream.m3u8`, ...) with the request's raw query: blocking
    /// reload (`_HLS_msn`, `_HLS_part`) and delta updates (`_HLS_skip`) in `lowLatency`.
    pub fn media_playlist(&self, name: &str, query: &str) -> PlaylistAnswer {
        let Some(stream) = self.streams.iter().find(|s| s.playlist_name() == name) else {
            return Answer::NotFound;
        };
        let ll = self.config.variant == Variant::LowLatency;
        let directives = match Directives::parse(query) {
            Ok(d) => d,
            Err(_) if ll => return Answer::BadRequest,
            Err(_) => Directives::default(),
        };
        if ll && let Some(msn) = directives.msn {
            match stream.position().readiness(msn, directives.part) {
                Readiness::TooFar => return Answer::BadRequest,
                Readiness::Wait => return Answer::Wait,
                Readiness::Ready => {}
            }
        }
        if !stream.has_content(self.min_entries()) {
            return Answer::Wait;
        }
        let reports = if ll {
            self.streams
                .iter()
                .filter(|o| o.id != stream.id)
                .map(|o| {
                    let p = o.position();
                    let (msn, part) = if p.next_parts > 0 {
                        (p.next_msn, Some(p.next_parts - 1))
                    } else {
                        (p.next_msn.saturating_sub(1), p.last_parts.checked_sub(1))
                    };
                    (o.playlist_name(), msn, part)
                })
                .collect()
        } else {
            Vec::new()
        };
        let params = MediaParams {
            variant: self.config.variant,
            prefix: &self.prefix,
            query: &directives.query,
            delta: ll && directives.skip,
            reports,
        };
        Answer::Ready(Resource::text(playlist::media(stream, &params)))
    }

    fn content_type(stream: &Stream) -> &'static str {
        if stream.all_audio {
            "audio/mp4"
        } else {
            "video/mp4"
        }
    }

    /// The stream a file name of this muxer belongs to, and the rest of the name.
    fn file<'a>(&self, name: &'a str) -> Option<(&Stream, &'a str)> {
        let rest = name.strip_prefix(&self.prefix)?.strip_prefix('_')?;
        self.streams.iter().find_map(|s| {
            rest.strip_prefix(s.id.as_str())
                .and_then(|r| r.strip_prefix('_'))
                .map(|r| (s, r))
        })
    }

    /// An init segment (`<prefix>_video1_init.mp4`).
    pub fn init(&self, name: &str) -> Answer {
        match self.file(name) {
            Some((s, "init.mp4")) => match &s.init {
                Some(init) => {
                    Answer::Ready(Resource::new(vec![init.clone()], Self::content_type(s)))
                }
                None => Answer::NotFound,
            },
            _ => Answer::NotFound,
        }
    }

    /// A segment (`<prefix>_video1_seg12.mp4`, `<prefix>_main_seg3.ts`).
    pub fn segment(&self, name: &str) -> Answer {
        let Some((s, _)) = self.file(name) else {
            return Answer::NotFound;
        };
        match s.find_segment(name) {
            Some(seg) => {
                let ct = if self.config.variant == Variant::MpegTs {
                    "video/mp2t"
                } else {
                    Self::content_type(s)
                };
                if seg.stored {
                    Answer::Stored(ct)
                } else {
                    Answer::Ready(Resource::new(seg.chunks.clone(), ct))
                }
            }
            None => Answer::NotFound,
        }
    }

    /// Finished segments whose bytes the driver has not stored yet (`hlsDirectory`): names
    /// and bytes (shared, not copied).
    pub fn segments_to_store(&self) -> Vec<(String, Vec<Bytes>)> {
        self.streams
            .iter()
            .flat_map(Stream::segments)
            .filter(|seg| !seg.stored)
            .map(|seg| (seg.name.clone(), seg.chunks.clone()))
            .collect()
    }

    /// The driver stored segment `name`: its bytes leave memory ([`Muxer::segment`] then
    /// answers [`Answer::Stored`]), and so do its parts once it is no longer one of the
    /// two newest segments (older parts are not listed).
    pub fn mark_stored(&mut self, name: &str) {
        for s in &mut self.streams {
            let count = s.entries.len();
            for (i, e) in s.entries.iter_mut().enumerate() {
                if let Entry::Segment(seg) = e
                    && seg.name == name
                {
                    seg.stored = true;
                    seg.chunks = Vec::new();
                    if count - i > 2 {
                        seg.parts = Vec::new();
                    }
                }
            }
            // Parts of stored segments that just became older than the two newest.
            for e in s.entries.iter_mut().rev().skip(2) {
                if let Entry::Segment(seg) = e
                    && seg.stored
                {
                    seg.parts = Vec::new();
                }
            }
        }
    }

    /// Stored segments that left the playlists since the last call: the driver deletes
    /// its copies.
    pub fn take_evicted(&mut self) -> Vec<String> {
        std::mem::take(&mut self.evicted)
    }

    /// A part (`<prefix>_video1_part40.mp4`); the part named by the preload hint waits.
    pub fn part(&self, name: &str) -> Answer {
        if self.config.variant != Variant::LowLatency {
            return Answer::NotFound;
        }
        let Some((s, rest)) = self.file(name) else {
            return Answer::NotFound;
        };
        if let Some(p) = s.find_part(name) {
            return Answer::Ready(Resource::new(vec![p.bytes.clone()], Self::content_type(s)));
        }
        let hinted = rest
            .strip_prefix("part")
            .and_then(|r| r.strip_suffix(".mp4"))
            .and_then(|n| n.parse::<u64>().ok())
            == Some(s.next_part_id);
        if hinted && s.next_segment.is_some() {
            Answer::Wait
        } else {
            Answer::NotFound
        }
    }

    /// Any file of the muxer by name (what follows `/<path>/` in the URL).
    pub fn get(&self, name: &str, query: &str) -> Answer {
        if name == "index.m3u8" {
            self.multivariant_playlist(query)
        } else if name.ends_with("_stream.m3u8") {
            self.media_playlist(name, query)
        } else if name.ends_with("_init.mp4") {
            self.init(name)
        } else if name.contains("_part") {
            self.part(name)
        } else {
            self.segment(name)
        }
    }
}

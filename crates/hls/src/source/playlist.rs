//! Reading playlists (RFC 8216bis) for the HLS pull source: what it needs of a
//! multivariant playlist (variants, audio renditions) and of a media playlist (segments,
//! the init segment, blocking reload). Sans-IO; sizes and counts are bounded.

/// Largest playlist read (the driver stops downloading past it).
pub const MAX_PLAYLIST_SIZE: usize = 1 << 20;
/// Most entries (variants, renditions or segments) kept from one playlist.
const MAX_ENTRIES: usize = 10_000;

/// Why a playlist cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlaylistError {
    #[error("not a playlist (missing #EXTM3U)")]
    NotPlaylist,
    #[error("invalid {tag}: {reason}")]
    Tag {
        tag: &'static str,
        reason: &'static str,
    },
    #[error("URI without #EXTINF")]
    UriWithoutInfo,
    #[error("multivariant playlist without variants")]
    NoVariants,
    #[error("playlist too large")]
    TooLarge,
}

/// A variant of a multivariant playlist (`#EXT-X-STREAM-INF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub bandwidth: u64,
    pub codecs: Vec<String>,
    pub audio_group: Option<String>,
    pub uri: String,
}

/// An audio rendition (`#EXT-X-MEDIA:TYPE=AUDIO`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    pub group: String,
    pub default: bool,
    /// `None`: the rendition is inside the variant's own stream.
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multivariant {
    pub variants: Vec<Variant>,
    pub audio: Vec<Rendition>,
}

impl Multivariant {
    /// The variant to pull: the highest bandwidth one, and the URI of its audio rendition
    /// when the audio is a stream of its own.
    pub fn choose(&self) -> Option<(&Variant, Option<&str>)> {
        let v = self.variants.iter().max_by_key(|v| v.bandwidth)?;
        let audio = v.audio_group.as_ref().and_then(|g| {
            let in_group = || self.audio.iter().filter(|r| &r.group == g);
            in_group()
                .find(|r| r.default)
                .or_else(|| in_group().next())
                .and_then(|r| r.uri.as_deref())
        });
        Some((v, audio))
    }
}

/// A segment of a media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Media sequence number.
    pub msn: u64,
    pub duration: f64,
    pub uri: String,
    /// `#EXT-X-GAP`: no media.
    pub gap: bool,
}

/// A part of a segment (`#EXT-X-PART`, LL-HLS).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Media sequence number of the segment the part belongs to.
    pub msn: u64,
    /// Index of the part in its segment.
    pub index: u64,
    pub duration: f64,
    pub uri: String,
    pub independent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub target_duration: u64,
    pub media_sequence: u64,
    /// `#EXT-X-MAP` URI (fMP4 segments); `None` for MPEG-TS.
    pub map: Option<String>,
    pub segments: Vec<Segment>,
    pub end_list: bool,
    /// `CAN-BLOCK-RELOAD=YES`: `_HLS_msn` waits for the segment.
    pub can_block_reload: bool,
    /// Parts listed, in order (of the last segments and of the one being written).
    pub parts: Vec<Part>,
    /// `#EXT-X-PART-INF` PART-TARGET, seconds.
    pub part_target: Option<f64>,
    /// `#EXT-X-PRELOAD-HINT` URI of the next part.
    pub preload_hint: Option<String>,
}

impl Media {
    /// The segment `msn` if listed (and not a gap).
    pub fn segment(&self, msn: u64) -> Option<&Segment> {
        let i = usize::try_from(msn.checked_sub(self.media_sequence)?).ok()?;
        self.segments.get(i).filter(|s| !s.gap)
    }

    /// Media sequence number of the last segment with media.
    pub fn last_msn(&self) -> Option<u64> {
        self.segments.iter().rev().find(|s| !s.gap).map(|s| s.msn)
    }

    /// The media sequence number after the last listed segment.
    pub fn next_msn(&self) -> u64 {
        self.media_sequence + self.segments.len() as u64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Playlist {
    Multivariant(Multivariant),
    Media(Media),
}

/// The attributes of a tag (`KEY=value,KEY="quoted, value"`).
fn attributes(list: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = list;
    while !rest.is_empty() && out.len() < 64 {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let (value, after) = if let Some(q) = after.strip_prefix('"') {
            match q.split_once('"') {
                Some((v, a)) => (v, a),
                None => (q, ""),
            }
        } else {
            after.split_once(',').map_or((after, ""), |(v, a)| (v, a))
        };
        out.push((key.trim(), value));
        rest = after.trim_start_matches(',');
    }
    out
}

fn attr<'a>(attrs: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn number(tag: &'static str, s: &str) -> Result<u64, PlaylistError> {
    s.trim().parse().map_err(|_| PlaylistError::Tag {
        tag,
        reason: "not a number",
    })
}

/// Parses a playlist.
pub fn parse(text: &str) -> Result<Playlist, PlaylistError> {
    if text.len() > MAX_PLAYLIST_SIZE {
        return Err(PlaylistError::TooLarge);
    }
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next() != Some("#EXTM3U") {
        return Err(PlaylistError::NotPlaylist);
    }
    let lines: Vec<&str> = lines.collect();
    if lines.iter().any(|l| l.starts_with("#EXT-X-STREAM-INF:")) {
        multivariant(&lines).map(Playlist::Multivariant)
    } else {
        media(&lines).map(Playlist::Media)
    }
}

fn multivariant(lines: &[&str]) -> Result<Multivariant, PlaylistError> {
    let mut variants = Vec::new();
    let mut audio = Vec::new();
    let mut pending: Option<Variant> = None;
    for line in lines {
        if let Some(a) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            let attrs = attributes(a);
            pending = Some(Variant {
                bandwidth: attr(&attrs, "BANDWIDTH")
                    .map(|b| number("BANDWIDTH", b))
                    .transpose()?
                    .unwrap_or(0),
                codecs: attr(&attrs, "CODECS")
                    .map(|c| c.split(',').map(|s| s.trim().to_owned()).collect())
                    .unwrap_or_default(),
                audio_group: attr(&attrs, "AUDIO").map(str::to_owned),
                uri: String::new(),
            });
        } else if let Some(a) = line.strip_prefix("#EXT-X-MEDIA:") {
            let attrs = attributes(a);
            if attr(&attrs, "TYPE") == Some("AUDIO") && audio.len() < MAX_ENTRIES {
                audio.push(Rendition {
                    group: attr(&attrs, "GROUP-ID").unwrap_or("").to_owned(),
                    default: attr(&attrs, "DEFAULT") == Some("YES"),
                    uri: attr(&attrs, "URI").map(str::to_owned),
                });
            }
        } else if !line.starts_with('#')
            && let Some(mut v) = pending.take()
            && variants.len() < MAX_ENTRIES
        {
            v.uri = (*line).to_owned();
            variants.push(v);
        }
    }
    if variants.is_empty() {
        return Err(PlaylistError::NoVariants);
    }
    Ok(Multivariant { variants, audio })
}

fn media(lines: &[&str]) -> Result<Media, PlaylistError> {
    let mut m = Media {
        target_duration: 0,
        media_sequence: 0,
        map: None,
        segments: Vec::new(),
        end_list: false,
        can_block_reload: false,
        parts: Vec::new(),
        part_target: None,
        preload_hint: None,
    };
    let mut duration: Option<f64> = None;
    let mut gap = false;
    let mut part_index = 0;
    for line in lines {
        if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            m.target_duration = number("EXT-X-TARGETDURATION", v)?;
        } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            // Before the first segment only (RFC 8216 4.3.3.2): a later one would renumber
            // the segments already read.
            if m.segments.is_empty() && m.parts.is_empty() {
                m.media_sequence = number("EXT-X-MEDIA-SEQUENCE", v)?;
            }
        } else if let Some(a) = line.strip_prefix("#EXT-X-MAP:") {
            m.map = attr(&attributes(a), "URI").map(str::to_owned);
        } else if let Some(a) = line.strip_prefix("#EXT-X-SERVER-CONTROL:") {
            m.can_block_reload = attr(&attributes(a), "CAN-BLOCK-RELOAD") == Some("YES");
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            let d = v.split(',').next().unwrap_or("").trim();
            let d: f64 = d.parse().map_err(|_| PlaylistError::Tag {
                tag: "EXTINF",
                reason: "not a duration",
            })?;
            if !d.is_finite() || d < 0.0 {
                return Err(PlaylistError::Tag {
                    tag: "EXTINF",
                    reason: "not a duration",
                });
            }
            duration = Some(d);
        } else if let Some(a) = line.strip_prefix("#EXT-X-PART-INF:") {
            m.part_target = attr(&attributes(a), "PART-TARGET").and_then(|v| v.parse().ok());
        } else if let Some(a) = line.strip_prefix("#EXT-X-PART:") {
            let attrs = attributes(a);
            let (Some(uri), Some(d)) = (
                attr(&attrs, "URI"),
                attr(&attrs, "DURATION").and_then(|d| d.parse::<f64>().ok()),
            ) else {
                return Err(PlaylistError::Tag {
                    tag: "EXT-X-PART",
                    reason: "URI or DURATION missing",
                });
            };
            if m.parts.len() >= MAX_ENTRIES {
                return Err(PlaylistError::TooLarge);
            }
            m.parts.push(Part {
                msn: m.media_sequence + m.segments.len() as u64,
                index: part_index,
                duration: d,
                uri: uri.to_owned(),
                independent: attr(&attrs, "INDEPENDENT") == Some("YES"),
            });
            part_index += 1;
        } else if let Some(a) = line.strip_prefix("#EXT-X-PRELOAD-HINT:") {
            m.preload_hint = attr(&attributes(a), "URI").map(str::to_owned);
        } else if *line == "#EXT-X-GAP" {
            gap = true;
        } else if *line == "#EXT-X-ENDLIST" {
            m.end_list = true;
        } else if !line.starts_with('#') {
            let d = duration.take().ok_or(PlaylistError::UriWithoutInfo)?;
            if m.segments.len() >= MAX_ENTRIES {
                return Err(PlaylistError::TooLarge);
            }
            m.segments.push(Segment {
                msn: m.media_sequence + m.segments.len() as u64,
                duration: d,
                uri: (*line).to_owned(),
                gap: std::mem::take(&mut gap),
            });
            part_index = 0;
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_multivariant_playlist_with_separate_audio() {
        let text = "#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-INDEPENDENT-SEGMENTS\n\n\
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio2\",AUTOSELECT=YES,DEFAULT=YES,URI=\"audio2_stream.m3u8?session=x\"\n\n\
            #EXT-X-STREAM-INF:BANDWIDTH=185304,AVERAGE-BANDWIDTH=185304,CODECS=\"avc1.42c00d,mp4a.40.2\",RESOLUTION=320x240,FRAME-RATE=25.000,AUDIO=\"audio\"\n\
            video1_stream.m3u8?session=x\n";
        let Ok(Playlist::Multivariant(m)) = parse(text) else {
            panic!("multivariant");
        };
        let (v, audio) = m.choose().expect("a variant");
        assert_eq!(v.uri, "video1_stream.m3u8?session=x");
        assert_eq!(v.codecs, vec!["avc1.42c00d", "mp4a.40.2"]);
        assert_eq!(v.bandwidth, 185_304);
        assert_eq!(audio, Some("audio2_stream.m3u8?session=x"));
    }

    #[test]
    fn a_media_sequence_after_segments_does_not_renumber_them() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4\n\
            #EXTINF:1.0,\nseg4.ts\n#EXT-X-MEDIA-SEQUENCE:17\n#EXTINF:1.0,\nseg5.ts\n";
        let Ok(Playlist::Media(m)) = parse(text) else {
            panic!("media");
        };
        assert_eq!(m.media_sequence, 4);
        let msns: Vec<u64> = m.segments.iter().map(|s| s.msn).collect();
        assert_eq!(msns, vec![4, 5]);
    }

    #[test]
    fn reads_a_low_latency_media_playlist() {
        let text = "#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:1\n\
            #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.60000,CAN-SKIP-UNTIL=6.00000\n\
            #EXT-X-PART-INF:PART-TARGET=0.20000\n#EXT-X-MEDIA-SEQUENCE:3\n\
            #EXT-X-MAP:URI=\"p_video1_init.mp4\"\n\
            #EXT-X-GAP\n#EXTINF:1.00000,\ngap.mp4\n\
            #EXTINF:1.00000,\np_video1_seg4.mp4\n\
            #EXT-X-PROGRAM-DATE-TIME:2026-12-07T02:02:38Z\n\
            #EXT-X-PART:DURATION=0.20000,URI=\"p_video1_part10.mp4\",INDEPENDENT=YES\n\
            #EXTINF:0.98000,\np_video1_seg5.mp4\n\
            #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p_video1_part11.mp4\"\n";
        let Ok(Playlist::Media(m)) = parse(text) else {
            panic!("media");
        };
        assert_eq!((m.target_duration, m.media_sequence), (1, 3));
        assert!(m.can_block_reload && !m.end_list);
        assert_eq!(m.map.as_deref(), Some("p_video1_init.mp4"));
        assert_eq!(m.segments.len(), 3);
        assert!(m.segment(3).is_none(), "a gap has no media");
        assert_eq!(m.segment(5).map(|s| s.duration), Some(0.98));
        assert_eq!((m.last_msn(), m.next_msn()), (Some(5), 6));
        assert_eq!(m.part_target, Some(0.2));
        assert_eq!(m.parts.len(), 1);
        assert_eq!((m.parts[0].msn, m.parts[0].index), (5, 0));
        assert!(m.parts[0].independent);
        assert_eq!(m.preload_hint.as_deref(), Some("p_video1_part11.mp4"));
    }

    #[test]
    fn refuses_what_is_not_a_playlist() {
        assert_eq!(parse("<html>"), Err(PlaylistError::NotPlaylist));
        assert_eq!(
            parse("#EXTM3U\nseg.ts\n"),
            Err(PlaylistError::UriWithoutInfo)
        );
        assert!(parse("#EXTM3U\n#EXTINF:x,\nseg.ts\n").is_err());
        assert!(parse("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n").is_err());
        let ts = parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXT-X-ENDLIST\n");
        assert!(matches!(ts, Ok(Playlist::Media(m)) if m.end_list && m.map.is_none()));
    }
}

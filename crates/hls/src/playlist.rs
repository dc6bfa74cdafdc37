//! Playlist text (RFC 8216 and 8216bis), tag by tag as MediaMTX writes it. The m3u8 crates
//! lack the LL-HLS tags, so this is written by hand.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Variant;
use crate::stream::{Entry, Stream};

/// Seconds with five decimals, as in `#EXTINF:1.00000,`.
fn secs(ns: i64) -> String {
    format!("{:.5}", ns as f64 / 1e9)
}

fn with_query(uri: &str, query: &str) -> String {
    if query.is_empty() {
        uri.to_string()
    } else {
        format!("{uri}?{query}")
    }
}

/// `2026-12-07T02:02:36.289Z`: UTC with milliseconds, trailing zeros of the fraction left
/// out as MediaMTX (Go's `.999`) does.
pub(crate) fn program_date_time(t: SystemTime) -> String {
    let ms = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    };
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let mut out = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}");
    if milli != 0 {
        let frac = format!("{milli:03}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// What the media playlist of a stream needs besides the stream.
pub(crate) struct MediaParams<'a> {
    pub(crate) variant: Variant,
    pub(crate) prefix: &'a str,
    pub(crate) query: &'a str,
    pub(crate) delta: bool,
    /// (playlist name, last msn, last part) of the other streams, for rendition reports.
    pub(crate) reports: Vec<(String, u64, Option<u64>)>,
}

pub(crate) fn media(stream: &Stream, p: &MediaParams<'_>) -> String {
    let mut out = String::with_capacity(2048);
    let td = stream.target_duration;
    if p.variant == Variant::MpegTs {
        out.push_str("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-ALLOW-CACHE:NO\n");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{td}");
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", stream.deleted);
        for seg in stream.segments() {
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:{},\n{}",
                program_date_time(seg.start_ntp),
                secs(seg.duration_ns),
                with_query(&seg.name, p.query)
            );
        }
        return out;
    }
    let ll = p.variant == Variant::LowLatency;
    let skip_boundary_ns = td as i64 * 6 * 1_000_000_000;
    out.push_str("#EXTM3U\n#EXT-X-VERSION:10\n");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{td}");
    if ll {
        // PART-HOLD-BACK: three part targets (RFC 8216bis SHOULD; MediaMTX uses 2.5).
        let _ = writeln!(
            out,
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={},CAN-SKIP-UNTIL={}",
            secs(stream.part_target_ns * 3),
            secs(skip_boundary_ns)
        );
        let _ = writeln!(
            out,
            "#EXT-X-PART-INF:PART-TARGET={}",
            secs(stream.part_target_ns)
        );
    }
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", stream.deleted);
    let init = format!("{}_{}_init.mp4", p.prefix, stream.id);
    let _ = writeln!(out, "#EXT-X-MAP:URI=\"{}\"", with_query(&init, p.query));

    // Delta update: entries that start more than CAN-SKIP-UNTIL before the end are skipped.
    let mut skipped = 0;
    if ll && p.delta {
        let mut from_end = 0;
        let mut shown = 0;
        for e in stream.entries.iter().rev() {
            from_end += e.duration_ns();
            if from_end > skip_boundary_ns {
                break;
            }
            shown += 1;
        }
        skipped = stream.entries.len() - shown;
        let _ = writeln!(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}");
    }

    let count = stream.entries.len();
    for (i, entry) in stream.entries.iter().enumerate().skip(skipped) {
        match entry {
            Entry::Gap { duration_ns } => {
                let _ = writeln!(out, "#EXT-X-GAP\n#EXTINF:{},\ngap.mp4", secs(*duration_ns));
            }
            Entry::Segment(seg) => {
                let recent = count - i <= 2;
                if recent {
                    let _ = writeln!(
                        out,
                        "#EXT-X-PROGRAM-DATE-TIME:{}",
                        program_date_time(seg.start_ntp)
                    );
                }
                if ll && recent {
                    for part in &seg.parts {
                        part_line(&mut out, &part.name, part.duration_ns, part.independent, p);
                    }
                }
                let _ = writeln!(
                    out,
                    "#EXTINF:{},\n{}",
                    secs(seg.duration_ns),
                    with_query(&seg.name, p.query)
                );
            }
        }
    }
    if ll {
        for part in stream.next_segment.iter().flat_map(|s| &s.parts) {
            part_line(&mut out, &part.name, part.duration_ns, part.independent, p);
        }
        let hint = format!("{}_{}_part{}.mp4", p.prefix, stream.id, stream.next_part_id);
        let _ = writeln!(
            out,
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}\"",
            with_query(&hint, p.query)
        );
        for (uri, msn, part) in &p.reports {
            let _ = write!(
                out,
                "#EXT-X-RENDITION-REPORT:URI=\"{}\",LAST-MSN={msn}",
                with_query(uri, p.query)
            );
            if let Some(part) = part {
                let _ = write!(out, ",LAST-PART={part}");
            }
            out.push('\n');
        }
    }
    out
}

fn part_line(
    out: &mut String,
    name: &str,
    duration_ns: i64,
    independent: bool,
    p: &MediaParams<'_>,
) {
    let _ = write!(
        out,
        "#EXT-X-PART:DURATION={},URI=\"{}\"",
        secs(duration_ns),
        with_query(name, p.query)
    );
    if independent {
        out.push_str(",INDEPENDENT=YES");
    }
    out.push('\n');
}

/// One `#EXT-X-MEDIA` rendition of the multivariant playlist.
pub(crate) struct Rendition {
    pub(crate) name: String,
    pub(crate) default: bool,
    pub(crate) uri: Option<String>,
}

/// The `#EXT-X-STREAM-INF` variant.
pub(crate) struct VariantInfo {
    pub(crate) bandwidth: u64,
    pub(crate) average_bandwidth: u64,
    pub(crate) codecs: Vec<String>,
    pub(crate) resolution: Option<(u32, u32)>,
    pub(crate) frame_rate: Option<f64>,
    pub(crate) audio_group: bool,
    pub(crate) uri: String,
}

pub(crate) fn multivariant(version: u8, renditions: &[Rendition], v: &VariantInfo) -> String {
    let mut out = format!("#EXTM3U\n#EXT-X-VERSION:{version}\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    if !renditions.is_empty() {
        out.push('\n');
        for r in renditions {
            let _ = write!(
                out,
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"{}\",AUTOSELECT=YES",
                r.name
            );
            if r.default {
                out.push_str(",DEFAULT=YES");
            }
            if let Some(uri) = &r.uri {
                let _ = write!(out, ",URI=\"{uri}\"");
            }
            out.push('\n');
        }
    }
    let _ = write!(
        out,
        "\n#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\"",
        v.bandwidth,
        v.average_bandwidth,
        v.codecs.join(",")
    );
    if let Some((w, h)) = v.resolution {
        let _ = write!(out, ",RESOLUTION={w}x{h}");
    }
    if let Some(fps) = v.frame_rate {
        let _ = write!(out, ",FRAME-RATE={fps:.3}");
    }
    if v.audio_group {
        out.push_str(",AUDIO=\"audio\"");
    }
    let _ = writeln!(out, "\n{}", v.uri);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn program_date_time_is_utc_with_trimmed_milliseconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_608_956_289);
        assert_eq!(program_date_time(t), "2026-12-07T02:02:36.289Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_796_608_956_280);
        assert_eq!(program_date_time(t), "2026-12-07T02:02:36.28Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // leap day
        assert_eq!(program_date_time(t), "2000-02-29T00:00:00Z");
        assert_eq!(program_date_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}

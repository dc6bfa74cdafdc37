//! `/list`: the recorded time spans of a path, contiguous segments joined, as MediaMTX
//! answers them.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeDelta};

use super::segment::SegmentFile;
use crate::mp4::Header;
use crate::store::{Segment, go_time};

/// Segments whose start is this close to the previous one's end are contiguous when
/// their inits carry no `mtxi` (recordings of old MediaMTX versions).
pub const CONCATENATION_TOLERANCE: Duration = Duration::from_secs(1);

/// A segment with what its header says.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub start: DateTime<FixedOffset>,
    pub header: Header,
    pub duration: Duration,
}

/// Reads the header and duration of each segment. Blocking.
pub(crate) fn parse(segments: &[Segment]) -> Result<Vec<Parsed>, String> {
    segments
        .iter()
        .map(|s| {
            let f = SegmentFile::open(&s.file)?;
            let duration = f.duration()?;
            Ok(Parsed {
                start: s.start,
                header: f.header,
                duration,
            })
        })
        .collect()
}

pub(crate) fn add(t: DateTime<FixedOffset>, d: Duration) -> DateTime<FixedOffset> {
    t + TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// Whether the segment `cur` starting at `cur_start` continues the one before it (`prev`,
/// ending at `prev_end`): the same recorder run and the next segment number, or, without
/// `mtxi`, the same tracks and a start within [`CONCATENATION_TOLERANCE`].
pub(crate) fn can_concatenate(
    prev: &Header,
    prev_end: DateTime<FixedOffset>,
    cur: &Header,
    cur_start: DateTime<FixedOffset>,
) -> bool {
    match (&prev.mtxi, &cur.mtxi) {
        (Some(a), Some(b)) => {
            a.stream_id == b.stream_id && a.segment_number.checked_add(1) == Some(b.segment_number)
        }
        (None, None) => {
            let tolerance = TimeDelta::from_std(CONCATENATION_TOLERANCE).unwrap_or_default();
            prev.same_tracks(cur)
                && cur_start >= prev_end - tolerance
                && cur_start <= prev_end + tolerance
        }
        _ => false,
    }
}

/// One time span of the answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub start: DateTime<FixedOffset>,
    pub duration: Duration,
}

impl Entry {
    fn end(&self) -> DateTime<FixedOffset> {
        add(self.start, self.duration)
    }
}

/// Joins contiguous segments into spans.
pub(crate) fn concatenate(parsed: &[Parsed]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut prev: Option<&Header> = None;
    for p in parsed {
        match (out.last_mut(), prev) {
            (Some(last), Some(h)) if can_concatenate(h, last.end(), &p.header, p.start) => {
                let end = add(p.start, p.duration);
                last.duration = (end - last.start).to_std().unwrap_or_default();
            }
            _ => out.push(Entry {
                start: p.start,
                duration: p.duration,
            }),
        }
        prev = Some(&p.header);
    }
    out
}

/// Cuts the spans to `start` and `end`, as MediaMTX does. `None` when nothing is left.
pub(crate) fn clip(
    mut entries: Vec<Entry>,
    start: Option<DateTime<FixedOffset>>,
    end: Option<DateTime<FixedOffset>>,
) -> Option<Vec<Entry>> {
    if let Some(start) = start {
        let first = entries.first()?.clone();
        if first.end() < start {
            // The start is in a gap after the first span, or after everything.
            entries.remove(0);
            if entries.is_empty() {
                return None;
            }
        } else if first.start < start {
            entries[0].duration = (first.end() - start).to_std().unwrap_or_default();
            entries[0].start = start;
        }
    }
    if let Some(end) = end
        && let Some(last) = entries.last_mut()
        && last.end() > end
    {
        last.duration = (end - last.start).to_std().unwrap_or_default();
    }
    Some(entries)
}

/// Seconds as Go's JSON and `strconv.FormatFloat(v, 'f', -1, 64)` write them.
pub(crate) fn seconds(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

/// Escapes like Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    ferromtx_core::externalcmd::query_escape(s)
}

/// The JSON answer: `[{"start":..., "duration":..., "url":...}]`, with the `/get` URL of
/// each span (`scheme://host/get?duration=..&path=..&start=..`, keys sorted as Go
/// encodes them). Strings are escaped as Go's JSON encoder does (`&` as `\u0026`).
pub(crate) fn json(entries: &[Entry], scheme: &str, host: &str, path: &str) -> String {
    let items: Vec<String> = entries
        .iter()
        .map(|e| {
            let start = go_time(&e.start);
            let url = format!(
                "{scheme}://{host}/get?duration={}&path={}&start={}",
                query_escape(&seconds(e.duration)),
                query_escape(path),
                query_escape(&start),
            );
            format!(
                "{{\"start\":{},\"duration\":{},\"url\":{}}}",
                go_json_string(&start),
                seconds(e.duration),
                go_json_string(&url)
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// A JSON string as Go's encoder writes it (HTML characters escaped).
pub(crate) fn go_json_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_default()
        .replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::Mtxi;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("time")
    }

    fn header(mtxi: Option<(u8, u64)>) -> Header {
        Header {
            tracks: vec![crate::mp4::HeaderTrack {
                id: 1,
                timescale: 90_000,
                entry: *b"avc1",
                is_video: true,
                trak: Vec::new(),
            }],
            duration: Duration::ZERO,
            mtxi: mtxi.map(|(id, n)| Mtxi {
                stream_id: [id; 16],
                segment_number: n,
                dts: 0,
                ntp: 0,
            }),
            mvex: Vec::new(),
        }
    }

    fn parsed(start: &str, secs: u64, mtxi: Option<(u8, u64)>) -> Parsed {
        Parsed {
            start: at(start),
            header: header(mtxi),
            duration: Duration::from_secs(secs),
        }
    }

    #[test]
    fn segments_of_one_run_join() {
        let p = vec![
            parsed("2026-01-01T00:00:00Z", 4, Some((1, 0))),
            parsed("2026-01-01T00:00:04Z", 4, Some((1, 1))),
            // A new run (another stream id) starts a new span even without a gap.
            parsed("2026-01-01T00:00:08Z", 4, Some((2, 0))),
            // Old recordings without mtxi: joined when within a second.
            parsed("2026-01-01T00:01:00Z", 4, None),
            parsed("2026-01-01T00:01:04.5Z", 4, None),
            parsed("2026-01-01T00:01:10Z", 4, None),
        ];
        let e = concatenate(&p);
        let spans: Vec<(String, f64)> = e
            .iter()
            .map(|e| (go_time(&e.start), e.duration.as_secs_f64()))
            .collect();
        assert_eq!(
            spans,
            vec![
                ("2026-01-01T00:00:00Z".into(), 8.0),
                ("2026-01-01T00:00:08Z".into(), 4.0),
                ("2026-01-01T00:01:00Z".into(), 8.5),
                ("2026-01-01T00:01:10Z".into(), 4.0),
            ]
        );
        let clipped = clip(
            e[..2].to_vec(),
            Some(at("2026-01-01T00:00:02Z")),
            Some(at("2026-01-01T00:00:10Z")),
        )
        .expect("left");
        assert_eq!(clipped[0].start, at("2026-01-01T00:00:02Z"));
        assert_eq!(clipped[0].duration, Duration::from_secs(6));
        assert_eq!(clipped[1].duration, Duration::from_secs(2));
        // A start after the first span drops it.
        let clipped =
            clip(e[..2].to_vec(), Some(at("2026-01-01T00:00:08.5Z")), None).expect("left");
        assert_eq!(clipped.len(), 1);
        assert!(clip(e[..1].to_vec(), Some(at("2026-01-01T00:00:09Z")), None).is_none());
    }

    #[test]
    fn json_reads_like_mediamtx() {
        let e = [Entry {
            start: at("2026-12-07T03:17:07.869803Z"),
            duration: Duration::from_nanos(9_869_928_000),
        }];
        assert_eq!(
            json(&e, "http", "127.0.0.1:9996", "cam"),
            "[{\"start\":\"2026-12-07T03:17:07.869803Z\",\"duration\":9.869928,\"url\":\"http://127.0.0.1:9996/get?duration=9.869928\\u0026path=cam\\u0026start=2026-12-07T03%3A17%3A07.869803Z\"}]"
        );
        assert_eq!(seconds(Duration::from_secs(4)), "4");
    }
}

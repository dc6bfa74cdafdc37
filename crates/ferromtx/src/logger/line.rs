//! One log line, plain or JSON, in MediaMTX's layout.

use chrono::{DateTime, SecondsFormat, TimeZone};
use std::fmt::Display;

/// MediaMTX's levels, in increasing severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

impl Level {
    pub(super) fn from_u8(v: u8) -> Level {
        match v {
            1 => Level::Debug,
            2 => Level::Info,
            3 => Level::Warn,
            _ => Level::Error,
        }
    }

    /// `tracing`'s TRACE has no MediaMTX counterpart and is never written.
    pub(super) fn from_tracing(l: tracing::Level) -> Option<Level> {
        match l {
            tracing::Level::TRACE => None,
            tracing::Level::DEBUG => Some(Level::Debug),
            tracing::Level::INFO => Some(Level::Info),
            tracing::Level::WARN => Some(Level::Warn),
            tracing::Level::ERROR => Some(Level::Error),
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Level::Debug => "DEB",
            Level::Info => "INF",
            Level::Warn => "WAR",
            Level::Error => "ERR",
        }
    }

    fn color(self) -> &'static str {
        match self {
            Level::Debug => "\x1b[36m",
            Level::Info => "\x1b[32m",
            Level::Warn => "\x1b[33m",
            Level::Error => "\x1b[31m",
        }
    }
}

const GRAY: &str = "\x1b[90m";
const RESET: &str = "\x1b[0m";

/// `2026/11/24 18:02:15 INF message\n`, local time, colours only when asked.
pub(super) fn format_plain<Tz: TimeZone>(
    t: &DateTime<Tz>,
    level: Level,
    msg: &str,
    color: bool,
) -> String
where
    Tz::Offset: Display,
{
    let ts = t.format("%Y/%m/%d %H:%M:%S");
    if color {
        format!(
            "{GRAY}{ts} {RESET}{}{}{RESET} {msg}\n",
            level.color(),
            level.tag()
        )
    } else {
        format!("{ts} {} {msg}\n", level.tag())
    }
}

/// `{"timestamp":"<RFC 3339>","level":"INF","message":"..."}\n`
pub(super) fn format_json<Tz: TimeZone>(t: &DateTime<Tz>, level: Level, msg: &str) -> String
where
    Tz::Offset: Display,
{
    let mut out = String::with_capacity(msg.len() + 80);
    out.push_str("{\"timestamp\":\"");
    out.push_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    out.push_str("\",\"level\":\"");
    out.push_str(level.tag());
    out.push_str("\",\"message\":");
    push_json_string(&mut out, msg);
    out.push_str("}\n");
    out
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDate};

    fn at() -> DateTime<FixedOffset> {
        let naive = NaiveDate::from_ymd_opt(2026, 11, 24)
            .and_then(|d| d.and_hms_micro_opt(18, 2, 15, 123_456))
            .unwrap();
        FixedOffset::east_opt(3600)
            .unwrap()
            .from_local_datetime(&naive)
            .unwrap()
    }

    #[test]
    fn plain_matches_mediamtx() {
        assert_eq!(
            format_plain(
                &at(),
                Level::Info,
                "[WebRTC] started with listeners on :8889 (TCP/HTTP), :8189 (UDP/ICE)",
                false
            ),
            "2026/11/24 18:02:15 INF [WebRTC] started with listeners on :8889 (TCP/HTTP), :8189 (UDP/ICE)\n"
        );
        assert_eq!(
            format_plain(&at(), Level::Debug, "x", false),
            "2026/11/24 18:02:15 DEB x\n"
        );
        assert_eq!(
            format_plain(&at(), Level::Warn, "x", false),
            "2026/11/24 18:02:15 WAR x\n"
        );
        assert_eq!(
            format_plain(&at(), Level::Error, "x", false),
            "2026/11/24 18:02:15 ERR x\n"
        );
    }

    #[test]
    fn colour_wraps_time_and_level_only() {
        let line = format_plain(&at(), Level::Error, "boom", true);
        assert!(
            line.starts_with("\x1b[90m2026/11/24 18:02:15 \x1b[0m\x1b[31mERR\x1b[0m boom"),
            "{line:?}"
        );
    }

    #[test]
    fn json_escapes_and_keeps_offset() {
        assert_eq!(
            format_json(&at(), Level::Warn, "a \"b\"\\\n\u{1}"),
            "{\"timestamp\":\"2026-11-24T18:02:15.123456+01:00\",\"level\":\"WAR\",\"message\":\"a \\\"b\\\"\\\\\\n\\u0001\"}\n"
        );
    }
}

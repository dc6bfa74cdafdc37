//! `recordPath` templates: the file name of a segment from its path name and start time
//! (`%path`, `%Y %m %d %H %M %S`, `%f` microseconds, `%z` zone, `%s` Unix seconds), and
//! back. Times are written in the server's local zone, as MediaMTX writes them.

use chrono::{DateTime, Datelike, FixedOffset, Local, NaiveDate, TimeZone, Timelike};
use ferromtx_conf::RecordFormat;
use regex::Regex;

/// The variables of a template, as they are spelled.
const VARIABLES: [&str; 10] = [
    "%path", "%Y", "%m", "%d", "%H", "%M", "%S", "%f", "%z", "%s",
];

/// `path` with the extension of `format` (`.mp4` or `.ts`).
pub fn add_extension(path: &str, format: RecordFormat) -> String {
    match format {
        RecordFormat::Mpegts => format!("{path}.ts"),
        _ => format!("{path}.mp4"),
    }
}

/// The directory every segment of a template lies under: the leading directories that
/// hold no variable (`./recordings` for `./recordings/%path/%Y-%m-%d`).
pub fn common_path(template: &str) -> String {
    let mut common = String::new();
    let mut rest = template;
    while let Some(i) = rest.find(['/', '\\']) {
        let (part, tail) = rest.split_at(i + 1);
        if part.contains('%') {
            break;
        }
        common.push_str(part);
        rest = tail;
    }
    common.pop();
    common
}

/// `%z`: `Z` for UTC, else `+hhmm` / `-hhmm`.
fn zone(offset: &FixedOffset) -> String {
    let secs = offset.local_minus_utc();
    if secs == 0 {
        return "Z".into();
    }
    let sign = if secs > 0 { '+' } else { '-' };
    let secs = secs.unsigned_abs();
    format!("{sign}{:02}{:02}", secs / 3600, (secs / 60) % 60)
}

/// The file name of a segment of `path` starting at `start`.
pub fn encode(template: &str, path: &str, start: &DateTime<FixedOffset>) -> String {
    template
        .replace("%path", path)
        .replace("%Y", &start.year().to_string())
        .replace("%m", &format!("{:02}", start.month()))
        .replace("%d", &format!("{:02}", start.day()))
        .replace("%H", &format!("{:02}", start.hour()))
        .replace("%M", &format!("{:02}", start.minute()))
        .replace("%S", &format!("{:02}", start.second()))
        .replace(
            "%f",
            &format!("{:06}", start.nanosecond() / 1000 % 1_000_000),
        )
        .replace("%z", &zone(start.offset()))
        .replace("%s", &start.timestamp().to_string())
}

/// A segment found by name: the path it belongs to (when the template has `%path`) and
/// its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub path: Option<String>,
    pub start: DateTime<FixedOffset>,
}

/// A template compiled to recognise segment file names.
#[derive(Debug, Clone)]
pub struct Template {
    /// Always compiles (escaped text and fixed groups); `None` would match nothing.
    regex: Option<Regex>,
    groups: Vec<&'static str>,
}

impl Template {
    /// Compiles `template` (a file name with its extension).
    pub fn new(template: &str) -> Template {
        let mut re = String::from("^");
        let mut groups = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            if let Some(var) = VARIABLES.iter().find(|v| rest.starts_with(**v)) {
                re.push_str(match *var {
                    "%path" => "(.*?)",
                    "%Y" => "([0-9]{4})",
                    "%f" => "([0-9]{6})",
                    "%z" => r"(Z|\+[0-9]{4}|-[0-9]{4})",
                    "%s" => "([0-9]{10})",
                    _ => "([0-9]{2})",
                });
                groups.push(*var);
                rest = &rest[var.len()..];
                continue;
            }
            let c = rest.chars().next().unwrap_or_default();
            re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
            rest = &rest[c.len_utf8()..];
        }
        re.push('$');
        Template {
            regex: Regex::new(&re).ok(),
            groups,
        }
    }

    /// The path and start of the segment named `name`, if the name follows the template.
    pub fn decode(&self, name: &str) -> Option<Decoded> {
        let caps = self.regex.as_ref()?.captures(name)?;
        let mut path = None;
        let (mut year, mut month, mut day) = (0i32, 1u32, 1u32);
        let (mut hour, mut minute, mut second, mut micros) = (0u32, 0u32, 0u32, 0u32);
        let mut unix: Option<i64> = None;
        let mut offset: Option<FixedOffset> = None;
        for (var, m) in self.groups.iter().zip(caps.iter().skip(1)) {
            let v = m?.as_str();
            match *var {
                "%path" => path = Some(v.to_owned()),
                "%Y" => year = v.parse().ok()?,
                "%m" => month = v.parse().ok()?,
                "%d" => day = v.parse().ok()?,
                "%H" => hour = v.parse().ok()?,
                "%M" => minute = v.parse().ok()?,
                "%S" => second = v.parse().ok()?,
                "%f" => micros = v.parse().ok()?,
                "%z" => offset = Some(parse_zone(v)?),
                "%s" => unix = v.parse().ok().filter(|s| *s > 0),
                _ => {}
            }
        }
        let start = match unix {
            Some(secs) => Local
                .timestamp_opt(secs, micros * 1000)
                .single()?
                .fixed_offset(),
            None => {
                let naive = NaiveDate::from_ymd_opt(year, month, day)?
                    .and_hms_micro_opt(hour, minute, second, micros)?;
                match offset {
                    Some(offset) => offset.from_local_datetime(&naive).single()?,
                    None => Local.from_local_datetime(&naive).earliest()?.fixed_offset(),
                }
            }
        };
        Some(Decoded { path, start })
    }
}

fn parse_zone(v: &str) -> Option<FixedOffset> {
    if v == "Z" {
        return FixedOffset::east_opt(0);
    }
    let sign = if v.starts_with('-') { -1 } else { 1 };
    let hours: i32 = v.get(1..3)?.parse().ok()?;
    let minutes: i32 = v.get(3..5)?.parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("valid time")
    }

    #[test]
    fn encodes_every_variable() {
        let t = at("2026-03-04T05:06:07.008009+02:30");
        assert_eq!(
            encode("/r/%path/%Y-%m-%d_%H-%M-%S-%f_%z_%s.mp4", "cam/1", &t),
            "/r/cam/1/2026-03-04_05-06-07-008009_+0230_1772591767.mp4"
        );
        let utc = at("2026-03-04T05:06:07Z");
        assert_eq!(encode("%z %f", "x", &utc), "Z 000000");
        let west = at("2026-03-04T05:06:07-05:00");
        assert_eq!(encode("%z", "x", &west), "-0500");
    }

    #[test]
    fn decodes_what_it_encodes() {
        let t = at("2026-03-04T05:06:07.008009+02:30");
        let template = "/r/%path/%Y-%m-%d_%H-%M-%S-%f%z.mp4";
        let name = encode(template, "cam/1", &t);
        let d = Template::new(template).decode(&name).expect("decoded");
        assert_eq!(d.path.as_deref(), Some("cam/1"));
        assert_eq!(d.start, t);
        // Unix seconds with microseconds.
        let template = "/r/%path/%s-%f.mp4";
        let d = Template::new(template)
            .decode(&encode(template, "a", &t))
            .expect("decoded");
        assert_eq!(d.start.timestamp_micros(), t.timestamp_micros());
        // A name that does not follow the template, or a bad date.
        let tpl = Template::new("/r/cam/%Y-%m-%d_%H-%M-%S-%f.mp4");
        assert_eq!(
            tpl.decode("/r/cam/2026-03-04_05-06-07-008009.mp4.tmp"),
            None
        );
        assert_eq!(tpl.decode("/r/cam/x/2026-03-04_05-06-07-008009.mp4"), None);
        assert_eq!(tpl.decode("/r/cam/2026-13-04_05-06-07-008009.mp4"), None);
        // Regular-expression characters in the template are literal.
        let tpl = Template::new("/r+(x)/%Y.mp4");
        assert!(tpl.decode("/r+(x)/2026.mp4").is_some());
        assert!(tpl.decode("/rr(x)/2026.mp4").is_none());
    }

    #[test]
    fn common_path_stops_at_the_first_variable() {
        assert_eq!(
            common_path("./recordings/%path/%Y-%m-%d_%H-%M-%S-%f"),
            "./recordings"
        );
        assert_eq!(common_path("/a/b/cam/%Y/%m.mp4"), "/a/b/cam");
        assert_eq!(common_path("%path"), "");
        assert_eq!(add_extension("x", RecordFormat::Mpegts), "x.ts");
        assert_eq!(add_extension("x", RecordFormat::Fmp4), "x.mp4");
    }
}

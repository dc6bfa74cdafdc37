//! Durations in MediaMTX syntax: Go durations (`10s`, `1h30m`, `200ms`)
//! with an optional leading day count (`1d`, `2d12h`).

use crate::node::{Node, Value};
use crate::value::{ConfValue, FieldError, FieldErrorKind, text_of};
use serde_json::Value as Json;
use std::time::Duration;

const DAY_NANOS: u128 = 86_400 * 1_000_000_000;

/// Parse a MediaMTX duration. Negative durations are refused.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration '{input}'");
    let mut rest = input;
    let mut days: u128 = 0;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && rest.as_bytes().get(digits) == Some(&b'd') {
        days = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits + 1..];
    }
    let mut nanos = days.checked_mul(DAY_NANOS).ok_or_else(bad)?;
    if !rest.is_empty() {
        nanos = nanos
            .checked_add(parse_go_duration(rest).ok_or_else(bad)?)
            .ok_or_else(bad)?;
    } else if days == 0 && digits == 0 {
        // Empty text: MediaMTX reads it as zero.
        return Ok(Duration::ZERO);
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| bad())?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// Go's `time.ParseDuration` for non-negative values, in nanoseconds.
fn parse_go_duration(s: &str) -> Option<u128> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * scale;
    }
    if !total.is_finite() || total > 9.3e18 {
        return None;
    }
    Some(total.round() as u128)
}

/// Format as MediaMTX does: whole days as `Nd`, the rest as Go prints
/// durations (`1h0m0s`, `200ms`); zero is the empty string.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    let days = nanos / DAY_NANOS;
    let rest = nanos % DAY_NANOS;
    let mut out = String::new();
    if days > 0 {
        out.push_str(&format!("{days}d"));
    }
    if rest != 0 {
        out.push_str(&format_go_duration(rest));
    }
    out
}

fn format_go_duration(n: u128) -> String {
    if n < 1_000 {
        return format!("{n}ns");
    }
    if n < 1_000_000 {
        return format!("{}µs", fraction(n, 1_000));
    }
    if n < 1_000_000_000 {
        return format!("{}ms", fraction(n, 1_000_000));
    }
    let hours = n / 3_600_000_000_000;
    let minutes = (n / 60_000_000_000) % 60;
    let secs = fraction(n % 60_000_000_000, 1_000_000_000);
    if hours > 0 {
        format!("{hours}h{minutes}m{secs}s")
    } else if minutes > 0 {
        format!("{minutes}m{secs}s")
    } else {
        format!("{secs}s")
    }
}

/// `n / unit` with the fraction written without trailing zeros.
fn fraction(n: u128, unit: u128) -> String {
    let whole = n / unit;
    let frac = n % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl ConfValue for Duration {
    fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
        // MediaMTX reads a null duration as the empty string, that is zero.
        let text = text_of(node)?.unwrap_or("");
        *self = parse_duration(text).map_err(|_| FieldError {
            path: String::new(),
            line: node.line,
            kind: FieldErrorKind::Duration(text.to_string()),
        })?;
        Ok(())
    }
    fn to_json(&self) -> Option<Json> {
        Some(Json::String(format_duration(*self)))
    }
    fn env_scalar(s: &str) -> Result<Value, String> {
        Ok(Value::Str(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mediamtx_durations() {
        let cases: &[(&str, u64, u32)] = &[
            ("10s", 10, 0),
            ("200ms", 0, 200_000_000),
            ("1h", 3600, 0),
            ("1d", 86_400, 0),
            ("2d12h", 2 * 86_400 + 12 * 3600, 0),
            ("1h30m", 5400, 0),
            ("1.5s", 1, 500_000_000),
            ("0", 0, 0),
            ("0s", 0, 0),
            ("", 0, 0),
            ("10us", 0, 10_000),
        ];
        for (text, secs, nanos) in cases {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::new(*secs, *nanos),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_bad_durations() {
        for text in ["10x", "10", "s", "-1s", "1d-", "abc", "1..5s"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
    }

    #[test]
    fn formats_like_mediamtx() {
        let cases: &[(Duration, &str)] = &[
            (Duration::from_secs(10), "10s"),
            (Duration::from_millis(200), "200ms"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(86_400), "1d"),
            (Duration::from_secs(86_400 + 90), "1d1m30s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::ZERO, ""),
            (Duration::from_nanos(1500), "1.5µs"),
        ];
        for (d, text) in cases {
            assert_eq!(format_duration(*d), *text);
            assert_eq!(parse_duration(text).unwrap(), *d);
        }
    }
}

//! Byte sizes written like `50M` (1024-based units, as MediaMTX's bytefmt).

use crate::node::{Node, Value};
use crate::value::{ConfValue, FieldError, text_of};
use serde_json::Value as Json;

const UNITS: [(&str, u64); 6] = [
    ("E", 1 << 60),
    ("P", 1 << 50),
    ("T", 1 << 40),
    ("G", 1 << 30),
    ("M", 1 << 20),
    ("K", 1 << 10),
];

const SIZE_ERROR: &str = "byte quantity must be a positive integer with a unit of measurement like M, MB, MiB, G, GiB, or GB";

/// A size in bytes; written and read as MediaMTX does (`50M`, `1.5K`, `100B`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl From<u64> for ByteSize {
    fn from(v: u64) -> Self {
        ByteSize(v)
    }
}

impl From<ByteSize> for u64 {
    fn from(v: ByteSize) -> Self {
        v.0
    }
}

/// Parse `50M`, `50MB`, `50MiB`, `100B`, `1.5K` (case-insensitive).
pub fn parse_size(input: &str) -> Result<u64, String> {
    let s = input.trim().to_ascii_uppercase();
    let split = s
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| SIZE_ERROR.to_string())?;
    let (number, unit) = s.split_at(split);
    let value: f64 = number.trim().parse().map_err(|_| SIZE_ERROR.to_string())?;
    if value.is_nan() || value < 0.0 {
        return Err(SIZE_ERROR.to_string());
    }
    let multiplier = match unit {
        "B" => 1,
        _ => {
            let prefix = unit
                .strip_suffix("IB")
                .or_else(|| unit.strip_suffix('B'))
                .unwrap_or(unit);
            UNITS
                .iter()
                .find(|(u, _)| *u == prefix)
                .map(|(_, m)| *m)
                .ok_or_else(|| SIZE_ERROR.to_string())?
        }
    };
    Ok((value * multiplier as f64) as u64)
}

/// Format like bytefmt: one decimal, `.0` trimmed, largest unit that fits.
pub fn format_size(bytes: u64) -> String {
    if bytes == 0 {
        return "0B".to_string();
    }
    let (unit, value) = UNITS
        .iter()
        .find(|(_, m)| bytes >= *m)
        .map_or(("B", bytes as f64), |(u, m)| (*u, bytes as f64 / *m as f64));
    let text = format!("{value:.1}");
    format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
}

impl ConfValue for ByteSize {
    fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
        let text = text_of(node)?.unwrap_or("");
        self.0 = parse_size(text).map_err(|m| FieldError::invalid(node, m))?;
        Ok(())
    }
    fn to_json(&self) -> Option<Json> {
        Some(Json::String(format_size(self.0)))
    }
    fn env_scalar(s: &str) -> Result<Value, String> {
        Ok(Value::Str(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_trip() {
        assert_eq!(parse_size("50M").unwrap(), 50 * 1024 * 1024);
        assert_eq!(parse_size("50MB").unwrap(), 50 * 1024 * 1024);
        assert_eq!(parse_size("50mib").unwrap(), 50 * 1024 * 1024);
        assert_eq!(parse_size("1.5K").unwrap(), 1536);
        assert_eq!(parse_size("100B").unwrap(), 100);
        assert!(parse_size("100").is_err());
        assert!(parse_size("10X").is_err());
        assert!(parse_size("-1M").is_err());
        assert_eq!(format_size(50 * 1024 * 1024), "50M");
        assert_eq!(format_size(1536), "1.5K");
        assert_eq!(format_size(100), "100B");
        assert_eq!(format_size(0), "0B");
    }
}

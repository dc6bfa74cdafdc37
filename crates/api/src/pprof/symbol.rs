//! `/debug/pprof/symbol`: program-counter to function-name lookup, as Go's handler.
//!
//! `GET` alone answers `num_symbols: 1` (symbols are available). Addresses, joined by
//! `+`, come in the query string (`GET`) or the body (`POST`); each address that
//! resolves adds a line `0x<addr> <function>`.

use std::ffi::c_void;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::response::Response;

use super::{PprofError, text_response};

/// At most this many addresses are looked up per request.
const MAX_ADDRESSES: usize = 65_536;

/// Parses one address like Go's `strconv.ParseUint(s, 0, 64)`: `0x` hex or decimal.
fn parse_address(word: &[u8]) -> Option<u64> {
    let word = std::str::from_utf8(word).ok()?.trim();
    let value = match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => word.parse::<u64>().ok()?,
    };
    (value != 0).then_some(value)
}

/// Answers a lookup request whose addresses are in `input`.
pub(crate) fn lookup(input: &[u8]) -> String {
    let mut out = String::from("num_symbols: 1\n");
    let words = input
        .split(|&b| b == b'+')
        .filter_map(parse_address)
        .take(MAX_ADDRESSES);
    for pc in words {
        let mut name = None;
        // `resolve` treats its argument as a return address and looks up one byte
        // before it; the caller's address is the instruction itself.
        let Some(lookup_at) = usize::try_from(pc).ok().and_then(|a| a.checked_add(1)) else {
            continue;
        };
        backtrace::resolve(lookup_at as *mut c_void, |symbol| {
            if name.is_none() {
                name = symbol.name().map(|n| format!("{n:#}"));
            }
        });
        if let Some(name) = name {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{pc:#x} {name}");
        }
    }
    out
}

async fn answer(input: Vec<u8>) -> Result<Response, PprofError> {
    // Symbolization reads debug info from disk.
    let text = tokio::task::spawn_blocking(move || {
        let text = lookup(&input);
        super::release_symbolizer_memory();
        text
    })
    .await
    .map_err(|e| PprofError::Encode(std::io::Error::other(e.to_string())))?;
    Ok(text_response(text))
}

pub(super) async fn get_handler(RawQuery(query): RawQuery) -> Result<Response, PprofError> {
    answer(query.unwrap_or_default().into_bytes()).await
}

pub(super) async fn post_handler(body: Bytes) -> Result<Response, PprofError> {
    answer(body.to_vec()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn symbol_lookup_target() -> u64 {
        std::hint::black_box(7)
    }

    #[test]
    fn parse_address_accepts_hex_and_decimal() {
        assert_eq!(parse_address(b"0x10"), Some(16));
        assert_eq!(parse_address(b"0X1f"), Some(31));
        assert_eq!(parse_address(b"42"), Some(42));
        assert_eq!(parse_address(b"0"), None);
        assert_eq!(parse_address(b"zz"), None);
        assert_eq!(parse_address(b""), None);
        assert_eq!(parse_address(b"0x"), None);
    }

    #[test]
    fn lookup_names_a_function_of_this_binary() {
        assert_eq!(symbol_lookup_target(), 7);
        let pc = symbol_lookup_target as fn() -> u64 as usize;
        let text = lookup(format!("{pc:#x}+garbage+0").as_bytes());
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("num_symbols: 1"));
        let line = lines.next().expect("one resolved address");
        assert!(line.starts_with(&format!("{pc:#x} ")), "{line}");
        assert!(line.contains("symbol_lookup_target"), "{line}");
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn lookup_without_addresses_only_announces_symbols() {
        assert_eq!(lookup(b""), "num_symbols: 1\n");
    }
}

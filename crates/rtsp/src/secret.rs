//! Random identifiers: session secrets, digest nonces, UUIDs for the API and hooks.
//!
//! Drawn from the standard library's per-process random hash keys mixed with a counter
//! and the clock: unpredictable to a peer, without a dependency. Not for cryptography.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.finish()
}

/// A random version-4 UUID in its text form.
pub(crate) fn uuid() -> String {
    let hi = random_u64();
    let lo = random_u64();
    let time_hi = ((hi & 0x0fff) | 0x4000) as u16;
    let clock = (((lo >> 48) & 0x3fff) | 0x8000) as u16;
    format!(
        "{:08x}-{:04x}-{time_hi:04x}-{clock:04x}-{:012x}",
        (hi >> 32) as u32,
        ((hi >> 16) & 0xffff) as u16,
        lo & 0xffff_ffff_ffff
    )
}

/// `n` random hexadecimal digits (at most 16).
pub(crate) fn hex(n: usize) -> String {
    let s = format!("{:016x}", random_u64());
    s[..n.min(16)].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_well_formed_and_distinct() {
        let a = uuid();
        let b = uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn hex_has_the_requested_length() {
        assert_eq!(hex(8).len(), 8);
        assert_ne!(hex(16), hex(16));
    }
}

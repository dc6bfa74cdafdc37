//! ferromtx's fuzz targets as plain functions (`targets::<name>::run`), so the whole
//! workspace compiles them and `tests/corpus.rs` runs them on stable; `fuzz_targets/*.rs`
//! wrap each for cargo-fuzz. A panic is a bug, never bad input.
//!
//! What the depacketizer targets share: the input is split into RTP payloads, each chunk
//! pushed to the depacketizer as one packet, and every frame pulled.

pub mod corpus;
pub mod mutate;
pub mod targets;

#[cfg(fuzzing)]
pub use libfuzzer_sys;

/// The body of `fuzz_targets/<name>.rs`: under cargo-fuzz (`--cfg fuzzing`) a libFuzzer
/// target; otherwise a `main` that replays the files (or directories of files) named as
/// arguments, for a crash found on nightly to be reproduced on stable.
#[macro_export]
macro_rules! fuzz_target {
    ($name:ident) => {
        #[cfg(fuzzing)]
        $crate::libfuzzer_sys::fuzz_target!(|data: &[u8]| $crate::targets::$name::run(data));

        #[cfg(not(fuzzing))]
        fn main() -> std::process::ExitCode {
            $crate::corpus::replay_main($crate::targets::$name::run)
        }
    };
}

use bytes::Bytes;
use ferromtx_codec::rtp::Packet;
use ferromtx_codec::{Format, depacketizer};

/// Chunk layout: `[flags, len, payload...]`; flags bit 0 = marker, bits 1-2 = sequence
/// numbers skipped, bit 3 = new timestamp.
pub fn depacketize_chunks(format: &Format, data: &[u8]) {
    let mut d = depacketizer(format);
    let mut rest = data;
    let mut seq = 0u16;
    let mut ts = 0u32;
    while let [flags, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        seq = seq.wrapping_add(1 + u16::from((flags >> 1) & 0x03));
        if flags & 0x08 != 0 {
            ts = ts.wrapping_add(3000);
        }
        let pkt = Packet {
            marker: flags & 0x01 != 0,
            payload_type: format.payload_type(),
            sequence_number: seq,
            timestamp: ts,
            ssrc: 1,
            csrc: Vec::new(),
            extension: None,
            payload: Bytes::copy_from_slice(payload),
        };
        let _ = d.push(&pkt);
        while let Some(frame) = d.pull() {
            assert!(!frame.parts.is_empty());
        }
    }
}

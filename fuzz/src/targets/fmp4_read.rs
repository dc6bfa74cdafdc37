//! The fMP4 reader fed any bytes: init segments and fragments never panic.

use bytes::Bytes;
use ferromtx_codec::fmp4::{Init, read_parts};

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let _ = Init::parse(data);
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(parts) = read_parts(&bytes) {
        for part in parts {
            for track in part.tracks {
                for sample in track.samples {
                    assert!(sample.payload.len() <= data.len());
                }
            }
        }
    }
}

//! The fMP4 answer of `/get`: the first segment's tracks in a fresh init (no `mtxi`, no
//! duration, as MediaMTX answers), then numbered fragments of about a second.

use bytes::Bytes;
use ferromtx_codec::fmp4::{Init, Part, PartTrack, Sample};

use super::window::OutRun;
use crate::mp4::{Header, find, write_box};

/// `ftyp` and `moov` (`mvhd` as the codec writes it, the tracks' `trak` and `mvex` boxes
/// as the segment has them).
pub(crate) fn init(header: &Header) -> Result<Vec<u8>, String> {
    let base = Init::default().marshal().map_err(|e| e.to_string())?;
    let ftyp = find(&base, b"ftyp")
        .map_err(|e| e.to_string())?
        .ok_or("ftyp box not found")?;
    let moov = find(&base, b"moov")
        .map_err(|e| e.to_string())?
        .ok_or("moov box not found")?;
    let mvhd = find(moov.body, b"mvhd")
        .map_err(|e| e.to_string())?
        .ok_or("mvhd box not found")?;
    let mut body = mvhd.bytes.to_vec();
    for t in &header.tracks {
        body.extend_from_slice(&t.trak);
    }
    body.extend_from_slice(&header.mvex);
    let mut out = ftyp.bytes.to_vec();
    write_box(&mut out, b"moov", &body);
    Ok(out)
}

/// One fragment.
pub(crate) fn part(sequence_number: u32, runs: Vec<OutRun<Bytes>>) -> Result<Vec<u8>, String> {
    let part = Part {
        sequence_number,
        tracks: runs
            .into_iter()
            .map(|r| PartTrack {
                id: r.id,
                base_time: r.base_time,
                samples: r
                    .samples
                    .into_iter()
                    .map(|s| Sample {
                        duration: s.duration,
                        pts_offset: s.pts_offset,
                        non_sync: s.non_sync,
                        payload: s.payload,
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut out = Vec::with_capacity(part.payload_len() + 1024);
    part.marshal(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

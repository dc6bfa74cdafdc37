//! The [`TsWriter`] of the `mpegts` variant over the codec crate's MPEG-TS muxer (the one
//! SRT readers and recordings use too).

use bytes::Bytes;
use ferromtx_codec::mpegts::{self, Codec, Track};
use ferromtx_codec::{Format, Frame};

use crate::mpegts::{TsError, TsWriter};

/// Clock of MPEG-TS timestamps.
const TS_CLOCK: i64 = 90_000;

/// Writes the units of the tracks an HLS muxer keeps as TS packets.
#[derive(Debug)]
pub struct CodecTsWriter {
    muxer: mpegts::Muxer,
    /// Per track given to the HLS muxer: its PID and clock rate, `None` when left out.
    tracks: Vec<Option<(u16, u32)>>,
    /// The tracks' formats, with the parameter sets seen in-band: TS has no init segment,
    /// so key frames carry them (publishers that announce them only in SDP never do).
    formats: Vec<Format>,
    /// The PID of the video track: the codec muxer puts tables before its key frames.
    video_pid: Option<u16>,
    tables_due: bool,
}

impl CodecTsWriter {
    /// A writer for `formats` (the stream's tracks, as given to the HLS muxer) of which
    /// `kept` are written; the others never reach it.
    pub fn new(formats: &[Format], kept: &[bool]) -> Result<CodecTsWriter, TsError> {
        let mut tracks = Vec::with_capacity(formats.len());
        let mut ts_tracks = Vec::new();
        for (i, format) in formats.iter().enumerate() {
            let codec = kept
                .get(i)
                .copied()
                .unwrap_or(false)
                .then(|| Codec::from_format(format))
                .flatten();
            match codec {
                Some(codec) => {
                    let pid = mpegts::FIRST_TRACK_PID + ts_tracks.len() as u16;
                    ts_tracks.push(Track { pid, codec });
                    tracks.push(Some((pid, format.clock_rate())));
                }
                None => tracks.push(None),
            }
        }
        let video_pid = ts_tracks.iter().find(|t| t.codec.is_video()).map(|t| t.pid);
        let muxer = mpegts::Muxer::new(ts_tracks).map_err(|e| TsError(e.to_string()))?;
        Ok(CodecTsWriter {
            muxer,
            tracks,
            formats: formats.to_vec(),
            video_pid,
            // The codec muxer starts with tables.
            tables_due: false,
        })
    }
}

fn to_90k(t: i64, clock_rate: u32) -> i64 {
    if clock_rate as i64 == TS_CLOCK || clock_rate == 0 {
        return t;
    }
    (i128::from(t) * i128::from(TS_CLOCK) / i128::from(clock_rate)) as i64
}

impl TsWriter for CodecTsWriter {
    fn write(
        &mut self,
        track: usize,
        pts: i64,
        dts: i64,
        random_access: bool,
        parts: &[Bytes],
        out: &mut Vec<u8>,
    ) -> Result<(), TsError> {
        let Some(Some((pid, clock))) = self.tracks.get(track).copied() else {
            return Err(TsError(format!("track {track} is not muxed")));
        };
        // A segment starts with PAT and PMT, so that a player can begin with it.
        if std::mem::take(&mut self.tables_due) && !(random_access && self.video_pid == Some(pid)) {
            self.muxer.write_tables(out);
        }
        let mut with_params = None;
        if let Some(format) = self.formats.get_mut(track)
            && format.has_params()
        {
            let frame = Frame {
                rtp_timestamp: 0,
                random_access,
                parts: parts.to_vec(),
            };
            format.update_params(&frame);
            with_params = format.with_params(&frame);
        }
        let parts = with_params.as_ref().map_or(parts, |f| f.parts.as_slice());
        self.muxer
            .write(
                pid,
                to_90k(pts, clock),
                to_90k(dts, clock),
                random_access,
                parts,
                out,
            )
            .map_err(|e| TsError(e.to_string()))
    }

    fn segment_started(&mut self) {
        self.tables_due = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_start_with_tables_and_audio_is_rescaled() {
        let formats = [
            Format::H264 {
                payload_type: 96,
                sps: None,
                pps: None,
                packetization_mode: 1,
            },
            Format::G722 { payload_type: 9 },
            Format::Mpeg4Audio {
                payload_type: 97,
                config: Bytes::from_static(&[0x11, 0x90]),
                size_length: 13,
                index_length: 3,
                index_delta_length: 3,
            },
        ];
        let mut w = CodecTsWriter::new(&formats, &[true, false, true]).expect("writer");
        let mut out = Vec::new();
        w.write(
            2,
            48_000,
            48_000,
            true,
            &[Bytes::from_static(&[1, 2])],
            &mut out,
        )
        .expect("audio");
        // PAT, PMT, then the audio PES on the second PID.
        assert_eq!(out.len() % 188, 0);
        assert_eq!(&out[1..3], &[0x40, 0x00]);
        let audio = &out[2 * 188..];
        assert_eq!(audio[1] & 0x1f, 0x01);
        assert_eq!(audio[2], 0x01);
        assert_eq!(to_90k(48_000, 48_000), 90_000);
        assert!(w.write(1, 0, 0, true, &[], &mut out).is_err());
        let before = out.len();
        w.write(
            2,
            49_024,
            49_024,
            true,
            &[Bytes::from_static(&[3])],
            &mut out,
        )
        .expect("audio");
        assert_eq!(out.len() - before, 188, "no tables mid-segment");
        w.segment_started();
        let before = out.len();
        w.write(
            2,
            50_048,
            50_048,
            true,
            &[Bytes::from_static(&[4])],
            &mut out,
        )
        .expect("audio");
        assert_eq!(out.len() - before, 3 * 188, "tables at a segment start");
    }
}

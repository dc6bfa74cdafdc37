//! `from_stream` for MPEG-TS readers: a derived view that muxes every unit of the stream
//! once, shared by every SRT reader of the stream (a reader costs a cursor and a send).
//!
//! Tracks whose codec MPEG-TS does not carry here are skipped. Timestamps: the unit's PTS
//! (and DTS when its publisher's container gave one) converted to 90 kHz; H264/H265
//! keyframes get the stream's parameter sets in front when they carry none.

use bytes::Bytes;
use ferromtx_codec::mpegts::{self, Codec, Muxer};
use ferromtx_core::{Track, Unit, View};

/// The MPEG-TS view of a stream: each unit's TS packets (PAT and PMT before keyframes of
/// the PCR track and every 100 ms).
pub struct TsView {
    muxer: Option<Muxer>,
    /// By stream track index: its PID, when the track is muxed.
    pids: Vec<Option<u16>>,
    out: Vec<u8>,
}

/// The tracks (by stream index) and codecs an MPEG-TS reader gets of a stream.
pub fn muxed_tracks(tracks: &[Track]) -> Vec<(usize, Codec)> {
    tracks
        .iter()
        .enumerate()
        .filter_map(|(i, t)| Codec::from_format(&t.format).map(|c| (i, c)))
        .collect()
}

impl View for TsView {
    type Key = ();
    type Output = Bytes;

    fn new(_key: &(), tracks: &[Track]) -> TsView {
        let muxed = muxed_tracks(tracks);
        let mut pids = vec![None; tracks.len()];
        let muxer = Muxer::new(
            muxed
                .iter()
                .map(|(_, codec)| mpegts::Track {
                    pid: 0,
                    codec: codec.clone(),
                })
                .collect(),
        )
        .ok();
        if let Some(m) = &muxer {
            for ((index, _), track) in muxed.iter().zip(m.tracks()) {
                if let Some(slot) = pids.get_mut(*index) {
                    *slot = Some(track.pid);
                }
            }
        }
        TsView {
            muxer,
            pids,
            out: Vec::new(),
        }
    }

    fn transform(&mut self, unit: &Unit, tracks: &[Track]) -> Option<Bytes> {
        let pid = (*self.pids.get(unit.track)?)?;
        let muxer = self.muxer.as_mut()?;
        let frame = unit.frame.as_ref()?;
        let track = tracks.get(unit.track)?;
        let with_params = track.format.with_params(frame);
        let frame = with_params.as_ref().unwrap_or(frame);
        let rate = i64::from(track.format.clock_rate().max(1));
        let pts = to_90k(unit.pts, rate);
        let dts = unit.dts.map_or(pts, |d| to_90k(d, rate));
        self.out.clear();
        match muxer.write(
            pid,
            pts,
            dts,
            unit.random_access,
            &frame.parts,
            &mut self.out,
        ) {
            Ok(()) => Some(Bytes::copy_from_slice(&self.out)),
            Err(e) => {
                tracing::debug!("MPEG-TS mux error: {e}");
                None
            }
        }
    }
}

/// A timestamp in `rate` as 90 kHz.
fn to_90k(v: i64, rate: i64) -> i64 {
    if rate == 90_000 {
        return v;
    }
    let secs = v.div_euclid(rate);
    let rem = v.rem_euclid(rate);
    secs * 90_000 + rem * 90_000 / rate
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromtx_codec::mpegts::{Demuxer, Event};
    use ferromtx_codec::{Format, Frame};
    use ferromtx_core::Stream;

    #[test]
    fn converts_clock_rates() {
        assert_eq!(to_90k(48_000, 48_000), 90_000);
        assert_eq!(to_90k(960, 48_000), 1_800);
        assert_eq!(to_90k(-960, 48_000), -1_800);
    }

    #[test]
    fn muxes_once_per_stream_and_demuxes_back() {
        let h264 = Format::H264 {
            payload_type: 96,
            sps: Some(Bytes::from_static(&[
                0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47,
            ])),
            pps: Some(Bytes::from_static(&[0x68, 0xce, 0x3c, 0x80])),
            packetization_mode: 1,
        };
        let g711 = Format::G711 {
            payload_type: 0,
            mu_law: true,
            sample_rate: 8000,
            channels: 1,
        };
        let opus = Format::Opus {
            payload_type: 111,
            channels: 2,
        };
        let stream = Stream::new(
            "test",
            ferromtx_core::ingest::tracks_of(&[h264, g711, opus]),
            64,
        );
        assert_eq!(
            muxed_tracks(stream.tracks())
                .iter()
                .map(|(i, _)| *i)
                .collect::<Vec<_>>(),
            [0, 2]
        );
        let a = stream.view::<TsView>(());
        let b = stream.view::<TsView>(());
        let mut reader = stream.reader();
        let mut ingest = ferromtx_core::UnitIngest::new(stream.clone());
        // An IDR without parameter sets gets the described ones.
        let idr = Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![Bytes::from_static(&[0x65, 0x88, 0x84])],
        };
        ingest.write(0, 9_000, None, None, idr).expect("write");
        let opus = Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![Bytes::from_static(&[0xfc, 0x01])],
        };
        ingest.write(2, 4_800, None, None, opus).expect("write");
        let p = Frame {
            rtp_timestamp: 0,
            random_access: false,
            parts: vec![Bytes::from_static(&[0x41, 0x9a])],
        };
        ingest
            .write(0, 12_600, None, None, p.clone())
            .expect("write");
        ingest.write(0, 16_200, None, None, p).expect("write");

        let now = tokio::time::Instant::now();
        let mut demuxer = Demuxer::new();
        while let ferromtx_core::TryNext::Unit(u) = reader.try_next(now) {
            let x = u.view(&a).expect("muxed");
            // Both handles share one view: the same bytes.
            assert_eq!(Some(x), u.view(&b));
            demuxer.push(x);
        }
        let mut aus = Vec::new();
        while let Some(e) = demuxer.pull() {
            if let Event::AccessUnit(au) = e {
                aus.push((au.pid, au.pts, au.random_access, au.parts.len()));
            }
        }
        // SPS, PPS, IDR; Opus at 4800/48000 s = 9000 in 90 kHz.
        assert_eq!(
            aus,
            [
                (256, 9_000, true, 3),
                (257, 9_000, true, 1),
                (256, 12_600, false, 1),
                (256, 16_200, false, 1)
            ]
        );
    }
}

//! The muxer: access units in, 188-byte packets out.

use bytes::Bytes;

use super::es::{self, EsError};
use super::packet::{MAX_PAYLOAD, NULL_PID, PacketOptions, write_packet};
use super::pes::{
    STREAM_ID_AUDIO, STREAM_ID_METADATA, STREAM_ID_PRIVATE_1, STREAM_ID_VIDEO, write_header,
};
use super::psi::{Pat, Pmt, PmtStream, write_section_packets};
use super::{Codec, Track, adts};

/// PID of the program map table (as ffmpeg and MediaMTX write it).
pub const PMT_PID: u16 = 0x1000;
/// First PID given to tracks that ask for one.
pub const FIRST_TRACK_PID: u16 = 0x100;
/// PAT and PMT are repeated at least this often (100 ms at 90 kHz) of DTS.
pub const TABLE_INTERVAL: i64 = 9_000;
/// The PCR runs this far (100 ms) behind the DTS of the packet that carries it, so that
/// decoders have the data before it is due (MediaMTX uses the same offset).
const PCR_OFFSET: i64 = 9_000;
const PROGRAM_NUMBER: u16 = 1;

/// Why a track list or an access unit cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MuxError {
    #[error("no tracks")]
    NoTracks,
    #[error("PID {0} is reserved or used twice")]
    Pid(u16),
    #[error("no track with PID {0}")]
    UnknownTrack(u16),
    #[error("{0}")]
    AccessUnit(#[from] EsError),
    #[error("{codec}: PES of {size} bytes exceeds 65535 (only video may be longer)")]
    TooLarge { codec: &'static str, size: usize },
    #[error("{codec}: {reason}")]
    Config {
        codec: &'static str,
        reason: &'static str,
    },
}

#[derive(Debug)]
struct MuxTrack {
    track: Track,
    cc: u8,
}

/// Sans-IO MPEG-TS muxer of one program.
///
/// Tables: PAT and PMT are written before the first access unit, before every
/// random-access unit of the PCR track when it is video, and whenever
/// [`TABLE_INTERVAL`] of DTS has passed since the last ones (so an audio-only stream, or
/// video with long GOPs, still repeats them ten times a second, as ffmpeg does).
/// PCR: on the first video track (else the first track), in the first packet of each of
/// its PES packets.
#[derive(Debug)]
pub struct Muxer {
    tracks: Vec<MuxTrack>,
    pcr_pid: u16,
    pat: Vec<u8>,
    pmt: Vec<u8>,
    pat_cc: u8,
    pmt_cc: u8,
    last_tables: Option<i64>,
    pes: Vec<u8>,
}

fn valid_pid(pid: u16) -> bool {
    (0x0010..NULL_PID).contains(&pid) && pid != PMT_PID
}

impl Muxer {
    /// A muxer for `tracks`; PID 0 means "the next free one from 256".
    pub fn new(tracks: Vec<Track>) -> Result<Muxer, MuxError> {
        if tracks.is_empty() {
            return Err(MuxError::NoTracks);
        }
        let mut used: Vec<u16> = Vec::with_capacity(tracks.len());
        for t in tracks.iter().filter(|t| t.pid != 0) {
            if !valid_pid(t.pid) || used.contains(&t.pid) {
                return Err(MuxError::Pid(t.pid));
            }
            used.push(t.pid);
        }
        let mut next = FIRST_TRACK_PID;
        let mut assigned = Vec::with_capacity(tracks.len());
        for mut track in tracks {
            if track.pid == 0 {
                while used.contains(&next) || !valid_pid(next) {
                    next += 1;
                }
                track.pid = next;
                used.push(next);
            }
            if let Codec::Mpeg4Audio { config } = &track.codec {
                adts::write(&mut Vec::new(), config, &[]).map_err(|reason| MuxError::Config {
                    codec: "MPEG-4 Audio",
                    reason,
                })?;
            }
            assigned.push(MuxTrack { track, cc: 0 });
        }
        let pcr_pid = assigned
            .iter()
            .find(|t| t.track.codec.is_video())
            .or(assigned.first())
            .map_or(FIRST_TRACK_PID, |t| t.track.pid);
        let pat = Pat {
            transport_stream_id: 1,
            programs: vec![(PROGRAM_NUMBER, PMT_PID)],
        }
        .marshal();
        let pmt = Pmt {
            program_number: PROGRAM_NUMBER,
            pcr_pid,
            streams: assigned
                .iter()
                .map(|t| PmtStream::for_track(&t.track))
                .collect(),
        }
        .marshal();
        Ok(Muxer {
            tracks: assigned,
            pcr_pid,
            pat,
            pmt,
            pat_cc: 0,
            pmt_cc: 0,
            last_tables: None,
            pes: Vec::new(),
        })
    }

    /// The tracks, with their PIDs.
    pub fn tracks(&self) -> impl Iterator<Item = &Track> {
        self.tracks.iter().map(|t| &t.track)
    }

    /// The PID that carries the PCR.
    pub fn pcr_pid(&self) -> u16 {
        self.pcr_pid
    }

    /// Appends PAT and PMT (for a reader joining now).
    pub fn write_tables(&mut self, out: &mut Vec<u8>) {
        write_section_packets(out, 0, &mut self.pat_cc, &self.pat);
        write_section_packets(out, PMT_PID, &mut self.pmt_cc, &self.pmt);
    }

    /// Appends the packets of one access unit of the track `pid`: `parts` as in
    /// [`crate::Frame::parts`], PTS and DTS in 90 kHz (written modulo 2^33).
    pub fn write(
        &mut self,
        pid: u16,
        pts: i64,
        dts: i64,
        random_access: bool,
        parts: &[Bytes],
        out: &mut Vec<u8>,
    ) -> Result<(), MuxError> {
        let index = self
            .tracks
            .iter()
            .position(|t| t.track.pid == pid)
            .ok_or(MuxError::UnknownTrack(pid))?;
        let codec = &self.tracks[index].track.codec;
        let (stream_id, pts_field, dts_field) = match codec {
            Codec::H264 | Codec::H265 | Codec::Mpeg1Video | Codec::Mpeg4Video => {
                (STREAM_ID_VIDEO, Some(pts), (dts != pts).then_some(dts))
            }
            Codec::Mpeg4Audio { .. } | Codec::Mpeg4AudioLatm | Codec::Mpeg1Audio => {
                (STREAM_ID_AUDIO, Some(pts), None)
            }
            Codec::Opus { .. } | Codec::Ac3 { .. } => (STREAM_ID_PRIVATE_1, Some(pts), None),
            Codec::Klv { synchronous: true } => (STREAM_ID_METADATA, Some(pts), None),
            // Asynchronous KLV has no timestamps of its own (MISB ST 1402).
            Codec::Klv { synchronous: false } => (STREAM_ID_PRIVATE_1, None, None),
        };
        self.pes.clear();
        write_header(
            &mut self.pes,
            stream_id,
            pts_field.map(|t| t as u64),
            dts_field.map(|t| t as u64),
            0,
        );
        es::join(codec, parts, &mut self.pes)?;
        let length = self.pes.len() - 6;
        let length = match u16::try_from(length) {
            Ok(length) => length,
            Err(_) if codec.is_video() => 0,
            Err(_) => {
                return Err(MuxError::TooLarge {
                    codec: codec.name(),
                    size: self.pes.len(),
                });
            }
        };
        if let Some(field) = self.pes.get_mut(4..6) {
            field.copy_from_slice(&length.to_be_bytes());
        }

        let leading = pid == self.pcr_pid;
        let tables_due = match self.last_tables {
            None => true,
            Some(last) => {
                (leading && random_access && codec.is_video())
                    || dts.saturating_sub(last) >= TABLE_INTERVAL
                    || dts < last
            }
        };
        if tables_due {
            self.write_tables(out);
            self.last_tables = Some(dts);
        }

        let track = &mut self.tracks[index];
        let mut rest = &self.pes[..];
        let mut first = true;
        out.reserve(rest.len().div_ceil(MAX_PAYLOAD - 8) * 188);
        while first || !rest.is_empty() {
            let opts = PacketOptions {
                pid,
                payload_unit_start: first,
                continuity_counter: track.cc,
                random_access: first && random_access,
                pcr_base: (first && leading).then(|| dts.wrapping_sub(PCR_OFFSET) as u64),
            };
            let n = write_packet(out, &opts, rest);
            rest = &rest[n..];
            track.cc = (track.cc + 1) & 0x0f;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpeg4audio::AudioSpecificConfig;
    use crate::mpegts::packet::Packet;

    fn packets(out: &[u8]) -> Vec<Packet<'_>> {
        out.chunks(188)
            .map(|p| Packet::parse(p).expect("valid packet"))
            .collect()
    }

    #[test]
    fn pids_are_assigned_and_checked() {
        let m = Muxer::new(vec![
            Track {
                pid: 0,
                codec: Codec::Mpeg1Audio,
            },
            Track {
                pid: 0x100,
                codec: Codec::H264,
            },
        ])
        .expect("valid");
        let pids: Vec<u16> = m.tracks().map(|t| t.pid).collect();
        assert_eq!(pids, vec![0x101, 0x100]);
        assert_eq!(m.pcr_pid(), 0x100);
        let dup = vec![
            Track {
                pid: 0x100,
                codec: Codec::H264,
            };
            2
        ];
        assert_eq!(Muxer::new(dup).err(), Some(MuxError::Pid(0x100)));
        let pmt = Track {
            pid: PMT_PID,
            codec: Codec::H264,
        };
        assert_eq!(Muxer::new(vec![pmt]).err(), Some(MuxError::Pid(PMT_PID)));
        assert_eq!(Muxer::new(vec![]).err(), Some(MuxError::NoTracks));
        let he_aac = Track {
            pid: 0,
            codec: Codec::Mpeg4Audio {
                config: AudioSpecificConfig {
                    object_type: 5,
                    sample_rate: 44_100,
                    channel_count: 2,
                    extension_sample_rate: None,
                    frame_length_960: false,
                },
            },
        };
        assert!(matches!(
            Muxer::new(vec![he_aac]),
            Err(MuxError::Config { .. })
        ));
    }

    #[test]
    fn tables_pcr_and_counters() {
        let mut m = Muxer::new(vec![Track {
            pid: 0,
            codec: Codec::H264,
        }])
        .expect("valid");
        let idr = Bytes::from(vec![0x65; 400]);
        let p = Bytes::from_static(&[0x41, 0x9a]);
        let mut out = Vec::new();
        m.write(0x100, 99_000, 90_000, true, &[idr], &mut out)
            .expect("written");
        let pk = packets(&out);
        // PAT, PMT, then 3 packets of video (4 + 19 + 6 + 400 bytes).
        assert_eq!(pk.len(), 5);
        assert_eq!((pk[0].header.pid, pk[1].header.pid), (0, PMT_PID));
        let af = pk[2].adaptation_field.expect("adaptation field");
        assert!(af.random_access);
        assert_eq!(af.pcr, Some(81_000 * 300));
        assert!(pk[2].header.payload_unit_start);
        let ccs: Vec<u8> = pk[2..]
            .iter()
            .map(|p| p.header.continuity_counter)
            .collect();
        assert_eq!(ccs, vec![0, 1, 2]);
        // A P-frame 40 ms later: no tables.
        out.clear();
        m.write(
            0x100,
            102_600,
            93_600,
            false,
            std::slice::from_ref(&p),
            &mut out,
        )
        .expect("written");
        let pk = packets(&out);
        assert_eq!(pk.len(), 1);
        assert_eq!(pk[0].header.continuity_counter, 3);
        assert!(!pk[0].adaptation_field.expect("pcr").random_access);
        // 100 ms after the last tables: tables again.
        out.clear();
        m.write(0x100, 108_000, 99_000, false, &[p], &mut out)
            .expect("written");
        assert_eq!(packets(&out).len(), 3);
        assert_eq!(
            m.write(7, 0, 0, false, &[], &mut out).err(),
            Some(MuxError::UnknownTrack(7))
        );
    }

    #[test]
    fn audio_pes_must_fit_its_length_field() {
        let mut m = Muxer::new(vec![Track {
            pid: 0,
            codec: Codec::Mpeg1Audio,
        }])
        .expect("valid");
        let mut out = Vec::new();
        let big = Bytes::from(vec![0; 70_000]);
        assert!(matches!(
            m.write(0x100, 0, 0, true, &[big], &mut out),
            Err(MuxError::TooLarge { .. })
        ));
        let mut v = Muxer::new(vec![Track {
            pid: 0,
            codec: Codec::Mpeg4Video,
        }])
        .expect("valid");
        let big = Bytes::from(vec![0; 70_000]);
        v.write(0x100, 0, 0, true, &[big], &mut out)
            .expect("video may be unbounded");
        assert_eq!(out.len() % 188, 0);
    }
}

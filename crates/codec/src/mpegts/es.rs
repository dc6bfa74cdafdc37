//! Elementary stream payloads: a PES payload split into the parts of an access unit, per
//! codec, and parts joined into a PES payload for the muxer.

use bytes::Bytes;

use super::psi::Declared;
use super::{Codec, ac3, adts, annexb, klv, latm, mpeg1audio, opus};

/// Why an access unit could not be split or joined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EsError {
    #[error("{codec}: {reason}")]
    Malformed {
        codec: &'static str,
        reason: &'static str,
    },
    #[error("{codec}: access unit has no data")]
    Empty { codec: &'static str },
}

/// The parts of one access unit, whether it is a random-access point, and the codec
/// parameters its in-band headers announce (ADTS, AC-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    pub parts: Vec<Bytes>,
    pub random_access: bool,
    pub codec: Codec,
}

/// Splits the payload of one PES of a stream declared as `declared`.
pub(crate) fn split(declared: &Declared, payload: Bytes) -> Result<Split, EsError> {
    let codec = match declared {
        Declared::Codec(c) => c.clone(),
        Declared::Adts => {
            let (parts, config) = adts::split(&payload).map_err(malformed("MPEG-4 Audio"))?;
            return Ok(Split {
                parts,
                random_access: true,
                codec: Codec::Mpeg4Audio { config },
            });
        }
        Declared::Ac3 => {
            let (parts, info) = ac3::split(&payload).map_err(malformed("AC-3"))?;
            return Ok(Split {
                parts,
                random_access: true,
                codec: Codec::Ac3 {
                    sample_rate: info.sample_rate,
                    channel_count: info.channel_count,
                },
            });
        }
        Declared::Unsupported => {
            return Err(EsError::Malformed {
                codec: "unsupported",
                reason: "stream type not read",
            });
        }
    };
    let name = codec.name();
    let (parts, random_access) = match &codec {
        Codec::H264 | Codec::H265 => {
            let mut nalus = annexb::split(&payload).ok_or(EsError::Malformed {
                codec: name,
                reason: "access unit does not start with a start code",
            })?;
            let is_aud = |n: &Bytes| match codec {
                Codec::H264 => crate::h264::nal_type(n) == crate::h264::NAL_AUD,
                _ => crate::h265::nal_type(n) == crate::h265::NAL_AUD,
            };
            if nalus.first().is_some_and(is_aud) {
                nalus.remove(0);
            }
            let random_access = match codec {
                Codec::H264 => crate::h264::is_random_access(&nalus),
                _ => crate::h265::is_random_access(&nalus),
            };
            (nalus, random_access)
        }
        Codec::Mpeg4Audio { .. } => {
            let (parts, _) = adts::split(&payload).map_err(malformed(name))?;
            (parts, true)
        }
        Codec::Ac3 { .. } => {
            let (parts, _) = ac3::split(&payload).map_err(malformed(name))?;
            (parts, true)
        }
        Codec::Mpeg4AudioLatm => (latm::split(&payload).map_err(malformed(name))?, true),
        Codec::Opus { .. } => (opus::split(&payload).map_err(malformed(name))?, true),
        Codec::Mpeg1Audio => (mpeg1audio::split(&payload).map_err(malformed(name))?, true),
        Codec::Mpeg1Video => {
            let random_access = mpeg12_video_random_access(&payload);
            (vec![payload], random_access)
        }
        Codec::Mpeg4Video => {
            let random_access = mpeg4_video_random_access(&payload);
            (vec![payload], random_access)
        }
        Codec::Klv { synchronous: true } => (
            vec![klv::unwrap_cells(&payload).map_err(malformed(name))?],
            true,
        ),
        Codec::Klv { synchronous: false } => (vec![payload], true),
    };
    if parts.is_empty() || parts.iter().all(Bytes::is_empty) {
        return Err(EsError::Empty { codec: name });
    }
    Ok(Split {
        parts,
        random_access,
        codec,
    })
}

fn malformed(codec: &'static str) -> impl Fn(&'static str) -> EsError {
    move |reason| EsError::Malformed { codec, reason }
}

/// Positions just after each `00 00 01` start code.
fn start_codes(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    data.windows(3)
        .enumerate()
        .filter(|(_, w)| *w == [0, 0, 1])
        .map(|(i, _)| i + 3)
}

/// MPEG-1/2 video: a sequence header (0xB3) or group of pictures header (0xB8) starts
/// the frame's data, as encoders put them before intra pictures.
fn mpeg12_video_random_access(data: &[u8]) -> bool {
    start_codes(data).any(|i| matches!(data.get(i), Some(0xb3 | 0xb8)))
}

/// MPEG-4 part 2: a VOP (0xB6) whose vop_coding_type is 0 (intra).
fn mpeg4_video_random_access(data: &[u8]) -> bool {
    start_codes(data).any(|i| matches!(data.get(i..i + 2), Some([0xb6, t]) if t >> 6 == 0))
}

/// Appends the PES payload of one access unit of `codec`.
pub(crate) fn join(codec: &Codec, parts: &[Bytes], out: &mut Vec<u8>) -> Result<(), EsError> {
    let name = codec.name();
    if parts.iter().all(Bytes::is_empty) {
        return Err(EsError::Empty { codec: name });
    }
    let parts = parts.iter().filter(|p| !p.is_empty());
    match codec {
        Codec::H264 => {
            let first = parts.clone().next();
            if first.is_none_or(|n| crate::h264::nal_type(n) != crate::h264::NAL_AUD) {
                // An access unit delimiter first, as MediaMTX writes (Apple players want it).
                annexb::join(out, [&[crate::h264::NAL_AUD, 0xf0][..]]);
            }
            annexb::join(out, parts.map(|p| &p[..]));
        }
        Codec::H265 => {
            let first = parts.clone().next();
            if first.is_none_or(|n| crate::h265::nal_type(n) != crate::h265::NAL_AUD) {
                annexb::join(out, [&[crate::h265::NAL_AUD << 1, 0x01, 0x50][..]]);
            }
            annexb::join(out, parts.map(|p| &p[..]));
        }
        Codec::Mpeg4Audio { config } => {
            for au in parts {
                adts::write(out, config, au).map_err(malformed(name))?;
            }
        }
        Codec::Mpeg4AudioLatm => {
            for element in parts {
                latm::write(out, element).map_err(malformed(name))?;
            }
        }
        Codec::Opus { .. } => parts.for_each(|p| opus::write(out, p)),
        Codec::Klv { synchronous: true } => {
            let mut data = Vec::new();
            parts.for_each(|p| data.extend_from_slice(p));
            klv::write_cells(out, &data);
        }
        Codec::Mpeg1Audio
        | Codec::Ac3 { .. }
        | Codec::Mpeg1Video
        | Codec::Mpeg4Video
        | Codec::Klv { synchronous: false } => parts.for_each(|p| out.extend_from_slice(p)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_random_access_detection() {
        // MPEG-2: sequence header then picture.
        assert!(mpeg12_video_random_access(&[
            0, 0, 1, 0xb3, 0x14, 0, 0, 1, 0x00
        ]));
        assert!(!mpeg12_video_random_access(&[0, 0, 1, 0x00, 0x00, 0x10]));
        // MPEG-4: I-VOP (coding type 00) vs P-VOP (01).
        assert!(mpeg4_video_random_access(&[
            0, 0, 1, 0xb0, 1, 0, 0, 1, 0xb6, 0x10
        ]));
        assert!(!mpeg4_video_random_access(&[0, 0, 1, 0xb6, 0x50]));
        assert!(!mpeg4_video_random_access(&[0, 0, 1, 0xb6]));
    }

    #[test]
    fn h264_gets_an_aud_and_loses_it_again() {
        let idr = Bytes::from_static(&[0x65, 0x88, 0x84]);
        let mut out = Vec::new();
        join(&Codec::H264, std::slice::from_ref(&idr), &mut out).expect("joins");
        assert_eq!(out, [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 0x88, 0x84]);
        let s = split(&Declared::Codec(Codec::H264), Bytes::from(out)).expect("splits");
        assert_eq!((s.parts, s.random_access), (vec![idr], true));
        let mut out = Vec::new();
        let trail = Bytes::from_static(&[0x02, 0x01, 0xd0]);
        join(&Codec::H265, std::slice::from_ref(&trail), &mut out).expect("joins");
        assert_eq!(&out[..7], &[0, 0, 0, 1, 0x46, 0x01, 0x50]);
        let s = split(&Declared::Codec(Codec::H265), Bytes::from(out)).expect("splits");
        assert_eq!((s.parts, s.random_access), (vec![trail], false));
    }

    #[test]
    fn empty_and_broken_units() {
        let mut out = Vec::new();
        assert_eq!(
            join(&Codec::Mpeg1Audio, &[Bytes::new()], &mut out),
            Err(EsError::Empty {
                codec: "MPEG-1/2 Audio"
            })
        );
        assert_eq!(
            split(
                &Declared::Codec(Codec::H264),
                Bytes::from_static(&[0, 0, 1, 0x09, 0xf0])
            ),
            Err(EsError::Empty { codec: "H264" })
        );
        assert!(split(&Declared::Codec(Codec::H264), Bytes::from_static(&[0x65])).is_err());
        assert!(split(&Declared::Adts, Bytes::from_static(&[0xff])).is_err());
        assert!(split(&Declared::Ac3, Bytes::from_static(&[0x0b])).is_err());
        assert!(split(&Declared::Unsupported, Bytes::from_static(&[1])).is_err());
    }
}

//! MPEG-1/2 audio, layers I to III (ISO/IEC 11172-3, 13818-3; layer III is MP3): the frame
//! header, and the RTP payload format of RFC 2250 section 3 ("MPA", static payload type 14,
//! 90 kHz clock).
//!
//! An RFC 2250 payload starts with a 4-byte header (16 bits must be zero, then the 16-bit
//! offset into the audio frame of the first byte that follows), then either whole frames or
//! one fragment of a frame larger than a packet. All fragments of a frame carry the same
//! timestamp; a frame's length comes from its own header, so its end is known without a
//! marker. Frames are at most [`MAX_FRAME_LEN`] bytes, which bounds the reassembly buffer.
//!
//! The core keeps such a track as a [`Format::Generic`] whose frames are the RTP payloads as
//! they came (RTSP readers get them back untouched), or bare MPEG audio frames when an RTMP
//! publisher sent them (FLV carries no RFC 2250 header). The first byte tells them apart: a
//! payload starts with 16 zero bits, a frame with its sync byte `0xFF`.
//! [`Rfc2250Depacketizer`] turns either into whole frames for those that decode the audio.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::format::Format;

/// RFC 3551's static payload type of MPEG audio.
pub const STATIC_PAYLOAD_TYPE: u8 = 14;

/// The name [`Format::codec_name`] gives such a track, as MediaMTX does.
pub const CODEC: &str = "MPEG-1/2 Audio";

/// Largest frame a valid header describes: MPEG-2.5 layer II, 160 kbit/s at 8 kHz, padded.
pub const MAX_FRAME_LEN: usize = 2881;

/// Bit rates in kbit/s: [MPEG-1 L1, L2, L3, MPEG-2/2.5 L1, L2/L3], index 1..=14.
const BIT_RATES: [[u32; 14]; 5] = [
    [
        32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
    [
        32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// Sample rates of MPEG-1; MPEG-2 halves them, MPEG-2.5 quarters them.
const SAMPLE_RATES: [u32; 3] = [44_100, 48_000, 32_000];

/// Whether a track is MPEG-1/2 audio carried as RFC 2250 describes: static payload type 14
/// without an `rtpmap`, or any payload type mapped to `MPA`.
pub fn is_rfc2250(format: &Format) -> bool {
    match format {
        Format::Generic {
            payload_type,
            rtpmap: None,
            ..
        } => *payload_type == STATIC_PAYLOAD_TYPE,
        Format::Generic {
            rtpmap: Some(rtpmap),
            ..
        } => rtpmap
            .split('/')
            .next()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case("MPA")),
        _ => false,
    }
}

/// Why four bytes are not a usable frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    Sync,
    Reserved,
    FreeFormat,
    BitRate,
    SampleRate,
}

impl HeaderError {
    /// The reason in words.
    pub fn reason(self) -> &'static str {
        match self {
            HeaderError::Sync => "MPEG audio sync missing",
            HeaderError::Reserved => "MPEG audio version or layer reserved",
            HeaderError::FreeFormat => "MPEG audio free-format bit rate",
            HeaderError::BitRate => "MPEG audio bit rate invalid",
            HeaderError::SampleRate => "MPEG audio sample rate reserved",
        }
    }
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for HeaderError {}

/// MPEG audio version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Mpeg1,
    Mpeg2,
    /// The unofficial extension to 8, 11.025 and 12 kHz.
    Mpeg25,
}

/// The fields of a frame header that say what the frame holds and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub version: Version,
    /// 1, 2 or 3.
    pub layer: u8,
    /// Bits per second.
    pub bit_rate: u32,
    pub sample_rate: u32,
    /// 1 (single channel) or 2 (stereo, joint stereo, dual channel).
    pub channels: u8,
    /// The whole frame, header included, in bytes.
    pub length: usize,
}

impl FrameHeader {
    /// Parses the header that starts `data` (at least 4 bytes).
    pub fn parse(data: &[u8]) -> Result<FrameHeader, HeaderError> {
        let [0xff, b1, b2, b3, ..] = *data else {
            return Err(HeaderError::Sync);
        };
        if b1 & 0xe0 != 0xe0 {
            return Err(HeaderError::Sync);
        }
        let version = match (b1 >> 3) & 0x03 {
            0 => Version::Mpeg25,
            2 => Version::Mpeg2,
            3 => Version::Mpeg1,
            _ => return Err(HeaderError::Reserved),
        };
        let layer = match (b1 >> 1) & 0x03 {
            1 => 3,
            2 => 2,
            3 => 1,
            _ => return Err(HeaderError::Reserved),
        };
        let rate_index = usize::from(b2 >> 4);
        if rate_index == 0 {
            return Err(HeaderError::FreeFormat);
        }
        let table = match (version, layer) {
            (Version::Mpeg1, l) => usize::from(l - 1),
            (_, 1) => 3,
            _ => 4,
        };
        let kbits = *BIT_RATES[table]
            .get(rate_index - 1)
            .ok_or(HeaderError::BitRate)?;
        let bit_rate = kbits * 1000;
        let sample_rate = *SAMPLE_RATES
            .get(usize::from((b2 >> 2) & 0x03))
            .ok_or(HeaderError::SampleRate)?
            >> match version {
                Version::Mpeg1 => 0,
                Version::Mpeg2 => 1,
                Version::Mpeg25 => 2,
            };
        let padding = u32::from((b2 >> 1) & 0x01);
        let length = match layer {
            1 => (12 * bit_rate / sample_rate + padding) * 4,
            3 if version != Version::Mpeg1 => 72 * bit_rate / sample_rate + padding,
            _ => 144 * bit_rate / sample_rate + padding,
        };
        Ok(FrameHeader {
            version,
            layer,
            bit_rate,
            sample_rate,
            channels: if b3 >> 6 == 3 { 1 } else { 2 },
            length: length as usize,
        })
    }

    /// Samples per channel in the frame.
    pub fn samples(&self) -> u32 {
        match (self.layer, self.version) {
            (1, _) => 384,
            (3, Version::Mpeg2 | Version::Mpeg25) => 576,
            _ => 1152,
        }
    }
}

/// One frame out of RFC 2250 packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpaFrame {
    /// Timestamp of its first sample, in the clock of the packets'.
    pub pts: i64,
    pub header: FrameHeader,
    /// The whole frame, header included.
    pub data: Bytes,
}

/// Why (part of) a payload was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rfc2250Error {
    #[error("RTP payload of {0} bytes is shorter than the RFC 2250 header")]
    Short(usize),
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("fragment at offset {0} without the start of its frame (packet lost)")]
    LostStart(u16),
    #[error("frame dropped without its last fragment (packet lost)")]
    LostEnd,
    #[error("{0} bytes after the end of a fragmented frame")]
    Trailing(usize),
    #[error("frame {0} bytes short")]
    Truncated(usize),
}

/// A frame whose first fragment came, waiting for the others.
#[derive(Debug)]
struct Partial {
    /// Timestamp of the packets that carry it.
    packet_pts: i64,
    pts: i64,
    header: FrameHeader,
    data: BytesMut,
}

/// Whole frames out of the payloads of an RFC 2250 track: [`Rfc2250Depacketizer::push`] a
/// payload with its timestamp, then [`Rfc2250Depacketizer::pull`] until `None`.
///
/// A frame whose fragments do not all come in sequence is dropped; so is anything after an
/// invalid frame header in a payload. Frames before the problem are kept. Fragments before
/// the first frame start (a reader joining mid-frame) are skipped without an error.
#[derive(Debug)]
pub struct Rfc2250Depacketizer {
    clock_rate: i64,
    /// Whether a payload starting a frame has come yet.
    started: bool,
    partial: Option<Partial>,
    ready: VecDeque<MpaFrame>,
}

impl Rfc2250Depacketizer {
    /// A depacketizer of payloads timestamped in `clock_rate` Hz (90 kHz for RTP).
    pub fn new(clock_rate: u32) -> Rfc2250Depacketizer {
        Rfc2250Depacketizer {
            clock_rate: i64::from(clock_rate.max(1)),
            started: false,
            partial: None,
            ready: VecDeque::new(),
        }
    }

    /// Takes one RTP payload written at `pts`.
    pub fn push(&mut self, pts: i64, payload: &Bytes) -> Result<(), Rfc2250Error> {
        let (Some(head), Some(body)) = (payload.get(..4), payload.get(4..)) else {
            self.partial = None;
            return Err(Rfc2250Error::Short(payload.len()));
        };
        let offset = u16::from_be_bytes([head[2], head[3]]);
        if offset != 0 {
            if !self.started {
                return Ok(());
            }
            return self.continue_frame(pts, offset, body);
        }
        self.started = true;
        let lost_end = self.partial.take().is_some();
        self.split(pts, payload, 4, true)?;
        if lost_end {
            return Err(Rfc2250Error::LostEnd);
        }
        Ok(())
    }

    /// Takes bare frames written at `pts`, one after the other (as FLV carries MP3); a frame
    /// cut short is dropped.
    pub fn push_frames(&mut self, pts: i64, data: &Bytes) -> Result<(), Rfc2250Error> {
        if self.partial.take().is_some() {
            // A unit of each kind: the frame being assembled won't be completed.
            self.split(pts, data, 0, false)?;
            return Err(Rfc2250Error::LostEnd);
        }
        self.split(pts, data, 0, false)
    }

    /// Whole frames of `data` from `start` on; the frame that runs past the end becomes the
    /// partial one if `fragments`, else an error.
    fn split(
        &mut self,
        pts: i64,
        data: &Bytes,
        start: usize,
        fragments: bool,
    ) -> Result<(), Rfc2250Error> {
        let body = data.get(start..).unwrap_or_default();
        let mut pos = 0;
        let mut samples = 0i64;
        while let Some(rest) = body.get(pos..).filter(|r| !r.is_empty()) {
            let header = FrameHeader::parse(rest)?;
            let frame_pts = pts
                .saturating_add(samples * self.clock_rate / i64::from(header.sample_rate.max(1)));
            if header.length > rest.len() {
                if !fragments {
                    return Err(Rfc2250Error::Truncated(header.length - rest.len()));
                }
                let mut partial = BytesMut::with_capacity(header.length);
                partial.extend_from_slice(rest);
                self.partial = Some(Partial {
                    packet_pts: pts,
                    pts: frame_pts,
                    header,
                    data: partial,
                });
                break;
            }
            self.ready.push_back(MpaFrame {
                pts: frame_pts,
                header,
                data: data.slice(start + pos..start + pos + header.length),
            });
            pos += header.length;
            samples += i64::from(header.samples());
        }
        Ok(())
    }

    /// A payload with a non-zero offset: the next fragment of the frame being assembled.
    fn continue_frame(&mut self, pts: i64, offset: u16, body: &[u8]) -> Result<(), Rfc2250Error> {
        let Some(mut partial) = self.partial.take() else {
            return Err(Rfc2250Error::LostStart(offset));
        };
        if usize::from(offset) != partial.data.len()
            || (pts != partial.packet_pts && pts != partial.pts)
        {
            return Err(Rfc2250Error::LostStart(offset));
        }
        let take = (partial.header.length - partial.data.len()).min(body.len());
        partial.data.extend_from_slice(&body[..take]);
        if partial.data.len() < partial.header.length {
            self.partial = Some(partial);
        } else {
            self.ready.push_back(MpaFrame {
                pts: partial.pts,
                header: partial.header,
                data: partial.data.freeze(),
            });
        }
        if body.len() > take {
            return Err(Rfc2250Error::Trailing(body.len() - take));
        }
        Ok(())
    }

    /// The next whole frame, in order.
    pub fn pull(&mut self) -> Option<MpaFrame> {
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of `len` bytes behind `header`, filled with its index.
    fn frame(header: [u8; 4], fill: u8) -> Vec<u8> {
        let len = FrameHeader::parse(&header).unwrap().length;
        let mut f = vec![fill; len];
        f[..4].copy_from_slice(&header);
        f
    }

    /// MPEG-1 layer III, 128 kbit/s, 44.1 kHz, stereo, no padding: 417 bytes.
    const L3_44K1: [u8; 4] = [0xff, 0xfb, 0x90, 0x00];
    /// MPEG-1 layer III, 320 kbit/s, 32 kHz, mono: 1440 bytes.
    const L3_32K_320: [u8; 4] = [0xff, 0xfb, 0xe8, 0xc0];

    fn payload(offset: u16, parts: &[&[u8]]) -> Bytes {
        let mut p = vec![0, 0];
        p.extend_from_slice(&offset.to_be_bytes());
        for part in parts {
            p.extend_from_slice(part);
        }
        Bytes::from(p)
    }

    fn pull_all(d: &mut Rfc2250Depacketizer) -> Vec<MpaFrame> {
        std::iter::from_fn(|| d.pull()).collect()
    }

    #[test]
    fn frame_headers() {
        // MPEG-1 layer II, 128 kbit/s (index 8), 48 kHz: 144 * 128000 / 48000 = 384.
        let h = FrameHeader::parse(&[0xff, 0xfd, 0x84, 0x00]).unwrap();
        assert_eq!(
            (h.layer, h.sample_rate, h.length, h.samples()),
            (2, 48_000, 384, 1152)
        );
        // MPEG-1 layer III, 128 kbit/s (index 9), 44.1 kHz, padding: 417 + 1, mono.
        let h = FrameHeader::parse(&[0xff, 0xfb, 0x92, 0xc0]).unwrap();
        assert_eq!((h.length, h.channels, h.bit_rate), (418, 1, 128_000));
        // MPEG-1 layer I, 32 kbit/s, 32 kHz: (12 * 32000 / 32000) * 4 = 48.
        let h = FrameHeader::parse(&[0xff, 0xff, 0x18, 0x00]).unwrap();
        assert_eq!((h.layer, h.length, h.samples()), (1, 48, 384));
        // MPEG-2 layer III, 64 kbit/s (index 8), 24 kHz: 72 * 64000 / 24000 = 192.
        let h = FrameHeader::parse(&[0xff, 0xf3, 0x84, 0x00]).unwrap();
        assert_eq!(
            (h.version, h.sample_rate, h.length, h.samples()),
            (Version::Mpeg2, 24_000, 192, 576)
        );
        // MPEG-2.5 layer III, 8 kHz.
        let h = FrameHeader::parse(&[0xff, 0xe3, 0x88, 0x00]).unwrap();
        assert_eq!((h.version, h.sample_rate), (Version::Mpeg25, 8_000));
        // The largest: MPEG-2.5 layer II, 160 kbit/s, 8 kHz, padded.
        let h = FrameHeader::parse(&[0xff, 0xe5, 0xea, 0x00]).unwrap();
        assert_eq!(h.length, MAX_FRAME_LEN);
        let err = |d: &[u8]| FrameHeader::parse(d).unwrap_err();
        assert_eq!(err(&[0xff, 0xfd, 0x04, 0x00]), HeaderError::FreeFormat);
        assert_eq!(err(&[0xff, 0xfd, 0xf4, 0x00]), HeaderError::BitRate);
        assert_eq!(err(&[0xff, 0xfd, 0x8c, 0x00]), HeaderError::SampleRate);
        assert_eq!(err(&[0xff, 0xf9, 0x84, 0x00]), HeaderError::Reserved);
        assert_eq!(err(&[0xff, 0xed, 0x84, 0x00]), HeaderError::Reserved);
        assert_eq!(err(&[0xfe, 0xfd, 0x84, 0x00]), HeaderError::Sync);
        assert_eq!(err(&[0xff, 0xfb, 0x90]), HeaderError::Sync);
    }

    #[test]
    fn every_valid_header_is_within_the_bound() {
        for b1 in 0xe0..=0xffu8 {
            for b2 in 0..=0xffu8 {
                if let Ok(h) = FrameHeader::parse(&[0xff, b1, b2, 0]) {
                    assert!(h.length >= 24 && h.length <= MAX_FRAME_LEN, "{h:?}");
                }
            }
        }
    }

    #[test]
    fn recognises_mpa_tracks() {
        let generic = |payload_type, rtpmap: Option<&str>| Format::Generic {
            payload_type,
            clock_rate: 90_000,
            rtpmap: rtpmap.map(str::to_owned),
            fmtp: None,
        };
        assert!(is_rfc2250(&generic(14, None)));
        assert!(is_rfc2250(&generic(96, Some("MPA/90000"))));
        assert!(is_rfc2250(&generic(14, Some("mpa/90000/2"))));
        assert!(!is_rfc2250(&generic(96, None)));
        assert!(!is_rfc2250(&generic(14, Some("MP4A-LATM/90000"))));
        assert!(!is_rfc2250(&Format::G722 { payload_type: 9 }));
    }

    #[test]
    fn whole_frames_in_one_payload_get_their_own_timestamps() {
        let (a, b, c) = (frame(L3_44K1, 1), frame(L3_44K1, 2), frame(L3_44K1, 3));
        let mut d = Rfc2250Depacketizer::new(90_000);
        d.push(1000, &payload(0, &[&a, &b, &c])).unwrap();
        let frames = pull_all(&mut d);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].data, a);
        assert_eq!(frames[2].data, c);
        // 1152 samples at 44.1 kHz are 2351.02 ticks of 90 kHz.
        let pts: Vec<i64> = frames.iter().map(|f| f.pts).collect();
        assert_eq!(pts, vec![1000, 3351, 5702]);
    }

    #[test]
    fn bare_frames_as_flv_carries_them() {
        let (a, b) = (frame(L3_44K1, 1), frame(L3_44K1, 2));
        let mut d = Rfc2250Depacketizer::new(90_000);
        let both: Vec<u8> = [a.clone(), b.clone()].concat();
        d.push_frames(90, &Bytes::from(both)).unwrap();
        let frames = pull_all(&mut d);
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].pts, &frames[0].data[..]), (90, &a[..]));
        assert_eq!((frames[1].pts, &frames[1].data[..]), (2441, &b[..]));
        // Cut short: the whole frames before it are kept.
        let cut: Vec<u8> = [a.clone(), b[..100].to_vec()].concat();
        assert_eq!(
            d.push_frames(0, &Bytes::from(cut)),
            Err(Rfc2250Error::Truncated(417 - 100))
        );
        assert_eq!(pull_all(&mut d).len(), 1);
        assert_eq!(
            d.push_frames(0, &Bytes::from_static(&[0xff, 0xfb, 0x90])),
            Err(Rfc2250Error::Header(HeaderError::Sync))
        );
    }

    #[test]
    fn fragments_are_reassembled() {
        let big = frame(L3_32K_320, 7);
        assert_eq!(big.len(), 1440);
        let mut d = Rfc2250Depacketizer::new(90_000);
        d.push(0, &payload(0, &[&big[..600]])).unwrap();
        assert_eq!(d.pull(), None);
        d.push(0, &payload(600, &[&big[600..1200]])).unwrap();
        assert_eq!(d.pull(), None);
        d.push(0, &payload(1200, &[&big[1200..]])).unwrap();
        let f = d.pull().unwrap();
        assert_eq!((f.pts, f.data.len()), (0, 1440));
        assert_eq!(f.data, big);
        assert_eq!(d.pull(), None);
    }

    #[test]
    fn a_lost_fragment_drops_its_frame_only() {
        let big = frame(L3_32K_320, 7);
        let small = frame(L3_44K1, 1);
        let mut d = Rfc2250Depacketizer::new(90_000);
        // Joining mid-frame: its last fragment is skipped quietly.
        assert_eq!(d.push(-3240, &payload(1200, &[&big[1200..]])), Ok(()));
        assert_eq!(d.pull(), None);
        // Middle fragment lost: the last one does not match and is dropped.
        d.push(0, &payload(0, &[&big[..600]])).unwrap();
        assert_eq!(
            d.push(0, &payload(1200, &[&big[1200..]])),
            Err(Rfc2250Error::LostStart(1200))
        );
        assert_eq!(d.pull(), None);
        // First fragment lost.
        assert_eq!(
            d.push(3240, &payload(600, &[&big[600..1200]])),
            Err(Rfc2250Error::LostStart(600))
        );
        // Last fragment lost: the next frame starts, the partial one goes.
        d.push(6480, &payload(0, &[&big[..600]])).unwrap();
        d.push(6480, &payload(600, &[&big[600..1200]])).unwrap();
        assert_eq!(
            d.push(9720, &payload(0, &[&small])),
            Err(Rfc2250Error::LostEnd)
        );
        assert_eq!(pull_all(&mut d).len(), 1);
        // A fragment with the offset of the partial frame but another timestamp is not its.
        d.push(20_000, &payload(0, &[&big[..600]])).unwrap();
        assert_eq!(
            d.push(30_000, &payload(600, &[&big[600..]])),
            Err(Rfc2250Error::LostStart(600))
        );
        assert_eq!(d.pull(), None);
    }

    #[test]
    fn garbage_keeps_the_frames_before_it() {
        let a = frame(L3_44K1, 1);
        let mut d = Rfc2250Depacketizer::new(90_000);
        assert_eq!(
            d.push(0, &payload(0, &[&a, &[0x12, 0x34, 0x56, 0x78]])),
            Err(Rfc2250Error::Header(HeaderError::Sync))
        );
        assert_eq!(pull_all(&mut d).len(), 1);
        assert_eq!(
            d.push(0, &Bytes::from_static(&[0, 0])),
            Err(Rfc2250Error::Short(2))
        );
        // A header alone, too short for its frame: it waits, and goes with the next start.
        d.push(0, &payload(0, &[&L3_44K1])).unwrap();
        assert_eq!(d.push(2351, &payload(0, &[])), Err(Rfc2250Error::LostEnd));
        // Too much after the last fragment.
        let big = frame(L3_32K_320, 7);
        d.push(0, &payload(0, &[&big[..1000]])).unwrap();
        assert_eq!(
            d.push(0, &payload(1000, &[&big[1000..], &[1, 2, 3]])),
            Err(Rfc2250Error::Trailing(3))
        );
        assert_eq!(pull_all(&mut d).len(), 1);
    }

    #[test]
    fn any_bytes_never_panic_and_stay_bounded() {
        let mut d = Rfc2250Depacketizer::new(90_000);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for i in 0..20_000i64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 1500) as usize;
            let mut p: Vec<u8> = (0..len).map(|j| (seed >> (j % 56)) as u8).collect();
            if let Some(b) = p.get_mut(4) {
                *b = 0xff;
            }
            if let Some(b) = p.get_mut(5) {
                *b |= 0xe0;
            }
            if seed & 1 == 0 && len >= 4 {
                p[2..4].copy_from_slice(&[0, 0]);
            }
            let _ = d.push(i / 3, &Bytes::from(p));
            while let Some(f) = d.pull() {
                assert_eq!(f.data.len(), f.header.length);
            }
            assert!(
                d.partial
                    .as_ref()
                    .is_none_or(|p| p.data.len() < MAX_FRAME_LEN)
            );
        }
    }
}

//! Packetized elementary stream packets (ISO/IEC 13818-1 2.4.3.6): the header with its
//! PTS/DTS, and reassembly of a PES from transport packet payloads.

use bytes::{Bytes, BytesMut};

/// stream_id of video PES packets.
pub(crate) const STREAM_ID_VIDEO: u8 = 0xe0;
/// stream_id of MPEG audio PES packets.
pub(crate) const STREAM_ID_AUDIO: u8 = 0xc0;
/// private_stream_1: AC-3, Opus, asynchronous KLV.
pub(crate) const STREAM_ID_PRIVATE_1: u8 = 0xbd;
/// metadata_stream: synchronous KLV.
pub(crate) const STREAM_ID_METADATA: u8 = 0xfc;

/// Timestamps are 33-bit values of a 90 kHz clock.
pub(crate) const TIMESTAMP_MASK: u64 = 0x1_ffff_ffff;

/// Why a PES packet could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PesError {
    #[error("PES does not start with 00 00 01")]
    StartCode,
    #[error("PES header of {0} bytes is truncated")]
    Truncated(usize),
    #[error("PES ended after {got} of {expected} bytes")]
    Short { expected: usize, got: usize },
    #[error("PES larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("PES has PTS_DTS_flags 01 (forbidden)")]
    PtsDtsFlags,
}

/// The fields of a PES header a demuxer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PesHeader {
    pub stream_id: u8,
    pub pts: Option<u64>,
    pub dts: Option<u64>,
}

/// stream_ids whose PES has no optional header (table 2-21 semantics).
fn has_optional_header(stream_id: u8) -> bool {
    !matches!(
        stream_id,
        0xbc | 0xbe | 0xbf | 0xf0 | 0xf1 | 0xf2 | 0xf8 | 0xff
    )
}

fn read_timestamp(b: &[u8]) -> Option<u64> {
    let [b0, b1, b2, b3, b4, ..] = b else {
        return None;
    };
    Some(
        (u64::from((b0 >> 1) & 0x07) << 30)
            | (u64::from(*b1) << 22)
            | (u64::from(b2 >> 1) << 15)
            | (u64::from(*b3) << 7)
            | u64::from(b4 >> 1),
    )
}

fn write_timestamp(out: &mut Vec<u8>, prefix: u8, ts: u64) {
    let ts = ts & TIMESTAMP_MASK;
    out.extend_from_slice(&[
        (prefix << 4) | (((ts >> 30) as u8 & 0x07) << 1) | 1,
        (ts >> 22) as u8,
        ((ts >> 14) as u8 & 0xfe) | 1,
        (ts >> 7) as u8,
        ((ts << 1) as u8) | 1,
    ]);
}

impl PesHeader {
    /// Parses the header of a whole PES; returns it and where the payload starts.
    pub fn parse(data: &[u8]) -> Result<(PesHeader, usize), PesError> {
        let [0, 0, 1, stream_id, _, _, rest @ ..] = data else {
            return match data.len() {
                0..6 => Err(PesError::Truncated(data.len())),
                _ => Err(PesError::StartCode),
            };
        };
        let stream_id = *stream_id;
        if !has_optional_header(stream_id) {
            let header = PesHeader {
                stream_id,
                pts: None,
                dts: None,
            };
            return Ok((header, 6));
        }
        let [_, flags, header_len, fields @ ..] = rest else {
            return Err(PesError::Truncated(data.len()));
        };
        let header_len = usize::from(*header_len);
        let fields = fields
            .get(..header_len)
            .ok_or(PesError::Truncated(data.len()))?;
        let (pts, dts) = match flags >> 6 {
            0b10 => (read_timestamp(fields), None),
            0b11 => (
                read_timestamp(fields),
                fields.get(5..).and_then(read_timestamp),
            ),
            0b01 => return Err(PesError::PtsDtsFlags),
            _ => (None, None),
        };
        let needed = match flags >> 6 {
            0b10 => 5,
            0b11 => 10,
            _ => 0,
        };
        if header_len < needed {
            return Err(PesError::Truncated(data.len()));
        }
        let header = PesHeader {
            stream_id,
            pts,
            dts,
        };
        Ok((header, 9 + header_len))
    }
}

/// Appends a PES header for `payload_len` bytes of payload. PES_packet_length is 0
/// ("unbounded", allowed for video only) when the packet would not fit 16 bits.
pub(crate) fn write_header(
    out: &mut Vec<u8>,
    stream_id: u8,
    pts: Option<u64>,
    dts: Option<u64>,
    payload_len: usize,
) {
    let (flags, header_len) = match (pts, dts) {
        (Some(_), Some(_)) => (0xc0, 10),
        (Some(_), None) => (0x80, 5),
        _ => (0x00, 0),
    };
    let length = 3 + header_len + payload_len;
    let length = u16::try_from(length).unwrap_or(0);
    out.extend_from_slice(&[0, 0, 1, stream_id]);
    out.extend_from_slice(&length.to_be_bytes());
    // '10', not scrambled, no priority/alignment/copyright flags; original.
    out.extend_from_slice(&[0x80, flags, header_len as u8]);
    match (pts, dts) {
        (Some(pts), Some(dts)) => {
            write_timestamp(out, 0b0011, pts);
            write_timestamp(out, 0b0001, dts);
        }
        (Some(pts), None) => write_timestamp(out, 0b0010, pts),
        _ => {}
    }
}

/// Reassembles the PES packets of one PID. A PES ends when its PES_packet_length is
/// reached or, for unbounded ones, when the next one starts (or at [`Self::flush`]).
#[derive(Debug)]
pub(crate) struct PesAssembler {
    buf: BytesMut,
    /// Total bytes of the PES in progress, when its length field says so.
    expected: Option<usize>,
    active: bool,
    max: usize,
}

impl PesAssembler {
    pub fn new(max: usize) -> Self {
        PesAssembler {
            buf: BytesMut::new(),
            expected: None,
            active: false,
            max,
        }
    }

    /// Drops the PES in progress; returns whether there was one.
    pub fn reset(&mut self) -> bool {
        let had = self.active;
        self.buf.clear();
        self.expected = None;
        self.active = false;
        had
    }

    /// Bytes of the PES in progress.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds one packet payload; finished PES packets (or why one was lost) go to `done`.
    /// `room`: how many bytes the caller lets this PES hold (its share of a budget shared
    /// by several PIDs), below the per-PES maximum.
    pub fn push(
        &mut self,
        payload_unit_start: bool,
        payload: &[u8],
        room: usize,
        done: &mut Vec<Result<Bytes, PesError>>,
    ) {
        if payload_unit_start {
            if let Some(previous) = self.flush() {
                done.push(previous);
            }
            self.active = true;
        } else if !self.active {
            return;
        }
        let max = self.max.min(room);
        if self.buf.len() + payload.len() > max {
            self.reset();
            done.push(Err(PesError::TooLarge { max }));
            return;
        }
        self.buf.extend_from_slice(payload);
        if self.expected.is_none()
            && let [0, 0, 1, _, l0, l1, ..] = self.buf[..]
        {
            let length = usize::from(u16::from_be_bytes([l0, l1]));
            self.expected = (length != 0).then_some(6 + length);
        }
        if let Some(expected) = self.expected
            && self.buf.len() >= expected
        {
            self.buf.truncate(expected);
            done.push(Ok(self.take()));
        }
    }

    /// Ends the PES in progress, if any.
    pub fn flush(&mut self) -> Option<Result<Bytes, PesError>> {
        if !self.active {
            return None;
        }
        let result = match self.expected {
            Some(expected) if self.buf.len() < expected => Err(PesError::Short {
                expected,
                got: self.buf.len(),
            }),
            _ => Ok(self.take()),
        };
        self.reset();
        Some(result)
    }

    fn take(&mut self) -> Bytes {
        let pes = self.buf.split().freeze();
        self.reset();
        pes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        for (pts, dts) in [
            (Some(0x1_2345_6789), Some(0x0_8765_4321)),
            (Some(TIMESTAMP_MASK), None),
            (None, None),
        ] {
            let mut out = Vec::new();
            write_header(&mut out, STREAM_ID_VIDEO, pts, dts, 3);
            out.extend_from_slice(&[1, 2, 3]);
            let (h, offset) = PesHeader::parse(&out).expect("valid");
            assert_eq!((h.stream_id, h.pts, h.dts), (STREAM_ID_VIDEO, pts, dts));
            assert_eq!(&out[offset..], &[1, 2, 3]);
            let length = usize::from(u16::from_be_bytes([out[4], out[5]]));
            assert_eq!(length + 6, out.len());
        }
        // A known header: PTS 90000 only.
        let mut out = Vec::new();
        write_header(&mut out, STREAM_ID_AUDIO, Some(90_000), None, 0);
        assert_eq!(
            out,
            [
                0x00, 0x00, 0x01, 0xc0, 0x00, 0x08, 0x80, 0x80, 0x05, 0x21, 0x00, 0x05, 0xbf, 0x21
            ]
        );
        // Too big for the length field: 0.
        let mut out = Vec::new();
        write_header(&mut out, STREAM_ID_VIDEO, None, None, 70_000);
        assert_eq!(&out[4..6], &[0, 0]);
    }

    #[test]
    fn malformed_headers() {
        assert_eq!(PesHeader::parse(&[0, 0, 1]), Err(PesError::Truncated(3)));
        assert_eq!(
            PesHeader::parse(&[0, 0, 2, 0xe0, 0, 0]),
            Err(PesError::StartCode)
        );
        assert_eq!(
            PesHeader::parse(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0x40, 0]),
            Err(PesError::PtsDtsFlags)
        );
        assert_eq!(
            PesHeader::parse(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 2, 0x21, 0]),
            Err(PesError::Truncated(11))
        );
        assert_eq!(
            PesHeader::parse(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 9, 0x21]),
            Err(PesError::Truncated(10))
        );
        // padding_stream: no optional header.
        let (h, offset) = PesHeader::parse(&[0, 0, 1, 0xbe, 0, 1, 0xff]).expect("valid");
        assert_eq!((h.pts, offset), (None, 6));
    }

    #[test]
    fn assembly_by_length_and_by_next_start() {
        let mut a = PesAssembler::new(1000);
        let mut done = Vec::new();
        // Bounded: 6 + 4 bytes, done as soon as complete, extra bytes dropped.
        a.push(true, &[0, 0, 1, 0xc0, 0, 4, 1, 2], usize::MAX, &mut done);
        assert!(done.is_empty());
        a.push(false, &[3, 4, 0xff], usize::MAX, &mut done);
        assert_eq!(
            done,
            vec![Ok(Bytes::from_static(&[0, 0, 1, 0xc0, 0, 4, 1, 2, 3, 4]))]
        );
        // Continuation without a start is ignored.
        done.clear();
        a.push(false, &[9, 9], usize::MAX, &mut done);
        assert!(done.is_empty());
        // Unbounded: ends at the next start.
        a.push(true, &[0, 0, 1, 0xe0, 0, 0, 7], usize::MAX, &mut done);
        a.push(false, &[8], usize::MAX, &mut done);
        a.push(true, &[0, 0, 1, 0xe0, 0, 0], usize::MAX, &mut done);
        assert_eq!(
            done,
            vec![Ok(Bytes::from_static(&[0, 0, 1, 0xe0, 0, 0, 7, 8]))]
        );
        assert_eq!(
            a.flush(),
            Some(Ok(Bytes::from_static(&[0, 0, 1, 0xe0, 0, 0])))
        );
        assert_eq!(a.flush(), None);
    }

    #[test]
    fn short_and_oversized_pes() {
        let mut a = PesAssembler::new(16);
        let mut done = Vec::new();
        a.push(true, &[0, 0, 1, 0xc0, 0, 9, 1], usize::MAX, &mut done);
        a.push(true, &[0, 0, 1, 0xe0, 0, 0, 1, 2, 3], usize::MAX, &mut done);
        assert_eq!(
            done,
            vec![Err(PesError::Short {
                expected: 15,
                got: 7
            })]
        );
        done.clear();
        a.push(false, &[0; 8], usize::MAX, &mut done);
        assert_eq!(done, vec![Err(PesError::TooLarge { max: 16 })]);
        assert!(!a.reset());
        // A shared budget smaller than the maximum.
        done.clear();
        a.push(true, &[0, 0, 1, 0xe0, 0, 0], 8, &mut done);
        a.push(false, &[0; 3], 8, &mut done);
        assert_eq!(done, vec![Err(PesError::TooLarge { max: 8 })]);
    }
}

//! RTP packets (RFC 3550 section 5.1). The payload is a shared, immutable `Bytes`,
//! so a packet can be handed to any number of readers without copying media.

use bytes::{BufMut, Bytes, BytesMut};

/// Errors from [`Packet::unmarshal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("RTP packet too short ({0} bytes)")]
    TooShort(usize),
    #[error("unsupported RTP version {0}")]
    Version(u8),
    #[error("RTP header extension or CSRC list exceeds the packet")]
    Truncated,
    #[error("RTP padding length {0} exceeds the payload")]
    Padding(u8),
}

/// An RTP header extension (RFC 3550 5.3.1): profile-defined id and raw data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub profile: u16,
    pub data: Bytes,
}

/// One RTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence_number: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrc: Vec<u32>,
    pub extension: Option<Extension>,
    pub payload: Bytes,
}

impl Packet {
    /// Size of the fixed header plus CSRCs and extension.
    pub fn header_len(&self) -> usize {
        12 + 4 * self.csrc.len() + self.extension.as_ref().map_or(0, |e| 4 + e.data.len())
    }

    /// Parses a packet. Padding is removed; the payload shares `buf`'s memory.
    pub fn unmarshal(buf: &Bytes) -> Result<Packet, RtpError> {
        if buf.len() < 12 {
            return Err(RtpError::TooShort(buf.len()));
        }
        let b0 = buf[0];
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::Version(version));
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = usize::from(b0 & 0x0f);
        let b1 = buf[1];
        let mut pos = 12;
        let mut csrc = Vec::with_capacity(csrc_count);
        for _ in 0..csrc_count {
            let word = buf.get(pos..pos + 4).ok_or(RtpError::Truncated)?;
            csrc.push(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
            pos += 4;
        }
        let extension = if has_extension {
            let head = buf.get(pos..pos + 4).ok_or(RtpError::Truncated)?;
            let profile = u16::from_be_bytes([head[0], head[1]]);
            let len = 4 * usize::from(u16::from_be_bytes([head[2], head[3]]));
            pos += 4;
            if buf.len() < pos + len {
                return Err(RtpError::Truncated);
            }
            let data = buf.slice(pos..pos + len);
            pos += len;
            Some(Extension { profile, data })
        } else {
            None
        };
        let mut end = buf.len();
        if has_padding {
            let pad = buf[end - 1];
            if pad == 0 || usize::from(pad) > end - pos {
                return Err(RtpError::Padding(pad));
            }
            end -= usize::from(pad);
        }
        Ok(Packet {
            marker: b1 & 0x80 != 0,
            payload_type: b1 & 0x7f,
            sequence_number: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
            csrc,
            extension,
            payload: buf.slice(pos..end),
        })
    }

    /// Writes the packet (without padding) at the end of `out`.
    pub fn marshal_into(&self, out: &mut BytesMut) {
        out.reserve(self.header_len() + self.payload.len());
        let csrc_count = self.csrc.len().min(15);
        let mut b0 = 0x80 | csrc_count as u8;
        if self.extension.is_some() {
            b0 |= 0x10;
        }
        out.put_u8(b0);
        out.put_u8((u8::from(self.marker) << 7) | (self.payload_type & 0x7f));
        out.put_u16(self.sequence_number);
        out.put_u32(self.timestamp);
        out.put_u32(self.ssrc);
        for c in self.csrc.iter().take(csrc_count) {
            out.put_u32(*c);
        }
        if let Some(ext) = &self.extension {
            let words = ext.data.len().div_ceil(4);
            out.put_u16(ext.profile);
            out.put_u16(u16::try_from(words).unwrap_or(u16::MAX));
            out.put_slice(&ext.data);
            out.put_bytes(0, words * 4 - ext.data.len());
        }
        out.put_slice(&self.payload);
    }

    /// The packet as a new buffer.
    pub fn marshal(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.header_len() + self.payload.len());
        self.marshal_into(&mut out);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Packet {
        Packet {
            marker: true,
            payload_type: 96,
            sequence_number: 0xfffe,
            timestamp: 0x1234_5678,
            ssrc: 0x9abc_def0,
            csrc: vec![1, 2],
            extension: Some(Extension {
                profile: 0xbede,
                data: Bytes::from_static(&[0x10, 0xaa, 0, 0]),
            }),
            payload: Bytes::from_static(b"\x65payload"),
        }
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let wire = p.marshal();
        assert_eq!(wire.len(), p.header_len() + p.payload.len());
        assert_eq!(Packet::unmarshal(&wire), Ok(p));
    }

    #[test]
    fn padding_is_stripped() {
        let mut raw = vec![0xa0, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xde, 0xad, 0, 0, 3];
        raw[0] = 0xa0;
        let p = Packet::unmarshal(&Bytes::from(raw)).expect("valid packet");
        assert_eq!(&p.payload[..], &[0xde, 0xad]);
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(
            Packet::unmarshal(&Bytes::from_static(&[0x80; 5])),
            Err(RtpError::TooShort(5))
        );
        assert_eq!(
            Packet::unmarshal(&Bytes::from_static(&[0x40; 12])),
            Err(RtpError::Version(1))
        );
        // 15 CSRCs announced, none present
        let mut raw = vec![0x8f; 12];
        raw[0] = 0x8f;
        assert_eq!(
            Packet::unmarshal(&Bytes::from(raw)),
            Err(RtpError::Truncated)
        );
        // padding count larger than payload
        let raw = vec![0xa0, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xff];
        assert_eq!(
            Packet::unmarshal(&Bytes::from(raw)),
            Err(RtpError::Padding(0xff))
        );
    }

    #[test]
    fn every_prefix_of_a_valid_packet_is_handled() {
        let wire = sample().marshal();
        for n in 0..wire.len() {
            let _ = Packet::unmarshal(&wire.slice(..n));
        }
    }
}

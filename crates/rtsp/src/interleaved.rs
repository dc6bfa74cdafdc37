//! Interleaved binary data (RFC 2326 10.12): `$`, a channel byte, a 16-bit big-endian
//! length, then the payload (one RTP or RTCP packet) on the RTSP connection.

use bytes::{BufMut, Bytes, BytesMut};

/// The byte that opens an interleaved frame.
pub const MAGIC: u8 = b'$';

/// Size of the frame header (`$`, channel, length).
pub const HEADER_LEN: usize = 4;

/// Errors from [`Interleaved::decode`] and [`Interleaved::encode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterleavedError {
    #[error("interleaved frame does not start with '$' (0x{0:02x})")]
    Magic(u8),
    #[error("interleaved frame truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("interleaved payload too big ({0} bytes, max 65535)")]
    TooBig(usize),
}

/// One interleaved frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interleaved {
    pub channel: u8,
    pub payload: Bytes,
}

impl Interleaved {
    /// The whole frame length announced by a header, if `buf` holds at least the header.
    pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, InterleavedError> {
        match buf {
            [] => Ok(None),
            [first, ..] if *first != MAGIC => Err(InterleavedError::Magic(*first)),
            [_, _, hi, lo, ..] => Ok(Some(
                HEADER_LEN + usize::from(u16::from_be_bytes([*hi, *lo])),
            )),
            _ => Ok(None),
        }
    }

    /// Decodes exactly one frame from the start of `buf`; returns it and the bytes used.
    /// The payload shares `buf`'s memory.
    pub fn decode(buf: &Bytes) -> Result<(Interleaved, usize), InterleavedError> {
        let Some(len) = Self::frame_len(buf)? else {
            return Err(InterleavedError::Truncated {
                need: HEADER_LEN,
                have: buf.len(),
            });
        };
        if buf.len() < len {
            return Err(InterleavedError::Truncated {
                need: len,
                have: buf.len(),
            });
        }
        let frame = Interleaved {
            channel: buf[1],
            payload: buf.slice(HEADER_LEN..len),
        };
        Ok((frame, len))
    }

    /// Appends the encoded frame to `out`.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), InterleavedError> {
        let len = u16::try_from(self.payload.len())
            .map_err(|_| InterleavedError::TooBig(self.payload.len()))?;
        out.reserve(HEADER_LEN + self.payload.len());
        out.put_u8(MAGIC);
        out.put_u8(self.channel);
        out.put_u16(len);
        out.put_slice(&self.payload);
        Ok(())
    }

    /// The encoded frame as a new buffer.
    pub fn to_bytes(&self) -> Result<Bytes, InterleavedError> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let f = Interleaved {
            channel: 3,
            payload: Bytes::from_static(&[0x80, 0x60, 1, 2, 3]),
        };
        let b = f.to_bytes().unwrap();
        assert_eq!(&b[..4], &[b'$', 3, 0, 5]);
        let (g, used) = Interleaved::decode(&b).unwrap();
        assert_eq!(used, 9);
        assert_eq!(g, f);
    }

    #[test]
    fn empty_payload_round_trips() {
        let f = Interleaved {
            channel: 0,
            payload: Bytes::new(),
        };
        let b = f.to_bytes().unwrap();
        assert_eq!(Interleaved::decode(&b).unwrap(), (f, 4));
    }

    #[test]
    fn malformed_frames_are_errors() {
        assert_eq!(
            Interleaved::decode(&Bytes::from_static(b"R")),
            Err(InterleavedError::Magic(b'R'))
        );
        assert_eq!(
            Interleaved::decode(&Bytes::from_static(b"$\x01")),
            Err(InterleavedError::Truncated { need: 4, have: 2 })
        );
        assert_eq!(
            Interleaved::decode(&Bytes::from_static(b"$\x01\x00\x05ab")),
            Err(InterleavedError::Truncated { need: 9, have: 6 })
        );
        let big = Interleaved {
            channel: 0,
            payload: Bytes::from(vec![0; 70_000]),
        };
        assert_eq!(big.to_bytes(), Err(InterleavedError::TooBig(70_000)));
    }

    #[test]
    fn random_inputs_never_panic() {
        let mut rng = crate::xorshift::XorShift::new(0x1234_5678);
        for _ in 0..2000 {
            let data = Bytes::from(rng.mutate(b"$\x01\x00\x03abc"));
            if let Ok((f, used)) = Interleaved::decode(&data) {
                assert_eq!(used, 4 + f.payload.len());
            }
        }
    }
}

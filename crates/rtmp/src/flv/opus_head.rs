//! The Opus identification header (RFC 7845 5.1, "OpusHead"): what an Opus sequence
//! start carries in Enhanced RTMP.

use bytes::{BufMut, Bytes, BytesMut};

use super::{FlvError, invalid, truncated};

const WHAT: &str = "Opus identification header";
const MAGIC: &[u8; 8] = b"OpusHead";

/// An Opus identification header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusHead {
    pub version: u8,
    pub channels: u8,
    pub pre_skip: u16,
    pub input_sample_rate: u32,
    pub output_gain: i16,
    pub mapping_family: u8,
    /// Stream count, coupled count and channel mapping (mapping families other than 0).
    pub mapping: Bytes,
}

impl OpusHead {
    /// A header for a mono or stereo stream (mapping family 0, no pre-skip, 48 kHz).
    pub fn for_channels(channels: u8) -> Self {
        OpusHead {
            version: 1,
            channels,
            pre_skip: 0,
            input_sample_rate: 48_000,
            output_gain: 0,
            mapping_family: 0,
            mapping: Bytes::new(),
        }
    }

    pub fn parse(data: &Bytes) -> Result<Self, FlvError> {
        let h = data.get(..19).ok_or(truncated(WHAT))?;
        if &h[..8] != MAGIC {
            return Err(invalid(WHAT, "no OpusHead magic"));
        }
        if h[8] >> 4 != 0 {
            return Err(invalid(WHAT, "incompatible version"));
        }
        if h[9] == 0 {
            return Err(invalid(WHAT, "zero channels"));
        }
        let mapping_family = h[18];
        let mapping = if mapping_family == 0 {
            Bytes::new()
        } else {
            let len = 2 + usize::from(h[9]);
            data.get(19..19 + len).ok_or(truncated(WHAT))?;
            data.slice(19..19 + len)
        };
        Ok(OpusHead {
            version: h[8],
            channels: h[9],
            pre_skip: u16::from_le_bytes([h[10], h[11]]),
            input_sample_rate: u32::from_le_bytes([h[12], h[13], h[14], h[15]]),
            output_gain: i16::from_le_bytes([h[16], h[17]]),
            mapping_family,
            mapping,
        })
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(19 + self.mapping.len());
        out.put_slice(MAGIC);
        out.put_u8(self.version);
        out.put_u8(self.channels);
        out.put_u16_le(self.pre_skip);
        out.put_u32_le(self.input_sample_rate);
        out.put_i16_le(self.output_gain);
        out.put_u8(self.mapping_family);
        out.put_slice(&self.mapping);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Bytes {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn libopus_header_round_trips() {
        // libopus stereo, as ffmpeg writes it into Ogg.
        let data = hex("4f70757348656164 01 02 3801 80bb0000 0000 00");
        let h = OpusHead::parse(&data).expect("parses");
        assert_eq!(
            (h.channels, h.pre_skip, h.input_sample_rate),
            (2, 312, 48_000)
        );
        assert_eq!(h.to_bytes(), data);
        let h = OpusHead::for_channels(1);
        assert_eq!(OpusHead::parse(&h.to_bytes()).expect("parses"), h);
        // Mapping family 1 with its table.
        let data = hex("4f70757348656164 01 03 0000 80bb0000 0000 01 02 01 000201");
        let h = OpusHead::parse(&data).expect("parses");
        assert_eq!(&h.mapping[..], &hex("02 01 000201")[..]);
        assert_eq!(h.to_bytes(), data);
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert_eq!(OpusHead::parse(&hex("4f707573")), Err(truncated(WHAT)));
        assert_eq!(
            OpusHead::parse(&hex("4f70757348656164 01 00 0000 80bb0000 0000 00")),
            Err(invalid(WHAT, "zero channels"))
        );
        assert_eq!(
            OpusHead::parse(&hex("4f70757348656165 01 02 0000 80bb0000 0000 00")),
            Err(invalid(WHAT, "no OpusHead magic"))
        );
        assert_eq!(
            OpusHead::parse(&hex("4f70757348656164 01 03 0000 80bb0000 0000 01 02 01")),
            Err(truncated(WHAT))
        );
    }
}

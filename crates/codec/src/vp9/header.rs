//! The start of a VP9 uncompressed frame header (VP9 bitstream specification 6.2): profile,
//! frame type and, on key frames, colour configuration and frame size, as a `vpcC` record
//! and a picture size need them.

use crate::bitstream::{BitReader, BitstreamError};

/// Why a frame header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("VP9 frame header truncated: {0}")]
    Bitstream(#[from] BitstreamError),
    #[error("invalid VP9 frame marker")]
    FrameMarker,
    #[error("invalid VP9 sync code")]
    SyncCode,
}

/// What a key frame tells about the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFrameInfo {
    pub bit_depth: u8,
    /// vpcC `chromaSubsampling`: 1 for 4:2:0 (the bitstream cannot tell the two 4:2:0
    /// sitings apart), 2 for 4:2:2, 3 for 4:4:4 (4:4:0 is reported as 3 too).
    pub chroma_subsampling: u8,
    pub color_range: bool,
    pub width: u32,
    pub height: u32,
}

/// Parsed start of a frame header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub profile: u8,
    pub show_existing_frame: bool,
    /// `Some` on key frames.
    pub key_frame: Option<KeyFrameInfo>,
}

const CS_RGB: u32 = 7;

impl Header {
    pub fn parse(frame: &[u8]) -> Result<Header, HeaderError> {
        let mut r = BitReader::new(frame);
        if r.read_bits(2)? != 2 {
            return Err(HeaderError::FrameMarker);
        }
        let low = r.read_bits(1)?;
        let high = r.read_bits(1)?;
        let profile = ((high << 1) | low) as u8;
        if profile == 3 {
            r.skip(1)?; // reserved_zero
        }
        let show_existing_frame = r.read_bit()?;
        if show_existing_frame {
            return Ok(Header {
                profile,
                show_existing_frame,
                key_frame: None,
            });
        }
        let non_key = r.read_bit()?;
        r.skip(2)?; // show_frame, error_resilient_mode
        if non_key {
            return Ok(Header {
                profile,
                show_existing_frame,
                key_frame: None,
            });
        }
        if r.read_bits(24)? != 0x49_83_42 {
            return Err(HeaderError::SyncCode);
        }
        // color_config()
        let bit_depth = if profile >= 2 {
            if r.read_bit()? { 12 } else { 10 }
        } else {
            8
        };
        let color_space = r.read_bits(3)?;
        let (color_range, ss_x, ss_y);
        if color_space != CS_RGB {
            color_range = r.read_bit()?;
            if profile == 1 || profile == 3 {
                ss_x = r.read_bit()?;
                ss_y = r.read_bit()?;
                r.skip(1)?;
            } else {
                (ss_x, ss_y) = (true, true);
            }
        } else {
            color_range = true;
            (ss_x, ss_y) = (false, false);
            if profile == 1 || profile == 3 {
                r.skip(1)?;
            }
        }
        let width = r.read_bits(16)? + 1;
        let height = r.read_bits(16)? + 1;
        let chroma_subsampling = match (ss_x, ss_y) {
            (true, true) => 1,
            (true, false) => 2,
            _ => 3,
        };
        Ok(Header {
            profile,
            show_existing_frame,
            key_frame: Some(KeyFrameInfo {
                bit_depth,
                chroma_subsampling,
                color_range,
                width,
                height,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // libvpx-vp9, 640x360, profile 0: the first bytes of a key frame.
    const KEY_360P: &[u8] = &[
        0x82, 0x49, 0x83, 0x42, 0x00, 0x27, 0xf0, 0x16, 0x76, 0x0a, 0x38, 0x24,
    ];

    #[test]
    fn parses_key_frame() {
        let h = Header::parse(KEY_360P).expect("valid header");
        assert_eq!(h.profile, 0);
        assert_eq!(
            h.key_frame,
            Some(KeyFrameInfo {
                bit_depth: 8,
                chroma_subsampling: 1,
                color_range: false,
                width: 640,
                height: 360,
            })
        );
        // An inter frame: frame_type 1.
        let h = Header::parse(&[0x86, 0x00]).expect("valid header");
        assert_eq!(h.key_frame, None);
        assert_eq!(Header::parse(&[0x02]), Err(HeaderError::FrameMarker));
        assert!(Header::parse(&KEY_360P[..6]).is_err());
    }
}

//! AC-3 and E-AC-3 sync frames (ATSC A/52 5.3 and E.1.2): sample rate and channels, for
//! describing a track whose sequence start says nothing.

use super::{FlvError, invalid, truncated};

const WHAT: &str = "AC-3 sync frame";

/// Channels per audio coding mode (acmod), without the LFE channel.
const ACMOD_CHANNELS: [u8; 8] = [2, 1, 2, 3, 3, 4, 4, 5];

/// What a sync frame says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncFrame {
    /// E-AC-3 (bsid 11 to 16) rather than AC-3.
    pub enhanced: bool,
    pub sample_rate: u32,
    pub channels: u8,
}

impl SyncFrame {
    pub fn parse(frame: &[u8]) -> Result<Self, FlvError> {
        let h = frame.get(..7).ok_or(truncated(WHAT))?;
        if h[0] != 0x0b || h[1] != 0x77 {
            return Err(invalid(WHAT, "no sync word"));
        }
        let bsid = h[5] >> 3;
        if bsid <= 10 {
            let sample_rate = match h[4] >> 6 {
                0 => 48_000,
                1 => 44_100,
                2 => 32_000,
                _ => return Err(invalid(WHAT, "reserved sample rate")),
            };
            // After bsid and bsmod: acmod, then mix levels depending on it, then lfeon.
            let acmod = h[6] >> 5;
            let mut bit = 3;
            if acmod & 1 != 0 && acmod != 1 {
                bit += 2;
            }
            if acmod & 4 != 0 {
                bit += 2;
            }
            if acmod == 2 {
                bit += 2;
            }
            let lfe =
                (u16::from_be_bytes([h[6], frame.get(7).copied().unwrap_or(0)]) >> (15 - bit)) & 1;
            return Ok(SyncFrame {
                enhanced: false,
                sample_rate,
                channels: ACMOD_CHANNELS[usize::from(acmod)] + lfe as u8,
            });
        }
        if bsid > 16 {
            return Err(invalid(WHAT, "unknown bitstream id"));
        }
        let fscod = h[4] >> 6;
        let sample_rate = match fscod {
            0 => 48_000,
            1 => 44_100,
            2 => 32_000,
            _ => match (h[4] >> 4) & 0x03 {
                0 => 24_000,
                1 => 22_050,
                2 => 16_000,
                _ => return Err(invalid(WHAT, "reserved sample rate")),
            },
        };
        let acmod = (h[4] >> 1) & 0x07;
        let lfe = h[4] & 1;
        Ok(SyncFrame {
            enhanced: true,
            sample_rate,
            channels: ACMOD_CHANNELS[usize::from(acmod)] + lfe,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ac3_and_eac3_frames() {
        // First bytes of frames from ffmpeg's ac3 and eac3 encoders at 48 kHz: stereo
        // (acmod 2), and 5.1 (acmod 7 with LFE).
        let frame = |enhanced, channels| SyncFrame {
            enhanced,
            sample_rate: 48_000,
            channels,
        };
        let parse = |b: [u8; 8]| SyncFrame::parse(&b).expect("parses");
        assert_eq!(
            parse([0x0b, 0x77, 0x0b, 0xd5, 0x14, 0x40, 0x43, 0xe1]),
            frame(false, 2)
        );
        assert_eq!(
            parse([0x0b, 0x77, 0x5c, 0x51, 0x1e, 0x40, 0xeb, 0xf8]),
            frame(false, 6)
        );
        assert_eq!(
            parse([0x0b, 0x77, 0x01, 0x7f, 0x34, 0x87, 0xc0, 0x00]),
            frame(true, 2)
        );
        assert_eq!(
            parse([0x0b, 0x77, 0x03, 0x7f, 0x3f, 0x87, 0xc0, 0x00]),
            frame(true, 6)
        );
        assert_eq!(SyncFrame::parse(&[0x0b, 0x77]), Err(truncated(WHAT)));
        assert_eq!(
            SyncFrame::parse(&[0x0b, 0x78, 0, 0, 0, 0, 0]),
            Err(invalid(WHAT, "no sync word"))
        );
    }
}

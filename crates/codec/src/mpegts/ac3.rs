//! AC-3 syncframes (ATSC A/52 5.3): syncinfo gives the frame size and sample rate, the
//! start of the bit stream information the channel count.

use bytes::Bytes;

use crate::bitstream::BitReader;

/// Nominal bit rates in kbit/s by frmsizecod / 2.
const BIT_RATES: [u32; 19] = [
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640,
];
const SAMPLE_RATES: [u32; 3] = [48_000, 44_100, 32_000];
/// Full-bandwidth channels by acmod.
const CHANNELS: [u8; 8] = [2, 1, 2, 3, 3, 4, 4, 5];

/// What one syncframe says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SyncFrame {
    pub size: usize,
    pub sample_rate: u32,
    pub channel_count: u8,
}

/// Reads the syncinfo and BSI start of the syncframe at the start of `data`.
pub(crate) fn parse(data: &[u8]) -> Result<SyncFrame, &'static str> {
    let [0x0b, 0x77, _, _, code, bsi @ ..] = data else {
        return Err("AC-3 syncword missing");
    };
    let fscod = usize::from(code >> 6);
    let frmsizecod = usize::from(code & 0x3f);
    let sample_rate = *SAMPLE_RATES.get(fscod).ok_or("AC-3 fscod reserved")?;
    let bit_rate = *BIT_RATES
        .get(frmsizecod / 2)
        .ok_or("AC-3 frmsizecod invalid")?;
    // 1536 samples per frame, in 16-bit words; 44.1 kHz frames alternate in size.
    let words =
        bit_rate * 1000 * 96 / sample_rate + u32::from(fscod == 1) * (frmsizecod as u32 & 1);
    let mut r = BitReader::new(bsi);
    let bsid = r.read_bits(5).map_err(|_| "AC-3 BSI truncated")?;
    if bsid > 10 {
        return Err("not AC-3 (bsid above 10)");
    }
    let read = |r: &mut BitReader<'_>, n| r.read_bits(n).map_err(|_| "AC-3 BSI truncated");
    read(&mut r, 3)?; // bsmod
    let acmod = read(&mut r, 3)?;
    if acmod & 0x01 != 0 && acmod != 1 {
        read(&mut r, 2)?; // cmixlev
    }
    if acmod & 0x04 != 0 {
        read(&mut r, 2)?; // surmixlev
    }
    if acmod == 2 {
        read(&mut r, 2)?; // dsurmod
    }
    let lfe = read(&mut r, 1)? as u8;
    Ok(SyncFrame {
        size: words as usize * 2,
        sample_rate,
        channel_count: CHANNELS[acmod as usize & 0x07] + lfe,
    })
}

/// Splits a PES payload into syncframes; the parameters are those of the first.
pub(crate) fn split(data: &Bytes) -> Result<(Vec<Bytes>, SyncFrame), &'static str> {
    let mut frames = Vec::new();
    let mut first = None;
    let mut pos = 0;
    while pos < data.len() {
        let info = parse(data.get(pos..).unwrap_or_default())?;
        let frame = data
            .get(pos..pos + info.size)
            .ok_or("AC-3 frame size exceeds the data")?;
        frames.push(data.slice_ref(frame));
        first.get_or_insert(info);
        pos += info.size;
    }
    Ok((frames, first.ok_or("no AC-3 frame")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A syncframe header: 48 kHz, 192 kbit/s (frmsizecod 20), bsid 8, acmod `acmod`.
    fn frame(code: u8, bsi: [u8; 2], size: usize) -> Vec<u8> {
        let mut f = vec![0x0b, 0x77, 0x00, 0x00, code, bsi[0], bsi[1]];
        f.resize(size, 0);
        f
    }

    #[test]
    fn sizes_rates_and_channels() {
        // acmod 7 (3/2), cmixlev, surmixlev, lfeon 1: 5.1.
        // bsid 01000, bsmod 000 | acmod 111, cmix 00, surmix 00, lfe 1
        let f = frame(0x14, [0x40, 0xe1], 768);
        assert_eq!(
            parse(&f),
            Ok(SyncFrame {
                size: 768,
                sample_rate: 48_000,
                channel_count: 6
            })
        );
        // acmod 2 (stereo) with dsurmod, no LFE; 44.1 kHz 192 kbit/s odd: 418 words.
        // bsid 01000, bsmod 000 | acmod 010, dsurmod 00, lfe 0
        let f = frame(0x40 | 0x15, [0x40, 0x40], 836);
        assert_eq!(
            parse(&f),
            Ok(SyncFrame {
                size: 836,
                sample_rate: 44_100,
                channel_count: 2
            })
        );
        // 32 kHz, 32 kbit/s: 96 words.
        assert_eq!(
            parse(&frame(0x80, [0x40, 0x40], 192)).map(|s| s.size),
            Ok(192)
        );
    }

    #[test]
    fn split_and_errors() {
        let mut data = frame(0x14, [0x40, 0xe1], 768);
        data.extend_from_slice(&frame(0x14, [0x40, 0xe1], 768));
        let (frames, info) = split(&Bytes::from(data)).expect("valid");
        assert_eq!(frames.len(), 2);
        assert_eq!(info.channel_count, 6);
        assert!(split(&Bytes::from(frame(0x14, [0x40, 0xe1], 700))).is_err());
        assert!(parse(&frame(0xc0, [0x40, 0x40], 100)).is_err()); // fscod 3
        assert!(parse(&frame(0x3f, [0x40, 0x40], 100)).is_err()); // frmsizecod 63
        assert!(parse(&frame(0x14, [0x80, 0x40], 100)).is_err()); // bsid 16: E-AC-3
        assert!(parse(&[0x0b, 0x77, 0, 0, 0x14]).is_err());
        assert!(split(&Bytes::new()).is_err());
    }
}

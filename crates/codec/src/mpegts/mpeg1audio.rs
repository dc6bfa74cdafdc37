//! MPEG-1/2 audio layers I-III (ISO/IEC 11172-3, 13818-3): frames behind a 4-byte header
//! whose bit rate, sample rate and padding give the frame length.

use bytes::Bytes;

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

/// The length in bytes of the frame whose header starts `data`.
pub(crate) fn frame_length(data: &[u8]) -> Result<usize, &'static str> {
    let [0xff, b1, b2, ..] = data else {
        return Err("MPEG audio sync missing");
    };
    if b1 & 0xe0 != 0xe0 {
        return Err("MPEG audio sync missing");
    }
    let version = (b1 >> 3) & 0x03; // 0: 2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
    let layer = (b1 >> 1) & 0x03; // 1: III, 2: II, 3: I
    if version == 1 || layer == 0 {
        return Err("MPEG audio version or layer reserved");
    }
    let rate_index = usize::from(b2 >> 4);
    if rate_index == 0 || rate_index == 15 {
        return Err("MPEG audio free-format or invalid bit rate");
    }
    let table = match (version == 3, layer) {
        (true, 3) => 0,
        (true, 2) => 1,
        (true, _) => 2,
        (false, 3) => 3,
        (false, _) => 4,
    };
    let bit_rate = BIT_RATES[table][rate_index - 1] * 1000;
    let sample_rate = *SAMPLE_RATES
        .get(usize::from((b2 >> 2) & 0x03))
        .ok_or("MPEG audio sample rate reserved")?
        >> match version {
            3 => 0,
            2 => 1,
            _ => 2,
        };
    let padding = u32::from((b2 >> 1) & 0x01);
    let len = match layer {
        3 => (12 * bit_rate / sample_rate + padding) * 4,
        1 if version != 3 => 72 * bit_rate / sample_rate + padding,
        _ => 144 * bit_rate / sample_rate + padding,
    };
    Ok(len as usize)
}

/// Splits a PES payload into frames.
pub(crate) fn split(data: &Bytes) -> Result<Vec<Bytes>, &'static str> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let len = frame_length(data.get(pos..).unwrap_or_default())?;
        let frame = data
            .get(pos..pos + len)
            .ok_or("MPEG audio frame length exceeds the data")?;
        frames.push(data.slice_ref(frame));
        pos += len;
    }
    if frames.is_empty() {
        return Err("no MPEG audio frame");
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lengths() {
        // MPEG-1 layer II, 128 kbit/s (index 8), 48 kHz: 144 * 128000 / 48000 = 384.
        assert_eq!(frame_length(&[0xff, 0xfd, 0x84, 0x00]), Ok(384));
        // MPEG-1 layer III, 128 kbit/s (index 9), 44.1 kHz, padding: 417 + 1.
        assert_eq!(frame_length(&[0xff, 0xfb, 0x92, 0x00]), Ok(418));
        // MPEG-1 layer I, 32 kbit/s, 32 kHz: (12 * 32000 / 32000) * 4 = 48.
        assert_eq!(frame_length(&[0xff, 0xff, 0x18, 0x00]), Ok(48));
        // MPEG-2 layer III, 64 kbit/s (index 8), 24 kHz: 72 * 64000 / 24000 = 192.
        assert_eq!(frame_length(&[0xff, 0xf3, 0x84, 0x00]), Ok(192));
        assert!(frame_length(&[0xff, 0xfd, 0x04, 0x00]).is_err()); // free format
        assert!(frame_length(&[0xff, 0xfd, 0xf4, 0x00]).is_err()); // bad bit rate
        assert!(frame_length(&[0xff, 0xfd, 0x8c, 0x00]).is_err()); // rate reserved
        assert!(frame_length(&[0xff, 0xf9, 0x84, 0x00]).is_err()); // layer reserved
        assert!(frame_length(&[0xff, 0xed, 0x84, 0x00]).is_err()); // version reserved
        assert!(frame_length(&[0xfe, 0xfd]).is_err());
    }

    #[test]
    fn split_frames() {
        let mut data = vec![0; 2 * 384];
        data[..3].copy_from_slice(&[0xff, 0xfd, 0x84]);
        data[384..387].copy_from_slice(&[0xff, 0xfd, 0x84]);
        assert_eq!(split(&Bytes::from(data.clone())).map(|f| f.len()), Ok(2));
        data.truncate(500);
        assert!(split(&Bytes::from(data)).is_err());
        assert!(split(&Bytes::new()).is_err());
    }
}

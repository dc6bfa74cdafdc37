//! AAC in ADTS (ISO/IEC 13818-7 6.2 / 14496-3 1.A.2): each access unit behind a 7-byte
//! header (9 with CRC) that carries object type, sample rate and channels.

use bytes::Bytes;

use crate::mpeg4audio::AudioSpecificConfig;

/// samplingFrequencyIndex values.
const SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// Largest ADTS frame (13-bit frame_length).
pub(crate) const MAX_FRAME: usize = 0x1fff;
const HEADER: usize = 7;

/// Splits ADTS frames into access units; the config is that of the first frame.
pub(crate) fn split(data: &Bytes) -> Result<(Vec<Bytes>, AudioSpecificConfig), &'static str> {
    let mut aus = Vec::new();
    let mut config = None;
    let mut pos = 0;
    while pos < data.len() {
        let [b0, b1, b2, b3, b4, b5, b6, ..] = data.get(pos..).unwrap_or_default() else {
            return Err("ADTS header truncated");
        };
        if *b0 != 0xff || b1 & 0xf6 != 0xf0 {
            return Err("ADTS syncword missing");
        }
        let protection_absent = b1 & 0x01 != 0;
        let object_type = (b2 >> 6) + 1;
        let rate_index = (b2 >> 2) & 0x0f;
        let channel_config = ((b2 & 0x01) << 2) | (b3 >> 6);
        let frame_len =
            (usize::from(b3 & 0x03) << 11) | (usize::from(*b4) << 3) | usize::from(b5 >> 5);
        if b6 & 0x03 != 0 {
            return Err("ADTS frame with several raw data blocks");
        }
        let header_len = if protection_absent {
            HEADER
        } else {
            HEADER + 2
        };
        let au = data
            .get(pos + header_len..pos + frame_len)
            .filter(|_| frame_len >= header_len)
            .ok_or("ADTS frame length exceeds the data")?;
        if config.is_none() {
            let sample_rate = *SAMPLE_RATES
                .get(usize::from(rate_index))
                .ok_or("ADTS sampling frequency index invalid")?;
            let channel_count = match channel_config {
                1..=6 => channel_config,
                7 => 8,
                _ => return Err("ADTS channel configuration 0 (program config) unsupported"),
            };
            config = Some(AudioSpecificConfig {
                object_type,
                sample_rate,
                channel_count,
                extension_sample_rate: None,
                frame_length_960: false,
            });
        }
        aus.push(data.slice_ref(au));
        pos += frame_len;
    }
    let config = config.ok_or("no ADTS frame")?;
    Ok((aus, config))
}

/// Appends one ADTS frame (no CRC) holding `au`.
pub(crate) fn write(
    out: &mut Vec<u8>,
    config: &AudioSpecificConfig,
    au: &[u8],
) -> Result<(), &'static str> {
    if !(1..=4).contains(&config.object_type) {
        return Err("ADTS carries only object types 1 to 4");
    }
    let rate_index = SAMPLE_RATES
        .iter()
        .position(|r| *r == config.sample_rate)
        .ok_or("ADTS cannot carry this sample rate")? as u8;
    let channel_config = match config.channel_count {
        1..=6 => config.channel_count,
        8 => 7,
        _ => return Err("ADTS cannot carry this channel count"),
    };
    let frame_len = HEADER + au.len();
    if frame_len > MAX_FRAME {
        return Err("access unit too large for ADTS");
    }
    let fullness = 0x7ffu16; // variable bitrate
    out.extend_from_slice(&[
        0xff,
        0xf1, // MPEG-4, layer 0, no CRC
        ((config.object_type - 1) << 6) | (rate_index << 2) | (channel_config >> 2),
        ((channel_config & 0x03) << 6) | ((frame_len >> 11) as u8 & 0x03),
        (frame_len >> 3) as u8,
        ((frame_len as u8 & 0x07) << 5) | (fullness >> 6) as u8,
        ((fullness as u8 & 0x3f) << 2),
    ]);
    out.extend_from_slice(au);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lc_44100_stereo() -> AudioSpecificConfig {
        AudioSpecificConfig::parse(&[0x12, 0x10]).expect("valid")
    }

    #[test]
    fn round_trip() {
        let config = lc_44100_stereo();
        let mut out = Vec::new();
        write(&mut out, &config, &[0x21, 0x10, 0x05]).expect("fits");
        write(&mut out, &config, &[0xde, 0xad]).expect("fits");
        // A known header: AAC-LC 44.1 kHz stereo, 10-byte frame.
        assert_eq!(&out[..7], &[0xff, 0xf1, 0x50, 0x80, 0x01, 0x5f, 0xfc]);
        let (aus, parsed) = split(&Bytes::from(out)).expect("valid");
        assert_eq!(
            aus,
            vec![
                Bytes::from_static(&[0x21, 0x10, 0x05]),
                Bytes::from_static(&[0xde, 0xad])
            ]
        );
        assert_eq!(parsed, config);
    }

    #[test]
    fn with_crc_and_errors() {
        // protection_absent = 0: two CRC bytes after the header.
        let data = [
            0xff, 0xf0, 0x50, 0x80, 0x01, 0x7f, 0xfc, 0xaa, 0xbb, 0x01, 0x02,
        ];
        let (aus, _) = split(&Bytes::copy_from_slice(&data)).expect("valid");
        assert_eq!(aus, vec![Bytes::from_static(&[0x01, 0x02])]);
        assert!(split(&Bytes::copy_from_slice(&data[..10])).is_err());
        assert!(split(&Bytes::from_static(&[0xff, 0xf1, 0x50])).is_err());
        assert!(split(&Bytes::new()).is_err());
        let mut bad = data;
        bad[1] = 0xf3; // layer 1
        assert!(split(&Bytes::copy_from_slice(&bad)).is_err());
        let mut short = [0xff, 0xf1, 0x50, 0x80, 0x00, 0x1f, 0xfc];
        short[5] = 0x1f; // frame_length 0 < header
        assert!(split(&Bytes::copy_from_slice(&short)).is_err());
        let mut he = lc_44100_stereo();
        he.object_type = 5;
        assert!(write(&mut Vec::new(), &he, &[1]).is_err());
        assert!(write(&mut Vec::new(), &lc_44100_stereo(), &[0; MAX_FRAME]).is_err());
    }
}

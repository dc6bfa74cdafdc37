//! AV1CodecConfigurationRecord (AV1 in ISOBMFF 2.3, the MP4 `av1C` body) and the OBUs of
//! AV1 coded frames (AV1 5.3, low-overhead bitstream format: every OBU has a size field).

use bytes::{BufMut, Bytes, BytesMut};
use ferromtx_codec::av1::{OBU_SEQUENCE_HEADER, obu_type, read_leb128, write_leb128};
use ferromtx_codec::bitstream::{BitReader, BitstreamError};

use super::{FlvError, invalid, truncated};

const WHAT: &str = "AV1 codec configuration record";
const OBUS: &str = "AV1 OBUs";

/// An AV1CodecConfigurationRecord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Av1Config {
    /// Marker/version, profile/level, tier/bit depth/chroma, presentation delay.
    pub header: [u8; 4],
    /// Configuration OBUs (a sequence header, metadata), each with its size field.
    pub config_obus: Bytes,
}

impl Av1Config {
    pub fn seq_profile(&self) -> u8 {
        self.header[1] >> 5
    }

    pub fn seq_level_idx_0(&self) -> u8 {
        self.header[1] & 0x1f
    }

    /// The sequence header OBU among the configuration OBUs.
    pub fn sequence_header(&self) -> Option<Bytes> {
        split_obus(&self.config_obus)
            .ok()?
            .into_iter()
            .find(|o| obu_type(o) == Some(OBU_SEQUENCE_HEADER))
    }

    pub fn parse(data: &Bytes) -> Result<Self, FlvError> {
        let h = data.get(..4).ok_or(truncated(WHAT))?;
        if h[0] != 0x81 {
            return Err(invalid(WHAT, "marker or version is not 1"));
        }
        let mut header = [0u8; 4];
        header.copy_from_slice(h);
        Ok(Av1Config {
            header,
            config_obus: data.slice(4..),
        })
    }

    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&self.header);
        out.put_slice(&self.config_obus);
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }

    /// A record for a sequence header OBU: profile, level, tier, bit depth and chroma
    /// fields read from it (AV1 5.5), the OBU (given a size field) as configuration.
    pub fn from_sequence_header(obu: &Bytes) -> Result<Self, FlvError> {
        let (payload_start, payload_len) = obu_payload(obu)?;
        if obu_type(obu) != Some(OBU_SEQUENCE_HEADER) {
            return Err(invalid(WHAT, "OBU is not a sequence header"));
        }
        let payload = obu
            .get(payload_start..payload_start + payload_len)
            .ok_or(truncated(OBUS))?;
        let f = SequenceFields::parse(payload)
            .map_err(|_| invalid(WHAT, "sequence header cannot be parsed"))?;
        let header = [
            0x81,
            (f.profile << 5) | (f.level & 0x1f),
            (u8::from(f.tier) << 7)
                | (u8::from(f.high_bitdepth) << 6)
                | (u8::from(f.twelve_bit) << 5)
                | (u8::from(f.monochrome) << 4)
                | (u8::from(f.subsampling_x) << 3)
                | (u8::from(f.subsampling_y) << 2)
                | (f.chroma_sample_position & 0x03),
            0,
        ];
        Ok(Av1Config {
            header,
            config_obus: with_size_field(obu)?,
        })
    }
}

/// Start and length of an OBU's payload.
fn obu_payload(obu: &[u8]) -> Result<(usize, usize), FlvError> {
    let h = *obu.first().ok_or(truncated(OBUS))?;
    if h & 0x80 != 0 {
        return Err(invalid(OBUS, "forbidden bit set"));
    }
    let header_len = if h & 0x04 != 0 { 2 } else { 1 };
    if obu.len() < header_len {
        return Err(truncated(OBUS));
    }
    if h & 0x02 == 0 {
        return Ok((header_len, obu.len() - header_len));
    }
    let (size, n) = read_leb128(&obu[header_len..]).ok_or(truncated(OBUS))?;
    let size = usize::try_from(size).map_err(|_| truncated(OBUS))?;
    Ok((header_len + n, size))
}

/// Splits coded AV1 data into OBUs (each keeps its header and size field); an OBU
/// without a size field takes the rest of the data.
pub fn split_obus(data: &Bytes) -> Result<Vec<Bytes>, FlvError> {
    let mut obus = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let (start, len) = obu_payload(&data[pos..])?;
        let end = pos
            .checked_add(start)
            .and_then(|p| p.checked_add(len))
            .filter(|e| *e <= data.len())
            .ok_or(truncated(OBUS))?;
        obus.push(data.slice(pos..end));
        pos = end;
    }
    Ok(obus)
}

/// The OBU with a size field (unchanged when it already has one).
pub fn with_size_field(obu: &Bytes) -> Result<Bytes, FlvError> {
    let h = *obu.first().ok_or(truncated(OBUS))?;
    if h & 0x02 != 0 {
        return Ok(obu.clone());
    }
    let header_len = if h & 0x04 != 0 { 2 } else { 1 };
    let header = obu.get(..header_len).ok_or(truncated(OBUS))?;
    let payload = &obu[header_len..];
    let mut out = BytesMut::with_capacity(obu.len() + 8);
    out.put_u8(h | 0x02);
    out.put_slice(&header[1..]);
    write_leb128(&mut out, payload.len() as u64);
    out.put_slice(payload);
    Ok(out.freeze())
}

/// What the configuration record repeats of a sequence header.
struct SequenceFields {
    profile: u8,
    level: u8,
    tier: bool,
    high_bitdepth: bool,
    twelve_bit: bool,
    monochrome: bool,
    subsampling_x: bool,
    subsampling_y: bool,
    chroma_sample_position: u8,
}

fn uvlc(r: &mut BitReader<'_>) -> Result<u32, BitstreamError> {
    let mut zeros = 0;
    while !r.read_bit()? {
        zeros += 1;
        if zeros >= 32 {
            return Ok(u32::MAX);
        }
    }
    Ok(r.read_bits(zeros)?.saturating_add((1u32 << zeros) - 1))
}

impl SequenceFields {
    fn parse(payload: &[u8]) -> Result<Self, BitstreamError> {
        let mut r = BitReader::new(payload);
        let profile = r.read_bits(3)? as u8;
        r.skip(1)?; // still_picture
        let reduced = r.read_bit()?;
        let (level, tier);
        if reduced {
            level = r.read_bits(5)? as u8;
            tier = false;
        } else {
            let mut decoder_model = false;
            let mut buffer_delay_len = 0;
            if r.read_bit()? {
                r.skip(64)?; // num_units_in_display_tick, time_scale
                if r.read_bit()? {
                    uvlc(&mut r)?;
                }
                decoder_model = r.read_bit()?;
                if decoder_model {
                    buffer_delay_len = r.read_bits(5)? as usize + 1;
                    r.skip(32 + 5 + 5)?;
                }
            }
            let initial_display_delay = r.read_bit()?;
            let count = r.read_bits(5)? + 1;
            let mut first = None;
            for _ in 0..count {
                r.skip(12)?; // operating_point_idc
                let idx = r.read_bits(5)? as u8;
                let t = idx > 7 && r.read_bit()?;
                first.get_or_insert((idx, t));
                if decoder_model && r.read_bit()? {
                    r.skip(2 * buffer_delay_len + 1)?;
                }
                if initial_display_delay && r.read_bit()? {
                    r.skip(4)?;
                }
            }
            (level, tier) = first.unwrap_or((0, false));
        }
        let width_bits = r.read_bits(4)? as usize + 1;
        let height_bits = r.read_bits(4)? as usize + 1;
        r.skip(width_bits + height_bits)?;
        if !reduced && r.read_bit()? {
            r.skip(7)?; // delta_frame_id_length_minus_2, additional_frame_id_length_minus_1
        }
        r.skip(3)?; // 128x128 superblock, filter intra, intra edge filter
        if !reduced {
            r.skip(4)?; // interintra, masked compound, warped motion, dual filter
            let order_hint = r.read_bit()?;
            if order_hint {
                r.skip(2)?;
            }
            let force_screen_content = if r.read_bit()? { 2 } else { r.read_bits(1)? };
            if force_screen_content > 0 && !r.read_bit()? {
                r.skip(1)?;
            }
            if order_hint {
                r.skip(3)?;
            }
        }
        r.skip(3)?; // superres, cdef, restoration
        let high_bitdepth = r.read_bit()?;
        let twelve_bit = profile == 2 && high_bitdepth && r.read_bit()?;
        let monochrome = profile != 1 && r.read_bit()?;
        let (mut cp, mut tc, mut mc) = (2, 2, 2);
        if r.read_bit()? {
            cp = r.read_bits(8)?;
            tc = r.read_bits(8)?;
            mc = r.read_bits(8)?;
        }
        let (mut ssx, mut ssy, mut csp) = (true, true, 0);
        if !monochrome {
            if cp == 1 && tc == 13 && mc == 0 {
                (ssx, ssy) = (false, false);
            } else {
                r.skip(1)?; // color_range
                (ssx, ssy) = match profile {
                    0 => (true, true),
                    1 => (false, false),
                    _ if twelve_bit => {
                        let x = r.read_bit()?;
                        (x, x && r.read_bit()?)
                    }
                    _ => (true, false),
                };
                if ssx && ssy {
                    csp = r.read_bits(2)? as u8;
                }
            }
        }
        Ok(SequenceFields {
            profile,
            level,
            tier,
            high_bitdepth,
            twelve_bit,
            monochrome,
            subsampling_x: ssx,
            subsampling_y: ssy,
            chroma_sample_position: csp,
        })
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

    // libaom (64x64) sequence headers and the records ffmpeg's MP4 muxer wrote.
    const SEQ_8BIT: &str = "0a0a 00000002afff9b5f2008";
    const SEQ_10BIT: &str = "0a0a 00000002afff9b5f2808";

    #[test]
    fn records_from_sequence_headers_match_ffmpeg() {
        let c = Av1Config::from_sequence_header(&hex(SEQ_8BIT)).expect("builds");
        assert_eq!(c.to_bytes(), hex(&format!("81000c00 {SEQ_8BIT}")));
        let c = Av1Config::from_sequence_header(&hex(SEQ_10BIT)).expect("builds");
        assert_eq!(c.to_bytes(), hex(&format!("81004c00 {SEQ_10BIT}")));
        assert_eq!((c.seq_profile(), c.seq_level_idx_0()), (0, 0));
        assert_eq!(c.sequence_header(), Some(hex(SEQ_10BIT)));
    }

    #[test]
    fn a_sequence_header_without_size_field_gets_one() {
        let bare = hex("08 00000002afff9b5f2008");
        let c = Av1Config::from_sequence_header(&bare).expect("builds");
        assert_eq!(c.config_obus, hex(SEQ_8BIT));
    }

    #[test]
    fn records_round_trip_and_reject_garbage() {
        let data = hex(&format!("81000c00 {SEQ_8BIT}"));
        assert_eq!(Av1Config::parse(&data).expect("parses").to_bytes(), data);
        assert_eq!(Av1Config::parse(&hex("81")), Err(truncated(WHAT)));
        assert_eq!(
            Av1Config::parse(&hex("01000c00")),
            Err(invalid(WHAT, "marker or version is not 1"))
        );
        assert_eq!(
            Av1Config::from_sequence_header(&hex("1200")),
            Err(invalid(WHAT, "OBU is not a sequence header"))
        );
    }

    #[test]
    fn obus_split_on_their_size_fields() {
        // Temporal delimiter, sequence header, a frame OBU without a size field.
        let data = hex(&format!("1200 {SEQ_8BIT} 30 aabbcc"));
        let obus = split_obus(&data).expect("splits");
        assert_eq!(obus, vec![hex("1200"), hex(SEQ_8BIT), hex("30aabbcc")]);
        assert_eq!(with_size_field(&obus[2]).expect("ok"), hex("32 03 aabbcc"));
        assert_eq!(split_obus(&hex("0a0a 0000")), Err(truncated(OBUS)));
        assert_eq!(
            split_obus(&hex("8a00")),
            Err(invalid(OBUS, "forbidden bit set"))
        );
    }
}

//! Bit-level reading of codec headers: fixed-width fields and Exp-Golomb codes
//! (H.264 7.2 / 9.1), plus removal of emulation-prevention bytes.

/// The header ended before a field, or a field holds an impossible value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitstreamError {
    #[error("bitstream ends early")]
    EndOfData,
    #[error("invalid Exp-Golomb code")]
    InvalidGolomb,
    #[error("cannot read {0} bits at once")]
    TooWide(u32),
}

/// Reads bits most-significant first.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    /// Bits not yet read.
    pub fn remaining(&self) -> usize {
        (self.data.len() * 8).saturating_sub(self.pos)
    }

    pub fn read_bit(&mut self) -> Result<bool, BitstreamError> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or(BitstreamError::EndOfData)?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    /// Reads `n` (at most 32) bits.
    pub fn read_bits(&mut self, n: u32) -> Result<u32, BitstreamError> {
        if n > 32 {
            return Err(BitstreamError::TooWide(n));
        }
        if self.remaining() < n as usize {
            return Err(BitstreamError::EndOfData);
        }
        let mut v: u32 = 0;
        for _ in 0..n {
            v = (v << 1) | u32::from(self.read_bit()?);
        }
        Ok(v)
    }

    pub fn skip(&mut self, n: usize) -> Result<(), BitstreamError> {
        if self.remaining() < n {
            return Err(BitstreamError::EndOfData);
        }
        self.pos += n;
        Ok(())
    }

    /// Unsigned Exp-Golomb, ue(v).
    pub fn read_ue(&mut self) -> Result<u32, BitstreamError> {
        let mut zeros = 0;
        while !self.read_bit()? {
            zeros += 1;
            if zeros > 31 {
                return Err(BitstreamError::InvalidGolomb);
            }
        }
        if zeros == 0 {
            return Ok(0);
        }
        let rest = self.read_bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }

    /// Signed Exp-Golomb, se(v).
    pub fn read_se(&mut self) -> Result<i32, BitstreamError> {
        let k = i64::from(self.read_ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }
}

/// Writes bits most-significant first; the last byte is padded with zeros.
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `value` as an `n`-bit field (bits above 32 are zero).
    pub fn write_bits(&mut self, value: u32, n: u32) {
        let value = u64::from(value);
        for i in (0..n).rev() {
            if self.bits.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if i < 64
                && (value >> i) & 1 == 1
                && let Some(last) = self.bytes.last_mut()
            {
                *last |= 0x80 >> (self.bits % 8);
            }
            self.bits += 1;
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The RBSP of a NAL unit: `00 00 03` sequences lose their `03` (H.264 7.4.1).
pub fn remove_emulation_prevention(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_golomb_codes() {
        // 1 | 010 | 011 | 00100 | 00101 -> ue 0, 1, 2, 3 then se(4) = -2
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(r.read_ue(), Ok(0));
        assert_eq!(r.read_ue(), Ok(1));
        assert_eq!(r.read_ue(), Ok(2));
        assert_eq!(r.read_ue(), Ok(3));
        assert_eq!(r.read_se(), Ok(-2));
        assert_eq!(r.read_bits(8), Err(BitstreamError::EndOfData));
    }

    #[test]
    fn writer_round_trips_with_reader() {
        let mut w = BitWriter::new();
        w.write_bits(0b101, 3);
        w.write_bits(0x1234, 13);
        w.write_bits(1, 1);
        let bytes = w.into_bytes();
        assert_eq!(bytes.len(), 3);
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bits(3), Ok(0b101));
        assert_eq!(r.read_bits(13), Ok(0x1234));
        assert_eq!(r.read_bits(1), Ok(1));
        assert_eq!(r.read_bits(7), Ok(0));
        assert_eq!(
            BitReader::new(&[0; 8]).read_bits(33),
            Err(BitstreamError::TooWide(33))
        );
        let mut w = BitWriter::new();
        w.write_bits(u32::MAX, 40);
        assert_eq!(w.into_bytes(), vec![0, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn golomb_on_zeros_is_an_error() {
        let mut r = BitReader::new(&[0; 8]);
        assert_eq!(r.read_ue(), Err(BitstreamError::InvalidGolomb));
        let mut r = BitReader::new(&[0; 2]);
        assert_eq!(r.read_ue(), Err(BitstreamError::EndOfData));
    }

    #[test]
    fn emulation_prevention_is_removed() {
        assert_eq!(
            remove_emulation_prevention(&[0x67, 0, 0, 3, 1, 0, 0, 3, 0, 3]),
            vec![0x67, 0, 0, 1, 0, 0, 0, 3]
        );
    }
}

//! The compressed packet sequence list of NAK reports (draft-sharabayko-srt, appendix
//! "Packet Sequence List Coding"): a single lost packet is one word with the top bit
//! clear; a run of two or more is its first number with the top bit set, then its last.

use crate::seq::SeqNumber;

/// A malformed loss list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LossListError {
    /// The list is not a whole number of 32-bit words.
    #[error("loss list of {0} bytes is not a multiple of 4")]
    Unaligned(usize),
    /// A range start (top bit set) is the last word.
    #[error("loss list ends inside a range")]
    TruncatedRange,
    /// A range whose end comes before its start, or that spans half the number space.
    #[error("loss range {first}..={last} is inverted")]
    InvertedRange {
        /// First number of the range.
        first: u32,
        /// Last number of the range.
        last: u32,
    },
}

/// An inclusive run of lost sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossRange {
    /// The first lost number.
    pub first: SeqNumber,
    /// The last lost number (equal to `first` for a single packet).
    pub last: SeqNumber,
}

impl LossRange {
    /// A run of one packet.
    pub const fn single(seq: SeqNumber) -> Self {
        Self {
            first: seq,
            last: seq,
        }
    }

    /// How many packets the run covers.
    pub fn len(&self) -> u32 {
        // Ranges are validated to be non-inverted, so the distance is >= 0.
        self.last.diff(self.first).unsigned_abs() + 1
    }

    /// Never empty; present for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `seq` lies in the run.
    pub fn contains(&self, seq: SeqNumber) -> bool {
        seq.diff(self.first) >= 0 && self.last.diff(seq) >= 0
    }
}

/// Parses a NAK control information field.
pub fn parse(cif: &[u8]) -> Result<Vec<LossRange>, LossListError> {
    if !cif.len().is_multiple_of(4) {
        return Err(LossListError::Unaligned(cif.len()));
    }
    let mut words = cif
        .chunks_exact(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    let mut out = Vec::with_capacity(cif.len() / 4);
    while let Some(w) = words.next() {
        if w & 0x8000_0000 != 0 {
            let last = words.next().ok_or(LossListError::TruncatedRange)?;
            let first = SeqNumber::new(w);
            let last = SeqNumber::new(last);
            if last.diff(first) < 0 {
                return Err(LossListError::InvertedRange {
                    first: first.value(),
                    last: last.value(),
                });
            }
            out.push(LossRange { first, last });
        } else {
            out.push(LossRange::single(SeqNumber::new(w)));
        }
    }
    Ok(out)
}

/// Encodes ranges, stopping before the list would exceed `max_bytes`.
pub fn write(ranges: &[LossRange], max_bytes: usize, out: &mut Vec<u8>) {
    let start = out.len();
    for r in ranges {
        let need = if r.first == r.last { 4 } else { 8 };
        if out.len() - start + need > max_bytes {
            break;
        }
        if r.first == r.last {
            out.extend_from_slice(&r.first.value().to_be_bytes());
        } else {
            out.extend_from_slice(&(r.first.value() | 0x8000_0000).to_be_bytes());
            out.extend_from_slice(&r.last.value().to_be_bytes());
        }
    }
}

/// Merges sorted sequence numbers into runs.
pub fn compress(seqs: impl IntoIterator<Item = SeqNumber>) -> Vec<LossRange> {
    let mut out: Vec<LossRange> = Vec::new();
    for s in seqs {
        match out.last_mut() {
            Some(r) if r.last.next() == s => r.last = s,
            _ => out.push(LossRange::single(s)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u32) -> SeqNumber {
        SeqNumber::new(v)
    }

    #[test]
    fn round_trip_singles_and_ranges() {
        let ranges = vec![
            LossRange::single(s(5)),
            LossRange {
                first: s(7),
                last: s(9),
            },
            LossRange {
                first: s(SeqNumber::MAX),
                last: s(1),
            },
        ];
        let mut wire = Vec::new();
        write(&ranges, 1500, &mut wire);
        assert_eq!(
            wire,
            [
                0x00, 0, 0, 5, 0x80, 0, 0, 7, 0, 0, 0, 9, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1
            ]
        );
        assert_eq!(parse(&wire).unwrap(), ranges);
        assert_eq!(ranges[2].len(), 3);
        assert!(ranges[2].contains(s(0)));
        assert!(!ranges[2].contains(s(2)));
    }

    #[test]
    fn compress_merges_runs_across_wrap() {
        let r = compress([s(1), s(2), s(3), s(5), s(SeqNumber::MAX), s(0)]);
        assert_eq!(
            r,
            vec![
                LossRange {
                    first: s(1),
                    last: s(3)
                },
                LossRange::single(s(5)),
                LossRange {
                    first: s(SeqNumber::MAX),
                    last: s(0)
                },
            ]
        );
    }

    #[test]
    fn write_respects_the_size_cap() {
        let ranges: Vec<_> = (0..10).map(|i| LossRange::single(s(i * 2))).collect();
        let mut wire = Vec::new();
        write(&ranges, 16, &mut wire);
        assert_eq!(parse(&wire).unwrap().len(), 4);
    }

    #[test]
    fn malformed_lists_are_errors() {
        assert_eq!(parse(&[0, 0, 1]), Err(LossListError::Unaligned(3)));
        assert_eq!(parse(&[0x80, 0, 0, 1]), Err(LossListError::TruncatedRange));
        assert!(matches!(
            parse(&[0x80, 0, 0, 9, 0, 0, 0, 2]),
            Err(LossListError::InvertedRange { .. })
        ));
    }
}

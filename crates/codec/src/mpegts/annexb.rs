//! H.264/H.265 Annex B byte streams: NAL units behind `00 00 01` start codes.

use bytes::Bytes;

/// Splits an Annex B byte stream into NAL units without start codes (trailing zero
/// bytes removed, empty units skipped). `None` when the data does not begin with a start
/// code (leading zero bytes allowed).
pub(crate) fn split(data: &Bytes) -> Option<Vec<Bytes>> {
    let zeros = data.iter().take_while(|b| **b == 0).count();
    if zeros < 2 || data.get(zeros) != Some(&1) {
        return None;
    }
    let mut nalus = Vec::new();
    let mut start = zeros + 1;
    let mut i = start;
    while i + 2 < data.len() {
        match data.get(i..i + 3) {
            Some([0, 0, 1]) => {
                push_trimmed(&mut nalus, data, start, i);
                i += 3;
                start = i;
            }
            // The third byte is not 0 or 1: no start code can begin before i + 3.
            Some([_, _, b]) if *b > 1 => i += 3,
            _ => i += 1,
        }
    }
    push_trimmed(&mut nalus, data, start, data.len());
    Some(nalus)
}

fn push_trimmed(nalus: &mut Vec<Bytes>, data: &Bytes, start: usize, end: usize) {
    let body = data.get(start..end).unwrap_or_default();
    let trailing = body.iter().rev().take_while(|b| **b == 0).count();
    let end = end - trailing;
    if end > start {
        nalus.push(data.slice(start..end));
    }
}

/// Appends NAL units, each behind a 4-byte start code.
pub(crate) fn join<'a>(out: &mut Vec<u8>, nalus: impl IntoIterator<Item = &'a [u8]>) {
    for nalu in nalus {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nalu);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join() {
        let data = Bytes::from_static(&[
            0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 0, 1, 0x65, 0x88, 0, 0, 3, 1, 0,
            0,
        ]);
        let nalus = split(&data).expect("annex b");
        assert_eq!(
            nalus,
            vec![
                Bytes::from_static(&[0x09, 0xf0]),
                Bytes::from_static(&[0x67, 0x42]),
                Bytes::from_static(&[0x65, 0x88, 0, 0, 3, 1]),
            ]
        );
        let mut out = Vec::new();
        join(&mut out, nalus.iter().map(|n| &n[..]));
        assert_eq!(split(&Bytes::from(out)), Some(nalus));
    }

    #[test]
    fn rejects_missing_start_code_and_skips_empty_units() {
        assert_eq!(split(&Bytes::from_static(&[0x65, 0, 0, 1, 0x65])), None);
        assert_eq!(split(&Bytes::from_static(&[0, 1, 0x65])), None);
        assert_eq!(split(&Bytes::from_static(&[0, 0])), None);
        assert_eq!(
            split(&Bytes::from_static(&[0, 0, 1, 0, 0, 1, 0x41, 0, 0, 1])),
            Some(vec![Bytes::from_static(&[0x41])])
        );
    }
}

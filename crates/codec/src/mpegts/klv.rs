//! Synchronous KLV metadata (ISO/IEC 13818-1 2.12.4, MISB ST 1402): the data of a
//! metadata access unit cut into metadata_AU_cells of at most 65535 bytes, each behind a
//! 5-byte header (service id, sequence number, fragment indication and flags, length).

use bytes::{Bytes, BytesMut};

const MAX_CELL: usize = 0xffff;
/// cell_fragment_indication values.
const FIRST: u8 = 0b10;
const MIDDLE: u8 = 0b00;
const LAST: u8 = 0b01;
const WHOLE: u8 = 0b11;

/// The data of the metadata AU cells of one PES, in order.
pub(crate) fn unwrap_cells(data: &Bytes) -> Result<Bytes, &'static str> {
    let mut cells = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let [_, _, _, l0, l1, ..] = data.get(pos..).unwrap_or_default() else {
            return Err("metadata AU cell header truncated");
        };
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let cell = data
            .get(pos + 5..pos + 5 + len)
            .ok_or("metadata AU cell length exceeds the data")?;
        cells.push(data.slice_ref(cell));
        pos += 5 + len;
    }
    match cells.as_slice() {
        [] => Err("no metadata AU cell"),
        [one] => Ok(one.clone()),
        many => {
            let mut out = BytesMut::with_capacity(many.iter().map(Bytes::len).sum());
            for cell in many {
                out.extend_from_slice(cell);
            }
            Ok(out.freeze())
        }
    }
}

/// Appends `data` as metadata AU cells (service 0, random access).
pub(crate) fn write_cells(out: &mut Vec<u8>, data: &[u8]) {
    let count = data.len().div_ceil(MAX_CELL).max(1);
    let mut chunks = data.chunks(MAX_CELL);
    for i in 0..count {
        let chunk = chunks.next().unwrap_or_default();
        let fragment = match (i, count) {
            (_, 1) => WHOLE,
            (0, _) => FIRST,
            (i, n) if i + 1 == n => LAST,
            _ => MIDDLE,
        };
        out.extend_from_slice(&[0, i as u8, (fragment << 6) | 0x1f]);
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for len in [0, 5, MAX_CELL, MAX_CELL + 1, 2 * MAX_CELL + 7] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            write_cells(&mut out, &data);
            assert_eq!(out.len(), len + 5 * len.div_ceil(MAX_CELL).max(1));
            assert_eq!(unwrap_cells(&Bytes::from(out)), Ok(Bytes::from(data)));
        }
        let mut out = Vec::new();
        write_cells(&mut out, &[0x06, 0x0e]);
        assert_eq!(out, [0x00, 0x00, 0xdf, 0x00, 0x02, 0x06, 0x0e]);
    }

    #[test]
    fn errors() {
        assert!(unwrap_cells(&Bytes::new()).is_err());
        assert!(unwrap_cells(&Bytes::from_static(&[0, 0, 0xdf, 0])).is_err());
        assert!(unwrap_cells(&Bytes::from_static(&[0, 0, 0xdf, 0, 2, 1])).is_err());
    }
}

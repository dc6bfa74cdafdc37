//! ISO BMFF box framing (ISO/IEC 14496-12 4.2): a writer that nests boxes in one buffer and
//! patches their sizes, and a bounds-checked reader of box headers and fields.

use super::{ReadError, WriteError};

/// Appends boxes to a buffer; `start*` opens a box, `end` closes the innermost one.
#[derive(Debug, Default)]
pub(crate) struct BoxWriter {
    pub(crate) buf: Vec<u8>,
    open: Vec<usize>,
}

impl BoxWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn start(&mut self, kind: &[u8; 4]) {
        self.open.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        self.buf.extend_from_slice(kind);
    }

    /// Opens a FullBox (version and 24-bit flags after the header).
    pub(crate) fn start_full(&mut self, kind: &[u8; 4], version: u8, flags: u32) {
        self.start(kind);
        self.u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
    }

    pub(crate) fn end(&mut self) -> Result<(), WriteError> {
        let start = self
            .open
            .pop()
            .ok_or(WriteError::Internal("box end without start"))?;
        let size = u32::try_from(self.buf.len() - start).map_err(|_| WriteError::TooLarge)?;
        self.buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
        Ok(())
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    pub(crate) fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }
    /// Writes `v` at `pos` (a place reserved earlier).
    pub(crate) fn patch_u32(&mut self, pos: usize, v: u32) -> Result<(), WriteError> {
        let slot = self
            .buf
            .get_mut(pos..pos + 4)
            .ok_or(WriteError::Internal("patch outside the buffer"))?;
        slot.copy_from_slice(&v.to_be_bytes());
        Ok(())
    }
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }
}

/// A box found by [`Boxes`]: its type, its body, and where the box starts in the data
/// iterated over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawBox<'a> {
    pub(crate) kind: [u8; 4],
    pub(crate) body: &'a [u8],
    pub(crate) offset: usize,
}

/// Printable four-character code.
pub(crate) fn fourcc(kind: &[u8; 4]) -> String {
    kind.iter()
        .map(|b| {
            if b.is_ascii_graphic() {
                char::from(*b)
            } else {
                '?'
            }
        })
        .collect()
}

/// Iterates the boxes laid one after the other in `data`.
pub(crate) struct Boxes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Boxes<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Boxes { data, pos: 0 }
    }
}

impl<'a> Iterator for Boxes<'a> {
    type Item = Result<RawBox<'a>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let result = parse_header(rest).map(|(kind, header_len, size)| {
            let body = &rest[header_len..size];
            let offset = self.pos;
            self.pos += size;
            RawBox { kind, body, offset }
        });
        if result.is_err() {
            self.pos = self.data.len();
        }
        Some(result)
    }
}

/// Type, header length and total size of the box at the start of `data`.
fn parse_header(data: &[u8]) -> Result<([u8; 4], usize, usize), ReadError> {
    let mut r = Fields::new(data, "box header");
    let size32 = r.u32()?;
    let kind = r.fourcc()?;
    let (header_len, size) = match size32 {
        0 => (8, data.len() as u64),
        1 => (16, r.u64()?),
        n => (8, u64::from(n)),
    };
    let size = usize::try_from(size).map_err(|_| ReadError::BadSize(fourcc(&kind)))?;
    if size < header_len || size > data.len() {
        return Err(ReadError::BadSize(fourcc(&kind)));
    }
    Ok((kind, header_len, size))
}

/// The first child box of type `kind` in `data`.
pub(crate) fn find<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<Option<RawBox<'a>>, ReadError> {
    for b in Boxes::new(data) {
        let b = b?;
        if &b.kind == kind {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

/// The first child box of type `kind`, or an error naming it.
pub(crate) fn require<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<RawBox<'a>, ReadError> {
    find(data, kind)?.ok_or_else(|| ReadError::Missing(fourcc(kind)))
}

/// Reads big-endian fields of one box body; running out is a [`ReadError::Truncated`]
/// naming the box.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Self {
        Fields { data, pos: 0, what }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(ReadError::Truncated(self.what))?;
        let v = self
            .data
            .get(self.pos..end)
            .ok_or(ReadError::Truncated(self.what))?;
        self.pos = end;
        Ok(v)
    }

    pub(crate) fn skip(&mut self, n: usize) -> Result<(), ReadError> {
        self.take(n).map(|_| ())
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ReadError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, ReadError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn u24(&mut self) -> Result<u32, ReadError> {
        let b = self.take(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, ReadError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, ReadError> {
        let hi = self.u32()?;
        let lo = self.u32()?;
        Ok((u64::from(hi) << 32) | u64::from(lo))
    }
    pub(crate) fn fourcc(&mut self) -> Result<[u8; 4], ReadError> {
        let b = self.take(4)?;
        Ok([b[0], b[1], b[2], b[3]])
    }
    /// Version and flags of a FullBox.
    pub(crate) fn full_header(&mut self) -> Result<(u8, u32), ReadError> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00ff_ffff))
    }
    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_boxes_round_trip() {
        let mut w = BoxWriter::new();
        w.start(b"moov");
        w.start_full(b"mvhd", 1, 0x000102);
        w.u16(0xbeef);
        w.end().expect("closes");
        w.start(b"free");
        w.end().expect("closes");
        w.end().expect("closes");
        assert_eq!(w.end(), Err(WriteError::Internal("box end without start")));
        let moov = require(&w.buf, b"moov").expect("moov");
        assert_eq!(moov.body.len(), 14 + 8);
        let kids: Vec<_> = Boxes::new(moov.body)
            .map(|b| b.expect("box").kind)
            .collect();
        assert_eq!(kids, vec![*b"mvhd", *b"free"]);
        let mvhd = require(moov.body, b"mvhd").expect("mvhd");
        let mut f = Fields::new(mvhd.body, "mvhd");
        assert_eq!(f.full_header(), Ok((1, 0x000102)));
        assert_eq!(f.u16(), Ok(0xbeef));
        assert_eq!(f.u8(), Err(ReadError::Truncated("mvhd")));
    }

    #[test]
    fn bad_sizes_are_errors() {
        // Size smaller than the header, size past the end, 64-bit size, size 0 = to the end.
        assert!(Boxes::new(&[0, 0, 0, 4, b'f', b'r', b'e', b'e']).any(|b| b.is_err()));
        assert!(Boxes::new(&[0, 0, 0, 9, b'f', b'r', b'e', b'e']).any(|b| b.is_err()));
        let large = [
            0, 0, 0, 1, b'f', b'r', b'e', b'e', 0, 0, 0, 0, 0, 0, 0, 17, 0xaa,
        ];
        let b = Boxes::new(&large).next().expect("one").expect("valid");
        assert_eq!(b.body, &[0xaa]);
        let to_end = [0, 0, 0, 0, b'm', b'd', b'a', b't', 1, 2];
        let b = Boxes::new(&to_end).next().expect("one").expect("valid");
        assert_eq!(b.body, &[1, 2]);
        assert_eq!(fourcc(&b.kind), "mdat");
        assert!(require(&[], b"moov").is_err());
    }
}

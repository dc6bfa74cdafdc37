//! RFC 4571 framing of ICE-TCP: each STUN, DTLS, RTP or RTCP packet travels on the TCP
//! connection behind a 16-bit big-endian length. Sans-IO: feed bytes, take frames.

/// Splits a byte stream into RFC 4571 frames.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out.
    start: usize,
}

impl FrameDecoder {
    /// Appends bytes read from the connection.
    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if there is one.
    pub fn next_frame(&mut self) -> Option<&[u8]> {
        let rest = &self.buf[self.start..];
        let head = rest.get(..2)?;
        let len = usize::from(u16::from_be_bytes([head[0], head[1]]));
        if rest.len() < 2 + len {
            // Keep only what is still needed, so a slow stream can't grow the buffer.
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            return None;
        }
        let frame = self.start + 2..self.start + 2 + len;
        self.start += 2 + len;
        Some(&self.buf[frame])
    }

    /// Bytes received but not yet part of a complete frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }
}

/// `data` behind its RFC 4571 length; `None` if it is too long for one frame.
pub fn frame(data: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(data.len()).ok()?;
    let mut out = Vec::with_capacity(2 + data.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> (Vec<u8>, Vec<Vec<u8>>) {
        let frames: Vec<Vec<u8>> = vec![
            vec![0, 1, 0, 0],
            Vec::new(),
            (0..1500u32).map(|i| i as u8).collect(),
            vec![0x80, 96, 1],
        ];
        let bytes = frames.iter().flat_map(|f| frame(f).unwrap()).collect();
        (bytes, frames)
    }

    #[test]
    fn frames_come_out_whole_whatever_the_split() {
        let (bytes, frames) = stream();
        for split in 0..=bytes.len() {
            let mut d = FrameDecoder::default();
            let mut got = Vec::new();
            for part in [&bytes[..split], &bytes[split..]] {
                d.push(part);
                while let Some(f) = d.next_frame() {
                    got.push(f.to_vec());
                }
            }
            assert_eq!(got, frames, "split at {split}");
            assert_eq!(d.pending(), 0);
        }
        // Byte by byte.
        let mut d = FrameDecoder::default();
        let mut got = Vec::new();
        for b in &bytes {
            d.push(std::slice::from_ref(b));
            while let Some(f) = d.next_frame() {
                got.push(f.to_vec());
            }
        }
        assert_eq!(got, frames);
    }

    #[test]
    fn a_partial_frame_waits_and_oversized_data_is_refused() {
        let mut d = FrameDecoder::default();
        d.push(&[0, 5, 1, 2]);
        assert_eq!(d.next_frame(), None);
        assert_eq!(d.pending(), 4);
        d.push(&[3, 4, 5, 0]);
        assert_eq!(d.next_frame(), Some(&[1, 2, 3, 4, 5][..]));
        assert_eq!(d.next_frame(), None);
        assert_eq!(d.pending(), 1);
        assert!(frame(&vec![0; 70_000]).is_none());
        assert_eq!(frame(&[9]).unwrap(), [0, 1, 9]);
    }
}

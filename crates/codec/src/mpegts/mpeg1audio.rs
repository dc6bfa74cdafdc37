//! MPEG-1/2 audio in PES packets: frames one after the other, each as long as its header says
//! ([`crate::mpeg1audio::FrameHeader`]).

use bytes::Bytes;

use crate::mpeg1audio::FrameHeader;

/// Splits a PES payload into frames.
pub(crate) fn split(data: &Bytes) -> Result<Vec<Bytes>, &'static str> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let len = FrameHeader::parse(data.get(pos..).unwrap_or_default())
            .map_err(|e| e.reason())?
            .length;
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

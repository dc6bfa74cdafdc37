//! AAC in LATM with the LOAS AudioSyncStream (ISO/IEC 14496-3 1.7.2): each
//! AudioMuxElement behind an 11-bit syncword 0x2B7 and a 13-bit length.

use bytes::Bytes;

/// Largest AudioMuxElement (13-bit audioMuxLengthBytes).
pub(crate) const MAX_ELEMENT: usize = 0x1fff;

/// Splits an AudioSyncStream into AudioMuxElements.
pub(crate) fn split(data: &Bytes) -> Result<Vec<Bytes>, &'static str> {
    let mut elements = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let [b0, b1, b2, ..] = data.get(pos..).unwrap_or_default() else {
            return Err("LOAS header truncated");
        };
        if *b0 != 0x56 || b1 & 0xe0 != 0xe0 {
            return Err("LOAS syncword missing");
        }
        let len = (usize::from(b1 & 0x1f) << 8) | usize::from(*b2);
        let element = data
            .get(pos + 3..pos + 3 + len)
            .ok_or("AudioMuxElement length exceeds the data")?;
        elements.push(data.slice_ref(element));
        pos += 3 + len;
    }
    if elements.is_empty() {
        return Err("no AudioMuxElement");
    }
    Ok(elements)
}

/// Appends one AudioMuxElement behind its LOAS header.
pub(crate) fn write(out: &mut Vec<u8>, element: &[u8]) -> Result<(), &'static str> {
    if element.len() > MAX_ELEMENT {
        return Err("AudioMuxElement too large for LOAS");
    }
    let len = element.len() as u16;
    out.extend_from_slice(&[0x56, 0xe0 | (len >> 8) as u8, len as u8]);
    out.extend_from_slice(element);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let mut out = Vec::new();
        write(&mut out, &[0x47, 0xfc, 0x00]).expect("fits");
        write(&mut out, &[]).expect("fits");
        assert_eq!(&out[..3], &[0x56, 0xe0, 0x03]);
        let elements = split(&Bytes::from(out)).expect("valid");
        assert_eq!(
            elements,
            vec![Bytes::from_static(&[0x47, 0xfc, 0x00]), Bytes::new()]
        );
        assert!(split(&Bytes::from_static(&[0x56, 0xe0, 0x05, 1])).is_err());
        assert!(split(&Bytes::from_static(&[0x57, 0xe0, 0x00])).is_err());
        assert!(split(&Bytes::from_static(&[0x56])).is_err());
        assert!(split(&Bytes::new()).is_err());
        assert!(write(&mut Vec::new(), &[0; MAX_ELEMENT + 1]).is_err());
    }
}

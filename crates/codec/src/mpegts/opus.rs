//! Opus in MPEG-TS (ETSI TS 102 366 style draft "Opus in MPEG-2 TS" 0.1.3): each Opus
//! packet behind an opus_control_header (prefix 0x7FF0 in its top 11 bits, trim fields,
//! payload size as a run of 0xFF bytes plus a last byte).

use bytes::Bytes;

/// Splits opus_access_units into Opus packets.
pub(crate) fn split(data: &Bytes) -> Result<Vec<Bytes>, &'static str> {
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let rest = data.get(pos..).unwrap_or_default();
        let [0x7f, flags, rest @ ..] = rest else {
            return Err("Opus control header prefix missing");
        };
        if flags & 0xe0 != 0xe0 {
            return Err("Opus control header prefix missing");
        }
        let mut header = 2;
        let mut size = 0usize;
        let mut bytes = rest.iter();
        loop {
            let b = *bytes.next().ok_or("Opus payload size truncated")?;
            header += 1;
            size += usize::from(b);
            if b != 0xff {
                break;
            }
        }
        // start_trim, end_trim: 16 bits each.
        header += 2 * usize::from(flags & 0x10 != 0) + 2 * usize::from(flags & 0x08 != 0);
        if flags & 0x04 != 0 {
            let len = *data
                .get(pos + header)
                .ok_or("Opus control extension truncated")?;
            header += 1 + usize::from(len);
        }
        let packet = data
            .get(pos + header..pos + header + size)
            .ok_or("Opus payload size exceeds the data")?;
        packets.push(data.slice_ref(packet));
        pos += header + size;
    }
    if packets.is_empty() {
        return Err("no Opus packet");
    }
    Ok(packets)
}

/// Appends one Opus packet behind a control header without trims or extension.
pub(crate) fn write(out: &mut Vec<u8>, packet: &[u8]) {
    out.extend_from_slice(&[0x7f, 0xe0]);
    out.extend(std::iter::repeat_n(0xff, packet.len() / 255));
    out.push((packet.len() % 255) as u8);
    out.extend_from_slice(packet);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let big = vec![0x5a; 600];
        let mut out = Vec::new();
        write(&mut out, &[0xfc, 0x01]);
        write(&mut out, &big);
        write(&mut out, &[0x78; 255]);
        assert_eq!(&out[..5], &[0x7f, 0xe0, 0x02, 0xfc, 0x01]);
        // 600 = 255 + 255 + 90.
        assert_eq!(&out[5..10], &[0x7f, 0xe0, 0xff, 0xff, 90]);
        let packets = split(&Bytes::from(out)).expect("valid");
        assert_eq!(packets.len(), 3);
        assert_eq!(packets[0], Bytes::from_static(&[0xfc, 0x01]));
        assert_eq!(packets[1], Bytes::from(big));
        assert_eq!(packets[2].len(), 255);
    }

    #[test]
    fn trims_extension_and_errors() {
        // start and end trim, extension of 1 byte, payload of 1.
        let data = [0x7f, 0xfc, 0x01, 0x00, 0x10, 0x00, 0x20, 0x01, 0xee, 0xab];
        assert_eq!(
            split(&Bytes::copy_from_slice(&data)),
            Ok(vec![Bytes::from_static(&[0xab])])
        );
        assert!(split(&Bytes::copy_from_slice(&data[..9])).is_err());
        assert!(split(&Bytes::from_static(&[0x7f, 0xe0])).is_err());
        assert!(split(&Bytes::from_static(&[0x7f, 0xe0, 0xff])).is_err());
        assert!(split(&Bytes::from_static(&[0x7e, 0xe0, 0x00])).is_err());
        assert!(split(&Bytes::from_static(&[0x7f, 0xfc, 0x00, 0x00])).is_err());
        assert!(split(&Bytes::new()).is_err());
    }
}

//! Transport stream packets (ISO/IEC 13818-1 2.4.3.2): the 4-byte header, the adaptation
//! field (PCR, random access and discontinuity flags, stuffing) and the payload.

/// Every packet is this long (no 192/204-byte variants).
pub const PACKET_SIZE: usize = 188;
/// First byte of every packet.
pub const SYNC_BYTE: u8 = 0x47;
/// Payload bytes of a packet without adaptation field.
pub const MAX_PAYLOAD: usize = PACKET_SIZE - 4;
/// The PID of the program association table.
pub const PAT_PID: u16 = 0;
/// The null packet PID.
pub const NULL_PID: u16 = 0x1fff;

/// Why a 188-byte packet could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("packet does not start with the sync byte 0x47")]
    SyncByte,
    #[error("packet is {0} bytes, not 188")]
    Length(usize),
    #[error("adaptation field length {0} exceeds the packet")]
    AdaptationFieldLength(u8),
}

/// The 4-byte packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub transport_error: bool,
    pub payload_unit_start: bool,
    pub pid: u16,
    /// transport_scrambling_control: 0 = not scrambled.
    pub scrambling: u8,
    pub has_adaptation_field: bool,
    pub has_payload: bool,
    pub continuity_counter: u8,
}

/// The adaptation field fields a demuxer uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdaptationField {
    pub discontinuity: bool,
    pub random_access: bool,
    /// Program clock reference in 27 MHz units (base * 300 + extension).
    pub pcr: Option<u64>,
}

/// One parsed packet, borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub header: Header,
    pub adaptation_field: Option<AdaptationField>,
    pub payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses one packet; `data` must be exactly [`PACKET_SIZE`] bytes.
    pub fn parse(data: &'a [u8]) -> Result<Packet<'a>, PacketError> {
        let bytes: &[u8; PACKET_SIZE] = data
            .try_into()
            .map_err(|_| PacketError::Length(data.len()))?;
        let [sync, b1, b2, b3, body @ ..] = bytes;
        if *sync != SYNC_BYTE {
            return Err(PacketError::SyncByte);
        }
        let header = Header {
            transport_error: b1 & 0x80 != 0,
            payload_unit_start: b1 & 0x40 != 0,
            pid: (u16::from(b1 & 0x1f) << 8) | u16::from(*b2),
            scrambling: b3 >> 6,
            has_adaptation_field: b3 & 0x20 != 0,
            has_payload: b3 & 0x10 != 0,
            continuity_counter: b3 & 0x0f,
        };
        let mut adaptation_field = None;
        let mut payload: &[u8] = body;
        if header.has_adaptation_field {
            let [len, rest @ ..] = body;
            let len = *len;
            let field = rest
                .get(..usize::from(len))
                .ok_or(PacketError::AdaptationFieldLength(len))?;
            adaptation_field = Some(parse_adaptation_field(field));
            payload = rest.get(usize::from(len)..).unwrap_or_default();
        }
        if !header.has_payload {
            payload = &[];
        }
        Ok(Packet {
            header,
            adaptation_field,
            payload,
        })
    }
}

/// The adaptation field after its length byte. A field too short for the flags it
/// announces simply lacks those fields.
fn parse_adaptation_field(field: &[u8]) -> AdaptationField {
    let Some((&flags, rest)) = field.split_first() else {
        return AdaptationField::default();
    };
    let pcr = match rest {
        [a, b, c, d, e, f, ..] if flags & 0x10 != 0 => {
            let base = (u64::from(*a) << 25)
                | (u64::from(*b) << 17)
                | (u64::from(*c) << 9)
                | (u64::from(*d) << 1)
                | u64::from(e >> 7);
            let ext = (u64::from(e & 0x01) << 8) | u64::from(*f);
            Some(base * 300 + ext)
        }
        _ => None,
    };
    AdaptationField {
        discontinuity: flags & 0x80 != 0,
        random_access: flags & 0x40 != 0,
        pcr,
    }
}

/// What the writer puts in one packet besides the payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PacketOptions {
    pub pid: u16,
    pub payload_unit_start: bool,
    pub continuity_counter: u8,
    pub random_access: bool,
    /// PCR base (90 kHz, 33 bits); the extension is written as 0.
    pub pcr_base: Option<u64>,
}

/// Appends one 188-byte packet carrying as much of `payload` as fits, stuffing the
/// adaptation field when less than a full payload remains. Returns the payload bytes
/// written.
pub(crate) fn write_packet(out: &mut Vec<u8>, opts: &PacketOptions, payload: &[u8]) -> usize {
    // Adaptation field bytes needed for the flags: length + flags (+ 6 for the PCR).
    let needed = match (opts.random_access, opts.pcr_base) {
        (_, Some(_)) => 8,
        (true, None) => 2,
        (false, None) => 0,
    };
    let take = payload.len().min(MAX_PAYLOAD - needed);
    let field_len = MAX_PAYLOAD - take; // adaptation field bytes, length byte included
    let control = match (field_len > 0, take > 0) {
        (true, true) => 0x30,
        (true, false) => 0x20,
        _ => 0x10,
    };
    let start = out.len();
    out.extend_from_slice(&[
        SYNC_BYTE,
        (u8::from(opts.payload_unit_start) << 6) | ((opts.pid >> 8) as u8 & 0x1f),
        opts.pid as u8,
        control | (opts.continuity_counter & 0x0f),
    ]);
    if field_len > 0 {
        out.push((field_len - 1) as u8);
    }
    if field_len > 1 {
        let flags = (u8::from(opts.random_access) << 6) | (u8::from(opts.pcr_base.is_some()) << 4);
        out.push(flags);
        if let Some(base) = opts.pcr_base {
            let base = base & 0x1_ffff_ffff;
            out.extend_from_slice(&[
                (base >> 25) as u8,
                (base >> 17) as u8,
                (base >> 9) as u8,
                (base >> 1) as u8,
                ((base & 1) as u8) << 7 | 0x7e,
                0,
            ]);
        }
        out.resize(start + 4 + field_len, 0xff);
    }
    out.extend_from_slice(&payload[..take]);
    debug_assert_eq!(out.len() - start, PACKET_SIZE);
    take
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(opts: PacketOptions, payload: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let n = write_packet(&mut out, &opts, payload);
        assert_eq!(out.len(), PACKET_SIZE);
        (out, n)
    }

    #[test]
    fn full_payload_round_trip() {
        let payload: Vec<u8> = (0..200u8).collect();
        let opts = PacketOptions {
            pid: 0x100,
            payload_unit_start: true,
            continuity_counter: 7,
            ..Default::default()
        };
        let (out, n) = write(opts, &payload);
        assert_eq!(n, MAX_PAYLOAD);
        assert_eq!(&out[..4], &[0x47, 0x41, 0x00, 0x17]);
        let p = Packet::parse(&out).expect("valid");
        assert_eq!(p.header.pid, 0x100);
        assert!(p.header.payload_unit_start);
        assert_eq!(p.header.continuity_counter, 7);
        assert_eq!(p.adaptation_field, None);
        assert_eq!(p.payload, &payload[..MAX_PAYLOAD]);
    }

    #[test]
    fn pcr_and_random_access_round_trip() {
        let opts = PacketOptions {
            pid: 0x1ffe,
            continuity_counter: 15,
            random_access: true,
            pcr_base: Some(0x1_2345_6789),
            ..Default::default()
        };
        let (out, n) = write(opts, &[1, 2, 3]);
        assert_eq!(n, 3);
        let p = Packet::parse(&out).expect("valid");
        let af = p.adaptation_field.expect("adaptation field");
        assert!(af.random_access && !af.discontinuity);
        assert_eq!(af.pcr, Some(0x1_2345_6789 * 300));
        assert_eq!(p.payload, &[1, 2, 3]);
        assert_eq!(p.header.pid, 0x1ffe);
    }

    #[test]
    fn stuffing_of_every_size() {
        // 183 bytes: a one-byte adaptation field (length 0); 182: length + flags; less:
        // 0xff stuffing.
        for len in [0, 1, 100, 181, 182, 183] {
            let payload = vec![0xaa; len];
            let (out, n) = write(PacketOptions::default(), &payload);
            assert_eq!(n, len);
            let p = Packet::parse(&out).expect("valid");
            assert_eq!(p.payload, &payload[..], "len {len}");
            assert_eq!(p.header.has_payload, len > 0);
        }
        let (out, _) = write(PacketOptions::default(), &[0xaa; 183]);
        assert_eq!(&out[3..6], &[0x30, 0x00, 0xaa]);
        let (out, _) = write(PacketOptions::default(), &[0xaa; 180]);
        assert_eq!(&out[4..8], &[0x03, 0x00, 0xff, 0xff]);
    }

    #[test]
    fn malformed_packets() {
        assert_eq!(Packet::parse(&[0x47; 10]), Err(PacketError::Length(10)));
        let mut p = [0u8; PACKET_SIZE];
        assert_eq!(Packet::parse(&p), Err(PacketError::SyncByte));
        p[0] = 0x47;
        p[3] = 0x30;
        p[4] = 184;
        assert_eq!(
            Packet::parse(&p),
            Err(PacketError::AdaptationFieldLength(184))
        );
        // A field too short for its PCR flag has no PCR.
        p[4] = 2;
        p[5] = 0x10;
        let parsed = Packet::parse(&p).expect("valid");
        assert_eq!(parsed.adaptation_field.and_then(|a| a.pcr), None);
        assert_eq!(parsed.payload.len(), 181);
    }
}

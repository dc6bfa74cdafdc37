//! Just enough STUN (RFC 8489) to route a datagram: is it a binding request, and
//! whose ufrag is in its USERNAME. Full STUN handling (integrity, responses) is str0m's.

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const BINDING_REQUEST: u16 = 0x0001;
const ATTR_USERNAME: u16 = 0x0006;
const HEADER_LEN: usize = 20;

/// What a datagram on the ICE port carries (RFC 7983 demultiplexing by first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramKind {
    Stun,
    Dtls,
    Rtp,
    Unknown,
}

/// Classifies a datagram by its first byte.
pub fn classify(data: &[u8]) -> DatagramKind {
    match data.first() {
        Some(0..=3) => DatagramKind::Stun,
        Some(20..=63) => DatagramKind::Dtls,
        Some(128..=191) => DatagramKind::Rtp,
        _ => DatagramKind::Unknown,
    }
}

/// The local (server) ufrag of a STUN binding request: the part of USERNAME before
/// the colon. `None` for anything else or anything malformed.
pub fn binding_request_local_ufrag(data: &[u8]) -> Option<&str> {
    if data.len() < HEADER_LEN {
        return None;
    }
    let msg_type = u16::from_be_bytes([data[0], data[1]]);
    if msg_type != BINDING_REQUEST || data[4..8] != MAGIC_COOKIE {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let attrs = data.get(HEADER_LEN..HEADER_LEN + len)?;
    let mut pos = 0;
    while pos + 4 <= attrs.len() {
        let typ = u16::from_be_bytes([attrs[pos], attrs[pos + 1]]);
        let alen = usize::from(u16::from_be_bytes([attrs[pos + 2], attrs[pos + 3]]));
        let value = attrs.get(pos + 4..pos + 4 + alen)?;
        if typ == ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            let (local, _remote) = username.split_once(':')?;
            return Some(local);
        }
        pos += 4 + alen.div_ceil(4) * 4;
    }
    None
}

/// A minimal binding request naming `username` (no integrity, no fingerprint): what tests
/// and probes send to see how the server routes.
pub fn binding_request(username: &str) -> Vec<u8> {
    let mut attrs = Vec::new();
    attrs.extend_from_slice(&ATTR_USERNAME.to_be_bytes());
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username.as_bytes());
    while attrs.len() % 4 != 0 {
        attrs.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
    out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    out.extend_from_slice(&MAGIC_COOKIE);
    out.extend_from_slice(&[7; 12]);
    out.extend_from_slice(&attrs);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_local_ufrag() {
        let req = binding_request("srvfrag:cli");
        assert_eq!(binding_request_local_ufrag(&req), Some("srvfrag"));
        assert_eq!(classify(&req), DatagramKind::Stun);
    }

    #[test]
    fn rejects_malformed_at_every_length() {
        let req = binding_request("abcd:efgh");
        for n in 0..req.len() {
            assert_eq!(binding_request_local_ufrag(&req[..n]), None, "len {n}");
        }
        let mut bad_cookie = req.clone();
        bad_cookie[4] = 0;
        assert_eq!(binding_request_local_ufrag(&bad_cookie), None);
        let mut no_colon = binding_request("abcdefgh");
        assert_eq!(binding_request_local_ufrag(&no_colon), None);
        no_colon[1] = 0x11; // binding indication, not a request
        assert_eq!(binding_request_local_ufrag(&no_colon), None);
    }

    #[test]
    fn classifies_by_first_byte() {
        assert_eq!(classify(&[22, 254, 253]), DatagramKind::Dtls);
        assert_eq!(classify(&[0x80, 96]), DatagramKind::Rtp);
        assert_eq!(classify(&[]), DatagramKind::Unknown);
        assert_eq!(classify(&[255]), DatagramKind::Unknown);
    }
}

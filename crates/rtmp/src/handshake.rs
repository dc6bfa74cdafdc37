//! The RTMP handshake (RTMP 1.0, section 5.2): C0/S0 (version 3), C1/S1 and C2/S2
//! (1536 bytes each), in its plain form and in the digest form of Flash-era clients.
//!
//! Digest form: a C1 whose version field is not zero carries an HMAC-SHA256 digest of
//! itself at a position given by the sum of four offset bytes, in one of two layouts
//! (offset bytes at 8 or at 772). The server validates it with the Flash Player key and
//! answers with an S1 digested with the Flash Media Server key (same layout) and an S2
//! whose last 32 bytes are an HMAC keyed by the client's digest; a client that sent a
//! digest checks both. A C1 without a valid digest gets the plain answer: S2 echoes C1.
//! Encrypted RTMP (RTMPE, C0 = 6) is refused.

use bytes::{Buf, BufMut, BytesMut};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// RTMP protocol version in C0/S0.
pub const VERSION: u8 = 3;
/// Length of C1, S1, C2 and S2.
pub const PACKET_LEN: usize = 1536;
const DIGEST_LEN: usize = 32;
// The furthest digest (second layout, largest offset) still fits in the packet.
const _: () = assert!(776 + 727 + DIGEST_LEN <= PACKET_LEN);

/// Version our digest S1 announces (as FMS 4.5.0.1 does).
const SERVER_VERSION: [u8; 4] = [4, 5, 0, 1];
/// Version our digest C1 announces (Flash Player 9.0.124.2, as ffmpeg does).
const CLIENT_VERSION: [u8; 4] = [9, 0, 124, 2];

const KEY_TAIL: [u8; 32] = [
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
    0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
];
const PLAYER_KEY_TEXT: &[u8] = b"Genuine Adobe Flash Player 001";
const SERVER_KEY_TEXT: &[u8] = b"Genuine Adobe Flash Media Server 001";

/// Why a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("unsupported RTMP version {0}")]
    Version(u8),
    #[error("encrypted RTMP (RTMPE) is not supported")]
    Encrypted,
    #[error("handshake used in the wrong order")]
    Order,
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; DIGEST_LEN],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn full_key(text: &[u8]) -> Vec<u8> {
    [text, &KEY_TAIL].concat()
}

/// The two places a digest can be (offset bytes at 8, or at 772).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestLayout {
    First,
    Second,
}

fn digest_pos(packet: &[u8; PACKET_LEN], layout: DigestLayout) -> usize {
    let base = match layout {
        DigestLayout::First => 8,
        DigestLayout::Second => 772,
    };
    let sum: usize = packet[base..base + 4].iter().map(|b| usize::from(*b)).sum();
    base + 4 + sum % 728
}

fn packet_digest(packet: &[u8; PACKET_LEN], pos: usize, key: &[u8]) -> [u8; DIGEST_LEN] {
    hmac_sha256(key, &[&packet[..pos], &packet[pos + DIGEST_LEN..]])
}

/// Finds a valid digest in C1 (Flash Player key) or S1 (Flash Media Server key).
fn find_digest(packet: &[u8; PACKET_LEN], key: &[u8]) -> Option<(DigestLayout, [u8; 32])> {
    [DigestLayout::First, DigestLayout::Second]
        .into_iter()
        .find_map(|layout| {
            let pos = digest_pos(packet, layout);
            let digest = packet_digest(packet, pos, key);
            (packet[pos..pos + DIGEST_LEN] == digest).then_some((layout, digest))
        })
}

/// Writes a digest into `packet` (whose other bytes are already set).
fn sign(packet: &mut [u8; PACKET_LEN], layout: DigestLayout, key: &[u8]) -> [u8; DIGEST_LEN] {
    let pos = digest_pos(packet, layout);
    let digest = packet_digest(packet, pos, key);
    packet[pos..pos + DIGEST_LEN].copy_from_slice(&digest);
    digest
}

/// The C2/S2 answer to a digest: random bytes ending in an HMAC keyed by the peer's digest.
fn signed_answer(
    random: &mut Xorshift,
    peer_digest: &[u8; DIGEST_LEN],
    full: &[u8],
) -> [u8; PACKET_LEN] {
    let mut packet = random.packet();
    let key = hmac_sha256(full, &[peer_digest]);
    let sig = hmac_sha256(&key, &[&packet[..PACKET_LEN - DIGEST_LEN]]);
    packet[PACKET_LEN - DIGEST_LEN..].copy_from_slice(&sig);
    packet
}

fn answer_is_signed(packet: &[u8; PACKET_LEN], my_digest: &[u8; DIGEST_LEN], full: &[u8]) -> bool {
    let key = hmac_sha256(full, &[my_digest]);
    let sig = hmac_sha256(&key, &[&packet[..PACKET_LEN - DIGEST_LEN]]);
    packet[PACKET_LEN - DIGEST_LEN..] == sig
}

/// Pseudo-random filler for C1/S1/C2/S2 (xorshift64*); the handshake's random bytes have
/// no security role outside RTMPE.
#[derive(Debug, Clone)]
struct Xorshift(u64);

impl Xorshift {
    fn new(seed: u64) -> Self {
        Xorshift(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn packet(&mut self) -> [u8; PACKET_LEN] {
        let mut p = [0u8; PACKET_LEN];
        for chunk in p.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        p
    }
}

fn take_packet(buf: &mut BytesMut) -> [u8; PACKET_LEN] {
    let mut p = [0u8; PACKET_LEN];
    buf.copy_to_slice(&mut p);
    p
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    WaitC0C1,
    WaitC2,
    Done,
}

/// The server side: waits for C0+C1, answers S0+S1+S2, waits for C2.
#[derive(Debug)]
pub struct ServerHandshake {
    state: ServerState,
    random: Xorshift,
    /// The client's digest layout, when its C1 had a valid one.
    digest: Option<DigestLayout>,
    s1_digest: Option<[u8; DIGEST_LEN]>,
    c2_signed: Option<bool>,
}

impl ServerHandshake {
    /// `seed` varies the random filler (any value works).
    pub fn new(seed: u64) -> Self {
        ServerHandshake {
            state: ServerState::WaitC0C1,
            random: Xorshift::new(seed),
            digest: None,
            s1_digest: None,
            c2_signed: None,
        }
    }

    /// Consumes handshake bytes from `input` and appends the answer to `out`. Returns
    /// whether the handshake is complete; what follows C2 stays in `input`.
    pub fn handle(
        &mut self,
        input: &mut BytesMut,
        out: &mut BytesMut,
    ) -> Result<bool, HandshakeError> {
        if self.state == ServerState::WaitC0C1 {
            match input.first() {
                None => return Ok(false),
                Some(&VERSION) => {}
                Some(6 | 8 | 9) => return Err(HandshakeError::Encrypted),
                Some(v) => return Err(HandshakeError::Version(*v)),
            }
            if input.len() < 1 + PACKET_LEN {
                return Ok(false);
            }
            input.advance(1);
            let c1 = take_packet(input);
            self.answer(&c1, out);
            self.state = ServerState::WaitC2;
        }
        if self.state == ServerState::WaitC2 {
            if input.len() < PACKET_LEN {
                return Ok(false);
            }
            let c2 = take_packet(input);
            if let Some(s1_digest) = &self.s1_digest {
                // Not enforced (clients differ here); kept for diagnostics.
                let signed = answer_is_signed(&c2, s1_digest, &full_key(PLAYER_KEY_TEXT));
                tracing::trace!(signed, "RTMP handshake: C2 checked against S1 digest");
                self.c2_signed = Some(signed);
            }
            self.state = ServerState::Done;
        }
        Ok(true)
    }

    fn answer(&mut self, c1: &[u8; PACKET_LEN], out: &mut BytesMut) {
        let found = if c1[4..8] == [0; 4] {
            None
        } else {
            find_digest(c1, PLAYER_KEY_TEXT)
        };
        out.reserve(1 + 2 * PACKET_LEN);
        out.put_u8(VERSION);
        let mut s1 = self.random.packet();
        s1[..4].copy_from_slice(&[0; 4]);
        match found {
            Some((layout, c1_digest)) => {
                s1[4..8].copy_from_slice(&SERVER_VERSION);
                self.s1_digest = Some(sign(&mut s1, layout, SERVER_KEY_TEXT));
                self.digest = Some(layout);
                out.put_slice(&s1);
                let s2 = signed_answer(&mut self.random, &c1_digest, &full_key(SERVER_KEY_TEXT));
                out.put_slice(&s2);
            }
            None => {
                // Plain form: version 0 in S1 (so clients skip digest checks), S2 = C1.
                s1[4..8].copy_from_slice(&[0; 4]);
                out.put_slice(&s1);
                out.put_slice(c1);
            }
        }
    }

    /// The digest layout of the client's C1, when it carried a valid digest.
    pub fn client_digest(&self) -> Option<DigestLayout> {
        self.digest
    }

    /// Whether the client's C2 was signed with our S1 digest (digest form only).
    pub fn c2_signed(&self) -> Option<bool> {
        self.c2_signed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    Start,
    WaitS0S1S2,
    Done,
}

/// The client side: sends C0+C1, waits for S0+S1+S2, sends C2.
#[derive(Debug)]
pub struct ClientHandshake {
    state: ClientState,
    random: Xorshift,
    digest: bool,
    c1: [u8; PACKET_LEN],
    c1_digest: Option<[u8; DIGEST_LEN]>,
    server_verified: bool,
}

impl ClientHandshake {
    /// `digest`: send a digest C1 (first layout) and check the server's digests.
    pub fn new(seed: u64, digest: bool) -> Self {
        ClientHandshake {
            state: ClientState::Start,
            random: Xorshift::new(seed),
            digest,
            c1: [0; PACKET_LEN],
            c1_digest: None,
            server_verified: false,
        }
    }

    /// Appends C0+C1 to `out`.
    pub fn start(&mut self, out: &mut BytesMut) -> Result<(), HandshakeError> {
        if self.state != ClientState::Start {
            return Err(HandshakeError::Order);
        }
        let mut c1 = self.random.packet();
        c1[..4].copy_from_slice(&[0; 4]);
        if self.digest {
            c1[4..8].copy_from_slice(&CLIENT_VERSION);
            self.c1_digest = Some(sign(&mut c1, DigestLayout::First, PLAYER_KEY_TEXT));
        } else {
            c1[4..8].copy_from_slice(&[0; 4]);
        }
        self.c1 = c1;
        out.put_u8(VERSION);
        out.put_slice(&c1);
        self.state = ClientState::WaitS0S1S2;
        Ok(())
    }

    /// Consumes S0+S1+S2 from `input` and appends C2 to `out`. Returns whether the
    /// handshake is complete; what follows S2 stays in `input`.
    pub fn handle(
        &mut self,
        input: &mut BytesMut,
        out: &mut BytesMut,
    ) -> Result<bool, HandshakeError> {
        match self.state {
            ClientState::Start => return Err(HandshakeError::Order),
            ClientState::Done => return Ok(true),
            ClientState::WaitS0S1S2 => {}
        }
        match input.first() {
            None => return Ok(false),
            Some(&VERSION) => {}
            Some(v) => return Err(HandshakeError::Version(*v)),
        }
        if input.len() < 1 + 2 * PACKET_LEN {
            return Ok(false);
        }
        input.advance(1);
        let s1 = take_packet(input);
        let s2 = take_packet(input);
        let server_digest = match (&self.c1_digest, s1[4..8] == [0; 4]) {
            (Some(c1_digest), false) => {
                let found = find_digest(&s1, SERVER_KEY_TEXT);
                let s2_ok = answer_is_signed(&s2, c1_digest, &full_key(SERVER_KEY_TEXT));
                self.server_verified = found.is_some() && s2_ok;
                if !self.server_verified {
                    tracing::debug!(
                        s1_ok = found.is_some(),
                        s2_ok,
                        "RTMP handshake: server digests do not verify, continuing"
                    );
                }
                found.map(|(_, d)| d)
            }
            _ => None,
        };
        match server_digest {
            Some(d) => out.put_slice(&signed_answer(
                &mut self.random,
                &d,
                &full_key(PLAYER_KEY_TEXT),
            )),
            None => out.put_slice(&s1),
        }
        self.state = ClientState::Done;
        Ok(true)
    }

    /// Whether the server answered our digest C1 with valid S1 and S2 digests.
    pub fn server_verified(&self) -> bool {
        self.server_verified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(client: &mut ClientHandshake, server: &mut ServerHandshake) {
        let mut c = BytesMut::new();
        client.start(&mut c).expect("start");
        let mut s = BytesMut::new();
        assert!(!server.handle(&mut c, &mut s).expect("C0C1"));
        assert!(c.is_empty());
        let mut c2 = BytesMut::new();
        assert!(client.handle(&mut s, &mut c2).expect("S0S1S2"));
        assert!(s.is_empty());
        c2.extend_from_slice(b"after");
        assert!(server.handle(&mut c2, &mut BytesMut::new()).expect("C2"));
        assert_eq!(&c2[..], b"after");
    }

    #[test]
    fn plain_handshake_echoes_c1() {
        let mut client = ClientHandshake::new(1, false);
        let mut server = ServerHandshake::new(2);
        let mut c = BytesMut::new();
        client.start(&mut c).expect("start");
        let c1 = c[1..].to_vec();
        let mut s = BytesMut::new();
        server.handle(&mut c, &mut s).expect("C0C1");
        assert_eq!(s.len(), 1 + 2 * PACKET_LEN);
        assert_eq!(s[0], 3);
        assert_eq!(&s[5..9], &[0, 0, 0, 0], "S1 version 0");
        assert_eq!(&s[1 + PACKET_LEN..], &c1[..], "S2 echoes C1");
        assert_eq!(server.client_digest(), None);

        let mut client = ClientHandshake::new(1, false);
        let mut server = ServerHandshake::new(2);
        run(&mut client, &mut server);
        assert!(!client.server_verified());
    }

    #[test]
    fn digest_handshake_is_validated_both_ways() {
        let mut client = ClientHandshake::new(7, true);
        let mut server = ServerHandshake::new(8);
        run(&mut client, &mut server);
        assert_eq!(server.client_digest(), Some(DigestLayout::First));
        assert!(client.server_verified());
        assert_eq!(server.c2_signed(), Some(true));
    }

    #[test]
    fn second_layout_digest_is_found_and_answered_in_kind() {
        let mut c1 = Xorshift::new(99).packet();
        c1[4..8].copy_from_slice(&CLIENT_VERSION);
        let digest = sign(&mut c1, DigestLayout::Second, PLAYER_KEY_TEXT);
        let mut input = BytesMut::new();
        input.put_u8(3);
        input.put_slice(&c1);
        let mut server = ServerHandshake::new(3);
        let mut out = BytesMut::new();
        server.handle(&mut input, &mut out).expect("C0C1");
        assert_eq!(server.client_digest(), Some(DigestLayout::Second));
        let mut s1 = [0u8; PACKET_LEN];
        s1.copy_from_slice(&out[1..1 + PACKET_LEN]);
        assert_eq!(&s1[4..8], &SERVER_VERSION);
        let (layout, _) = find_digest(&s1, SERVER_KEY_TEXT).expect("S1 digest");
        assert_eq!(layout, DigestLayout::Second);
        let mut s2 = [0u8; PACKET_LEN];
        s2.copy_from_slice(&out[1 + PACKET_LEN..]);
        assert!(answer_is_signed(&s2, &digest, &full_key(SERVER_KEY_TEXT)));
    }

    #[test]
    fn a_nonzero_version_without_a_valid_digest_gets_the_plain_answer() {
        let mut c1 = Xorshift::new(5).packet();
        c1[4..8].copy_from_slice(&CLIENT_VERSION);
        let mut input = BytesMut::new();
        input.put_u8(3);
        input.put_slice(&c1);
        let mut out = BytesMut::new();
        let mut server = ServerHandshake::new(1);
        server.handle(&mut input, &mut out).expect("C0C1");
        assert_eq!(server.client_digest(), None);
        assert_eq!(&out[1 + PACKET_LEN..], &c1[..]);
    }

    #[test]
    fn digest_positions_follow_the_offset_bytes() {
        let mut p = [0u8; PACKET_LEN];
        p[8..12].copy_from_slice(&[200, 200, 200, 200]);
        assert_eq!(digest_pos(&p, DigestLayout::First), 12 + 800 % 728);
        p[772..776].copy_from_slice(&[255, 255, 255, 255]);
        assert_eq!(digest_pos(&p, DigestLayout::Second), 776 + 1020 % 728);
    }

    #[test]
    fn input_can_arrive_byte_by_byte() {
        let mut client = ClientHandshake::new(11, true);
        let mut server = ServerHandshake::new(12);
        let mut wire = BytesMut::new();
        client.start(&mut wire).expect("start");
        let mut input = BytesMut::new();
        let mut out = BytesMut::new();
        for b in wire.iter() {
            input.put_u8(*b);
            server.handle(&mut input, &mut out).expect("partial");
        }
        assert_eq!(out.len(), 1 + 2 * PACKET_LEN);
        let mut c2 = BytesMut::new();
        let mut input = BytesMut::new();
        let mut done = false;
        for b in out.iter() {
            input.put_u8(*b);
            done = client.handle(&mut input, &mut c2).expect("partial");
        }
        assert!(done && client.server_verified());
    }

    #[test]
    fn bad_versions_are_refused() {
        let mut server = ServerHandshake::new(1);
        let mut out = BytesMut::new();
        assert_eq!(
            server.handle(&mut BytesMut::from(&[6u8][..]), &mut out),
            Err(HandshakeError::Encrypted)
        );
        assert_eq!(
            server.handle(&mut BytesMut::from(&b"GET / HTTP/1.1"[..]), &mut out),
            Err(HandshakeError::Version(b'G'))
        );
        let mut client = ClientHandshake::new(1, false);
        assert_eq!(
            client.handle(&mut BytesMut::new(), &mut out),
            Err(HandshakeError::Order)
        );
        client.start(&mut out).expect("start");
        assert_eq!(client.start(&mut out), Err(HandshakeError::Order));
        assert_eq!(
            client.handle(&mut BytesMut::from(&[4u8][..]), &mut out),
            Err(HandshakeError::Version(4))
        );
    }
}

//! The PROXY protocol (HAProxy's, versions 1 and 2) in front of TCP listeners
//! (`rtspTrustedProxies`, `rtmpTrustedProxies`).
//!
//! As MediaMTX does: when a listener has trusted proxies, every connection may start with
//! a PROXY header; one from a trusted proxy gives the client's address used in logs and for
//! authentication, one from anybody else is read and ignored, and a connection without a
//! header keeps its own address. The header precedes TLS on RTSPS and RTMPS.
//!
//! [`parse`] is sans-IO; [`read_header`] reads exactly the header's bytes off a socket and
//! nothing more, so the protocol behind it reads the stream as if no proxy were there.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The version 2 signature.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The version 1 preamble.
const V1_PREFIX: &[u8] = b"PROXY ";
/// Longest version 1 header, CRLF included (from the specification).
pub const V1_MAX_LEN: usize = 107;
/// Longest version 2 address block and TLVs accepted (the specification allows 65535;
/// proxies send a few hundred bytes at most).
pub const V2_MAX_PAYLOAD: usize = 4096;

/// What the first bytes of a connection are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Not a PROXY header: the protocol starts at the first byte.
    Absent,
    /// Too few bytes to say.
    NeedMore,
    /// A header of `len` bytes; `source` is the client's address, `None` for a header that
    /// carries none (`LOCAL`, `UNKNOWN`, a Unix socket).
    Header {
        len: usize,
        source: Option<SocketAddr>,
    },
}

/// A malformed PROXY header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid PROXY protocol header: {0}")]
pub struct InvalidHeader(pub String);

fn invalid<T>(why: impl Into<String>) -> Result<T, InvalidHeader> {
    Err(InvalidHeader(why.into()))
}

/// Reads a PROXY header at the start of `buf`.
pub fn parse(buf: &[u8]) -> Result<Parsed, InvalidHeader> {
    if buf.is_empty() {
        return Ok(Parsed::NeedMore);
    }
    if buf[0] == V1_PREFIX[0] {
        let n = buf.len().min(V1_PREFIX.len());
        if buf[..n] != V1_PREFIX[..n] {
            return Ok(Parsed::Absent);
        }
        return parse_v1(buf);
    }
    if buf[0] == V2_SIGNATURE[0] {
        // Neither RTSP, RTMP nor TLS starts with CR: anything else than the signature is
        // a broken header.
        let n = buf.len().min(V2_SIGNATURE.len());
        if buf[..n] != V2_SIGNATURE[..n] {
            return invalid("bad version 2 signature");
        }
        return parse_v2(buf);
    }
    Ok(Parsed::Absent)
}

fn parse_v1(buf: &[u8]) -> Result<Parsed, InvalidHeader> {
    let window = &buf[..buf.len().min(V1_MAX_LEN)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX_LEN {
            invalid("version 1 line longer than 107 bytes")
        } else {
            Ok(Parsed::NeedMore)
        };
    };
    let len = end + 2;
    let Ok(line) = std::str::from_utf8(&buf[V1_PREFIX.len()..end]) else {
        return invalid("version 1 line is not text");
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let source = match fields[0] {
        "UNKNOWN" => None,
        proto @ ("TCP4" | "TCP6") => {
            let [_, src, dst, sport, dport] = fields[..] else {
                return invalid(format!("version 1 {proto} needs 4 fields"));
            };
            let v4 = proto == "TCP4";
            let ip = |s: &str| -> Result<IpAddr, InvalidHeader> {
                let ip = if v4 {
                    s.parse::<Ipv4Addr>().map(IpAddr::V4)
                } else {
                    s.parse::<Ipv6Addr>().map(IpAddr::V6)
                };
                ip.or_else(|_| invalid(format!("bad {proto} address '{s}'")))
            };
            let port = |s: &str| -> Result<u16, InvalidHeader> {
                // Decimal without leading zeros, as the specification writes it.
                if s.is_empty() || (s.len() > 1 && s.starts_with('0')) {
                    return invalid(format!("bad port '{s}'"));
                }
                s.parse().or_else(|_| invalid(format!("bad port '{s}'")))
            };
            let src = ip(src)?;
            ip(dst)?;
            let sport = port(sport)?;
            port(dport)?;
            Some(SocketAddr::new(src, sport))
        }
        other => return invalid(format!("unknown version 1 protocol '{other}'")),
    };
    Ok(Parsed::Header { len, source })
}

fn parse_v2(buf: &[u8]) -> Result<Parsed, InvalidHeader> {
    if buf.len() < 16 {
        return Ok(Parsed::NeedMore);
    }
    let version = buf[12] >> 4;
    let command = buf[12] & 0x0f;
    if version != 2 {
        return invalid(format!("version {version} in a version 2 header"));
    }
    let family = buf[13] >> 4;
    let transport = buf[13] & 0x0f;
    let payload = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if payload > V2_MAX_PAYLOAD {
        return invalid(format!("{payload} bytes of addresses and TLVs"));
    }
    let len = 16 + payload;
    if buf.len() < len {
        return Ok(Parsed::NeedMore);
    }
    let body = &buf[16..len];
    let source = match command {
        // LOCAL: the proxy's own connection (health checks); keep its address.
        0 => None,
        1 => match (family, transport) {
            (0, _) | (3, _) => None,
            (1 | 2, 1 | 2) => {
                let (addr_len, source) = if family == 1 {
                    if body.len() < 12 {
                        return invalid("short IPv4 address block");
                    }
                    let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
                    (12, IpAddr::V4(ip))
                } else {
                    if body.len() < 36 {
                        return invalid("short IPv6 address block");
                    }
                    let mut octets = [0u8; 16];
                    octets.copy_from_slice(&body[..16]);
                    (36, IpAddr::V6(Ipv6Addr::from(octets)))
                };
                let port = u16::from_be_bytes([body[addr_len - 4], body[addr_len - 3]]);
                Some(SocketAddr::new(source, port))
            }
            (1 | 2, t) => return invalid(format!("unknown transport {t}")),
            (f, _) => return invalid(format!("unknown address family {f}")),
        },
        c => return invalid(format!("unknown command {c}")),
    };
    Ok(Parsed::Header { len, source })
}

/// Why [`read_header`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadHeaderError {
    #[error(transparent)]
    Invalid(#[from] InvalidHeader),
    #[error("no complete PROXY protocol header within {0:?}")]
    Timeout(Duration),
    #[error("connection closed before the PROXY protocol header ended")]
    Closed,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Pause between two looks at a header that arrived in part (rare: proxies write the
/// header in one segment).
const PARTIAL_PAUSE: Duration = Duration::from_millis(5);

/// Takes a PROXY header, if the connection starts with one, off `socket`, reading exactly
/// its bytes, within `timeout`. Returns the client address it carries.
pub async fn read_header(
    socket: &mut TcpStream,
    timeout: Duration,
) -> Result<Option<SocketAddr>, ReadHeaderError> {
    tokio::time::timeout(timeout, read_header_inner(socket))
        .await
        .unwrap_or(Err(ReadHeaderError::Timeout(timeout)))
}

async fn read_header_inner(socket: &mut TcpStream) -> Result<Option<SocketAddr>, ReadHeaderError> {
    let mut buf = vec![0u8; 16 + V2_MAX_PAYLOAD];
    let mut seen = 0;
    loop {
        let n = socket.peek(&mut buf).await?;
        if n == 0 {
            return Err(ReadHeaderError::Closed);
        }
        match parse(&buf[..n])? {
            Parsed::Absent => return Ok(None),
            Parsed::Header { len, source } => {
                socket.read_exact(&mut buf[..len]).await?;
                return Ok(source);
            }
            Parsed::NeedMore => {
                // `peek` returns at once while bytes wait: pause unless more came.
                if n == seen {
                    tokio::time::sleep(PARTIAL_PAUSE).await;
                }
                seen = n;
            }
        }
    }
}

/// The address a connection from `peer` stands for: the one in its PROXY header when
/// `trusted` is `Some(true)`, else `peer`. `None`: the listener has no trusted proxies and
/// nothing is read; otherwise the header is taken off the socket (see [`read_header`]).
pub async fn client_addr(
    socket: &mut TcpStream,
    peer: SocketAddr,
    trusted: Option<bool>,
    timeout: Duration,
) -> Result<SocketAddr, ReadHeaderError> {
    let Some(trusted) = trusted else {
        return Ok(peer);
    };
    let source = read_header(socket, timeout).await?;
    Ok(match source {
        Some(addr) if trusted => crate::canonical(addr),
        _ => peer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(buf: &[u8]) -> (usize, Option<SocketAddr>) {
        match parse(buf).unwrap() {
            Parsed::Header { len, source } => (len, source),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version_1_lines() {
        let line = b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 8554\r\nOPTIONS rtsp://x RTSP/1.0\r\n";
        assert_eq!(header(line), (46, Some("192.0.2.7:56324".parse().unwrap())));
        let line = b"PROXY TCP6 2001:db8::1 2001:db8::2 1000 1935\r\n\x03";
        assert_eq!(
            header(line),
            (46, Some("[2001:db8::1]:1000".parse().unwrap()))
        );
        assert_eq!(header(b"PROXY UNKNOWN\r\n"), (15, None));
        assert_eq!(header(b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n").1, None);
    }

    #[test]
    fn protocols_that_start_like_a_header_are_not_one() {
        assert_eq!(parse(b"PLAY rtsp://x RTSP/1.0\r\n"), Ok(Parsed::Absent));
        assert_eq!(parse(b"PAUSE rtsp://x"), Ok(Parsed::Absent));
        assert_eq!(parse(b"PROXZ"), Ok(Parsed::Absent));
        assert_eq!(parse(b"\x03\x00\x00\x00"), Ok(Parsed::Absent));
        assert_eq!(parse(b"\x16\x03\x01"), Ok(Parsed::Absent));
        assert_eq!(parse(b"OPTIONS * RTSP/1.0\r\n"), Ok(Parsed::Absent));
        // Prefixes of a header wait for more.
        assert_eq!(parse(b""), Ok(Parsed::NeedMore));
        assert_eq!(parse(b"P"), Ok(Parsed::NeedMore));
        assert_eq!(parse(b"PROX"), Ok(Parsed::NeedMore));
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4"), Ok(Parsed::NeedMore));
        assert_eq!(parse(b"\r\n\r\n\0"), Ok(Parsed::NeedMore));
    }

    #[test]
    fn broken_version_1_lines() {
        for bad in [
            &b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"[..],
            b"PROXY TCP4 ::1 ::1 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY \xff\r\n",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let long = [&b"PROXY TCP4 "[..], &[b'1'; 120]].concat();
        assert!(parse(&long).is_err());
    }

    fn v2(command: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.push(0x20 | command);
        h.push(family);
        h.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        h.extend_from_slice(body);
        h
    }

    #[test]
    fn version_2_headers() {
        let mut body = vec![192, 0, 2, 7, 198, 51, 100, 1];
        body.extend_from_slice(&56324u16.to_be_bytes());
        body.extend_from_slice(&8554u16.to_be_bytes());
        // A TLV (PP2_TYPE_ALPN) after the addresses is skipped.
        body.extend_from_slice(&[0x01, 0x00, 0x02, b'h', b'2']);
        let mut h = v2(1, 0x11, &body);
        let len = h.len();
        h.extend_from_slice(b"\x03rest");
        assert_eq!(header(&h), (len, Some("192.0.2.7:56324".parse().unwrap())));
        assert_eq!(parse(&h[..len - 1]), Ok(Parsed::NeedMore));

        let mut body = Vec::new();
        body.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        body.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        body.extend_from_slice(&[0x03, 0xe8, 0x07, 0x8f]);
        assert_eq!(
            header(&v2(1, 0x21, &body)).1,
            Some("[2001:db8::1]:1000".parse().unwrap())
        );
        // LOCAL (a health check), UNSPEC and Unix sockets carry no client address.
        assert_eq!(header(&v2(0, 0x00, &[])), (16, None));
        assert_eq!(header(&v2(1, 0x00, &[])).1, None);
        assert_eq!(header(&v2(1, 0x31, &[0; 216])).1, None);
    }

    #[test]
    fn broken_version_2_headers() {
        assert!(parse(b"\r\n\r\n\0\r\nQUIX\n").is_err());
        assert!(parse(b"\r\nGET").is_err());
        let mut h = v2(1, 0x11, &[0; 12]);
        h[12] = 0x11; // version 1 in a version 2 header
        assert!(parse(&h).is_err());
        assert!(parse(&v2(2, 0x11, &[0; 12])).is_err()); // command
        assert!(parse(&v2(1, 0x11, &[0; 11])).is_err()); // short IPv4
        assert!(parse(&v2(1, 0x21, &[0; 35])).is_err()); // short IPv6
        assert!(parse(&v2(1, 0x41, &[0; 12])).is_err()); // family
        assert!(parse(&v2(1, 0x13, &[0; 12])).is_err()); // transport
        let mut h = V2_SIGNATURE.to_vec();
        h.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert!(parse(&h).is_err()); // absurd length
    }

    #[tokio::test]
    async fn reads_exactly_the_header_off_a_socket() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            // The header in two writes, the second after a pause.
            c.write_all(b"PROXY TCP4 192.0.2.7 127.0.0.1 4")
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
            c.write_all(b"000 8554\r\nOPTIONS").await.unwrap();
            c
        });
        let (mut s, peer) = listener.accept().await.unwrap();
        let t = Duration::from_secs(5);
        let got = client_addr(&mut s, peer, Some(true), t).await.unwrap();
        assert_eq!(got, "192.0.2.7:4000".parse().unwrap());
        let mut rest = [0u8; 7];
        s.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"OPTIONS");
        let _c = client.await.unwrap();

        // Untrusted: the header is taken off, the address is the peer's.
        let client = tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"PROXY TCP4 192.0.2.7 127.0.0.1 4000 8554\r\n\x03")
                .await
                .unwrap();
            c
        });
        let (mut s, peer) = listener.accept().await.unwrap();
        assert_eq!(
            client_addr(&mut s, peer, Some(false), t).await.unwrap(),
            peer
        );
        assert_eq!(s.read_u8().await.unwrap(), 3);
        let _c = client.await.unwrap();

        // No header: nothing is read.
        let client = tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"PLAY").await.unwrap();
            c
        });
        let (mut s, peer) = listener.accept().await.unwrap();
        assert_eq!(
            client_addr(&mut s, peer, Some(true), t).await.unwrap(),
            peer
        );
        let mut rest = [0u8; 4];
        s.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"PLAY");
        let _c = client.await.unwrap();

        // A header that never ends: the timeout.
        let client = tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"PROXY TCP4").await.unwrap();
            c
        });
        let (mut s, peer) = listener.accept().await.unwrap();
        let short = Duration::from_millis(100);
        let err = client_addr(&mut s, peer, Some(true), short)
            .await
            .unwrap_err();
        assert!(matches!(err, ReadHeaderError::Timeout(_)), "{err}");
        let _c = client.await.unwrap();
    }
}

//! Hostile RTSP input: a very long header line, too many headers, an absurd body length,
//! interleaved frames with absurd lengths, and half-sent requests held open (slowloris).
//! Each must get a bounded answer: an error status and a closed connection, or a close after
//! `readTimeout`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::exchange::{Reply, bytes, exchange};
use super::{Checks, Outcome, Scale, Target, hostile};

/// Bound of one exchange that must end with an error and a close.
const ANSWER_BOUND: Duration = Duration::from_secs(10);

fn request_head(target: &Target, method: &str, path: &str) -> String {
    format!(
        "{method} {} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: ferromtx-bench soak\r\n",
        target.rtsp_url(path)
    )
}

/// A close, after an error status (4xx) if any: the bounded answer to a request the server
/// refuses. (A server that closes while the client still sends resets the connection, which
/// may discard its answer before the client reads it, so the status is not required.)
fn refused_and_closed(c: &mut Checks, what: &str, r: &Reply) {
    c.check(r.status.is_none_or(|s| (400..500).contains(&s)), || {
        format!("{what}: expected a 4xx status, got {}", r.describe())
    });
    c.check(r.closed, || {
        format!("{what}: the connection was not closed: {}", r.describe())
    });
}

/// An OPTIONS request on a fresh connection is answered 200: the server still serves.
async fn still_serves(target: &Target) -> Option<u16> {
    let head = request_head(target, "OPTIONS", &target.path) + "\r\n";
    exchange(
        target.rtsp,
        head.as_bytes(),
        0,
        0,
        Duration::from_secs(5),
        true,
    )
    .await
    .status
}

pub async fn long_line(target: &Target, scale: &Scale) -> Outcome {
    let n = scale.header_line;
    hostile("rtsp-long-line", target, scale, 16.0, || async move {
        let head = request_head(target, "OPTIONS", "soak") + "X-Long: ";
        let r = exchange(target.rtsp, head.as_bytes(), n, b'a', ANSWER_BOUND, false).await;
        let mut c = Checks::default();
        refused_and_closed(&mut c, "long header line", &r);
        let after = still_serves(target).await;
        c.check(after == Some(200), || {
            format!("OPTIONS afterwards: {after:?}")
        });
        (format!("{} header line: {}", bytes(n), r.describe()), c)
    })
    .await
}

pub async fn many_headers(target: &Target, scale: &Scale) -> Outcome {
    let n = scale.headers;
    hostile("rtsp-many-headers", target, scale, 16.0, || async move {
        let mut head = request_head(target, "OPTIONS", "soak");
        for i in 0..n {
            head += &format!("X-Header-{i}: v\r\n");
        }
        head += "\r\n";
        let r = exchange(target.rtsp, head.as_bytes(), 0, 0, ANSWER_BOUND, false).await;
        let mut c = Checks::default();
        refused_and_closed(&mut c, "many headers", &r);
        let after = still_serves(target).await;
        c.check(after == Some(200), || {
            format!("OPTIONS afterwards: {after:?}")
        });
        (format!("{n} headers: {}", r.describe()), c)
    })
    .await
}

pub async fn huge_body(target: &Target, scale: &Scale) -> Outcome {
    hostile("rtsp-huge-body", target, scale, 16.0, || async move {
        let mut c = Checks::default();
        let mut figures = Vec::new();
        // 2^63 fits an unsigned 64-bit length, 2^64 does not; neither may be trusted.
        for (label, len) in [
            ("2^63", "9223372036854775808"),
            ("2^64", "18446744073709551616"),
        ] {
            let head = request_head(target, "ANNOUNCE", "soak-body")
                + "Content-Type: application/sdp\r\n"
                + &format!("Content-Length: {len}\r\n\r\n");
            let r = exchange(
                target.rtsp,
                head.as_bytes(),
                1 << 20,
                b'v',
                ANSWER_BOUND,
                false,
            )
            .await;
            refused_and_closed(&mut c, &format!("Content-Length {label}"), &r);
            figures.push(format!("Content-Length {label}: {}", r.describe()));
        }
        let after = still_serves(target).await;
        c.check(after == Some(200), || {
            format!("OPTIONS afterwards: {after:?}")
        });
        (figures.join(", "), c)
    })
    .await
}

/// `$`, channel, 16-bit length.
fn frame_header(channel: u8, len: u16) -> [u8; 4] {
    let l = len.to_be_bytes();
    [b'$', channel, l[0], l[1]]
}

pub async fn interleaved(target: &Target, scale: &Scale) -> Outcome {
    let wait = target.read_timeout + Duration::from_secs(5);
    hostile("rtsp-interleaved", target, scale, 16.0, || async move {
        let mut c = Checks::default();
        // 64 maximal frames on a channel no session set up, then a request: the frames are
        // dropped (the request is answered) or the connection is closed.
        let mut data = Vec::new();
        for i in 0..64u8 {
            data.extend_from_slice(&frame_header(200 + (i % 50), u16::MAX));
            data.extend(std::iter::repeat_n(i, usize::from(u16::MAX)));
        }
        data.extend_from_slice(request_head(target, "OPTIONS", &target.path).as_bytes());
        data.extend_from_slice(b"\r\n");
        let big = exchange(target.rtsp, &data, 0, 0, ANSWER_BOUND, true).await;
        c.check(big.status == Some(200) || big.closed, || {
            format!("64 frames of 64 KB then OPTIONS: {}", big.describe())
        });
        // A frame that announces 65535 bytes and sends 10: closed after readTimeout.
        let mut cut = frame_header(0, u16::MAX).to_vec();
        cut.extend_from_slice(&[0u8; 10]);
        let short = exchange(target.rtsp, &cut, 0, 0, wait, false).await;
        c.check(short.closed, || {
            format!("a truncated frame: not closed within {wait:?}")
        });
        let after = still_serves(target).await;
        c.check(after == Some(200), || format!("OPTIONS afterwards: {after:?}"));
        let figure = format!(
            "64 x 64 KB frames on unset channels then OPTIONS: {}; a frame cut at 10 of 65535 B: {}",
            big.describe(),
            short.describe()
        );
        (figure, c)
    })
    .await
}

/// One half-sent request held open: returns when the server closes, or `None` at `deadline`.
async fn hold(stream: Option<TcpStream>, deadline: Instant) -> Option<Duration> {
    let mut s = stream?;
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

pub async fn slowloris(target: &Target, scale: &Scale) -> Outcome {
    let n = scale.slowloris;
    let bound = target.read_timeout + Duration::from_secs(10);
    hostile("rtsp-slowloris", target, scale, 64.0, || async move {
        let mut c = Checks::default();
        let half = request_head(target, "DESCRIBE", &target.path);
        let mut held = JoinSet::new();
        let mut connected = 0;
        let deadline = Instant::now() + bound + Duration::from_secs(30);
        for _ in 0..n {
            let s = match TcpStream::connect(target.rtsp).await {
                Ok(mut s) => {
                    if s.write_all(half.as_bytes()).await.is_ok() {
                        connected += 1;
                        Some(s)
                    } else {
                        None
                    }
                }
                Err(_) => None,
            };
            held.spawn(hold(s, deadline));
        }
        // While they are held, a normal client is served.
        let during = still_serves(target).await;
        c.check(during == Some(200), || {
            format!("OPTIONS while {n} requests hang: {during:?}")
        });
        let mut closed = Vec::new();
        while let Some(r) = held.join_next().await {
            if let Ok(Some(t)) = r {
                closed.push(t);
            }
        }
        closed.sort();
        let slowest = closed.last().copied().unwrap_or_default();
        c.check(connected == n, || format!("{connected}/{n} connected"));
        c.check(closed.len() == connected, || {
            format!(
                "{}/{connected} half-sent requests closed by the server",
                closed.len()
            )
        });
        c.check(slowest <= bound, || {
            format!("the last close took {slowest:?} (readTimeout {:?})", target.read_timeout)
        });
        let figure = format!(
            "{connected} half-sent requests: {} closed by the server, the last after {:.1} s (readTimeout {} s); OPTIONS meanwhile: {}",
            closed.len(),
            slowest.as_secs_f64(),
            target.read_timeout.as_secs(),
            during.map_or_else(|| "no answer".into(), |s| s.to_string()),
        );
        (figure, c)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_headers() {
        assert_eq!(frame_header(3, 0x1234), [b'$', 3, 0x12, 0x34]);
    }
}

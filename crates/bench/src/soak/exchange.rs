//! One raw exchange over TCP: send bytes (the server may stop reading or close at any point),
//! read what comes back until the server closes or a bound passes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// What the server did with one exchange.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// Status code of the first response (`RTSP/1.0 400 ...`, `HTTP/1.1 413 ...`).
    pub status: Option<u16>,
    /// The server closed the connection (EOF or reset) within the bound.
    pub closed: bool,
    /// Bytes written before the server stopped taking them.
    pub sent: usize,
    /// Bytes received (capped at what is kept).
    pub received: usize,
    /// From the first byte sent to the close (or to the bound).
    pub elapsed: Duration,
    /// Could not connect.
    pub refused: bool,
}

impl Reply {
    /// `400, closed after 1.0 MB in 12 ms` style.
    pub fn describe(&self) -> String {
        if self.refused {
            return "connection refused".into();
        }
        let status = self
            .status
            .map_or_else(|| "no status".to_string(), |s| s.to_string());
        let end = if self.closed { "closed" } else { "left open" };
        format!(
            "{status}, {end} after {} sent in {} ms",
            bytes(self.sent),
            self.elapsed.as_millis()
        )
    }
}

/// `1.0 MB`, `12.3 KB`, `17 B`.
pub fn bytes(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / (1 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// Status code of a response head (`RTSP/1.0 200 OK`, `HTTP/1.1 413 ...`).
pub fn status_of(head: &[u8]) -> Option<u16> {
    let line_end = head.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let mut words = line.split_whitespace();
    let proto = words.next()?;
    if !(proto.starts_with("RTSP/") || proto.starts_with("HTTP/")) {
        return None;
    }
    words.next()?.parse().ok()
}

const KEEP: usize = 64 * 1024;
const CHUNK: usize = 64 * 1024;

/// Connects to `addr`, writes `head` then `body_len` bytes of `fill` (without holding them in
/// memory), and reads until the server closes or `bound` passes. With `close_on_status`, stops
/// at the first complete status line instead of waiting for the close.
pub async fn exchange(
    addr: SocketAddr,
    head: &[u8],
    body_len: usize,
    fill: u8,
    bound: Duration,
    close_on_status: bool,
) -> Reply {
    let started = Instant::now();
    let deadline = started + bound;
    let Ok(Ok(stream)) = tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await else {
        return Reply {
            refused: true,
            ..Default::default()
        };
    };
    let (mut rd, mut wr) = stream.into_split();
    let head = head.to_vec();
    let sent = Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn({
        let sent = Arc::clone(&sent);
        async move {
            if wr.write_all(&head).await.is_err() {
                return;
            }
            sent.fetch_add(head.len(), Ordering::Relaxed);
            let chunk = vec![fill; CHUNK];
            let mut left = body_len;
            while left > 0 {
                let n = left.min(CHUNK);
                if wr.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                sent.fetch_add(n, Ordering::Relaxed);
                left -= n;
            }
            let _ = wr.flush().await;
            // Keep the write half open: a half-close could end the exchange early.
            std::future::pending::<()>().await;
        }
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut closed = false;
    loop {
        match tokio::time::timeout_at(deadline, rd.read(&mut buf)).await {
            Err(_) => break,
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => {
                if got.len() < KEEP {
                    got.extend_from_slice(&buf[..n]);
                }
                if close_on_status && status_of(&got).is_some() {
                    break;
                }
            }
        }
    }
    let elapsed = started.elapsed();
    writer.abort();
    let _ = writer.await;
    let sent = sent.load(Ordering::Relaxed);
    Reply {
        status: status_of(&got),
        closed,
        sent,
        received: got.len(),
        elapsed,
        refused: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(status_of(b"RTSP/1.0 400 Bad Request\r\n"), Some(400));
        assert_eq!(status_of(b"HTTP/1.1 413 Payload Too Large\r\nx"), Some(413));
        assert_eq!(status_of(b"HTTP/1.1 200"), None);
        assert_eq!(status_of(b"garbage 200\r\n"), None);
    }

    #[test]
    fn byte_figures() {
        assert_eq!(bytes(17), "17 B");
        assert_eq!(bytes(2048), "2.0 KB");
        assert_eq!(bytes(1 << 20), "1.0 MB");
    }

    #[tokio::test]
    async fn a_server_that_answers_and_closes() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut b = [0u8; 10];
            let _ = s.read_exact(&mut b).await;
            let _ = s.write_all(b"RTSP/1.0 400 Bad Request\r\n\r\n").await;
        });
        let r = exchange(addr, b"0123456789", 0, 0, Duration::from_secs(5), false).await;
        assert_eq!(r.status, Some(400));
        assert!(r.closed);
        assert!(!r.refused);
    }
}

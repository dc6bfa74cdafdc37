//! ICE-TCP (RFC 6544) on `webrtcLocalTCPAddress`: sessions announce passive TCP host
//! candidates; a browser connects and sends RFC 4571 frames. The first frame must be a
//! STUN binding request naming a live session's ufrag: the connection then belongs to that
//! session, which writes its packets back through [`TcpPath`]. Anything else is closed and
//! counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::rfc4571::FrameDecoder;
use crate::stun;
use crate::udp_mux::{Datagram, Router};

/// Frames queued for writing on one connection before the newest are dropped.
const WRITE_QUEUE: usize = 512;

/// A session's way back to its peer on an ICE-TCP connection.
#[derive(Debug, Clone)]
pub struct TcpPath {
    /// Our end of the connection (the candidate the peer reached).
    pub local: SocketAddr,
    /// Frames (already RFC 4571 framed) to write on the connection.
    pub writer: mpsc::Sender<Vec<u8>>,
}

/// Accepts ICE-TCP connections until the task is aborted.
pub fn start(listener: TcpListener, router: Arc<Router>, handshake: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let router = Arc::clone(&router);
                    tokio::spawn(async move {
                        if let Err(why) = serve(stream, peer, &router, handshake).await {
                            router
                                .counters()
                                .tcp_refused
                                .fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("ICE/TCP connection from {peer} closed: {why}");
                        }
                    });
                }
                Err(e) => {
                    tracing::debug!("ICE/TCP accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
}

/// Reads one RFC 4571 frame (`None` at a clean end of the stream).
async fn read_frame(
    stream: &mut tokio::net::tcp::OwnedReadHalf,
    decoder: &mut FrameDecoder,
    buf: &mut [u8],
) -> Result<Option<Vec<u8>>, String> {
    // Bounded: each round reads at least one byte or ends.
    loop {
        if let Some(frame) = decoder.next_frame() {
            return Ok(Some(frame.to_vec()));
        }
        let n = stream.read(buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return if decoder.pending() == 0 {
                Ok(None)
            } else {
                Err("connection closed in the middle of a frame".into())
            };
        }
        decoder.push(&buf[..n]);
    }
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    router: &Router,
    handshake: Duration,
) -> Result<(), String> {
    let local = stream.local_addr().map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (mut rd, wr) = stream.into_split();
    let mut decoder = FrameDecoder::default();
    let mut buf = vec![0u8; 8192];
    let first = tokio::time::timeout(handshake, read_frame(&mut rd, &mut decoder, &mut buf))
        .await
        .map_err(|_| "no binding request in time".to_owned())??
        .ok_or("closed before a binding request")?;
    let ufrag = stun::binding_request_local_ufrag(&first).ok_or("not a binding request")?;
    let session = router
        .session(ufrag)
        .ok_or_else(|| format!("no session for ufrag {ufrag}"))?;
    router
        .counters()
        .tcp_connections
        .fetch_add(1, Ordering::Relaxed);
    let (writer, frames) = mpsc::channel(WRITE_QUEUE);
    let write_task = tokio::spawn(write_frames(wr, frames));
    let path = TcpPath { local, writer };
    let mut next = Some(first);
    // Bounded by the connection: every round consumes a frame; it ends with the stream
    // or with the session.
    while let Some(data) = next.take() {
        let dgram = Box::new(Datagram {
            received: Instant::now(),
            source: peer,
            destination: Some(local.ip()),
            data,
            tcp: Some(path.clone()),
        });
        match session.try_send(dgram) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                router
                    .counters()
                    .dropped_queue_full
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => break,
        }
        tokio::select! {
            frame = read_frame(&mut rd, &mut decoder, &mut buf) => next = frame?,
            () = session.closed() => break,
        }
    }
    write_task.abort();
    Ok(())
}

async fn write_frames(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    mut frames: mpsc::Receiver<Vec<u8>>,
) {
    while let Some(frame) = frames.recv().await {
        if let Err(e) = wr.write_all(&frame).await {
            tracing::debug!("ICE/TCP write failed: {e}");
            return;
        }
    }
}

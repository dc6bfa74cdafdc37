//! The thin async driver of one [`Connection`]: datagrams in (routed by the server's
//! socket task, or read from the caller's own socket), the connection's timer, its
//! datagrams out. Protocol logic stays in the state machine.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::Connection;

/// Largest datagram read from a caller's own socket.
const MAX_DATAGRAM: usize = 65_536;

/// Where a connection's datagrams come from.
pub(crate) enum Datagrams {
    /// Routed by the server's socket task.
    Routed(mpsc::Receiver<Bytes>),
    /// The caller's own socket; datagrams from other addresses are ignored.
    Socket(Vec<u8>),
}

/// What woke the connection up.
pub(crate) enum Input {
    Datagram(Bytes),
    Timeout,
    /// The server's socket task is gone.
    Gone,
}

/// One connection, its socket and its peer.
pub(crate) struct Link {
    pub conn: Connection,
    sock: Arc<UdpSocket>,
    peer: SocketAddr,
    input: Datagrams,
}

impl Link {
    pub fn new(conn: Connection, sock: Arc<UdpSocket>, peer: SocketAddr, input: Datagrams) -> Link {
        Link {
            conn,
            sock,
            peer,
            input,
        }
    }

    /// Sends what the connection queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        while let Some(d) = self.conn.poll_transmit() {
            match self.sock.send_to(&d, self.peer).await {
                Ok(_) => {}
                // A peer that is not up yet (caller) or gone: SRT retransmits or times out.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Waits for a datagram or the connection's timer. Cancel-safe.
    pub async fn next_input(&mut self) -> Input {
        let deadline = self
            .conn
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let sleep = tokio::time::sleep_until(deadline.into());
        match &mut self.input {
            Datagrams::Routed(rx) => tokio::select! {
                d = rx.recv() => d.map_or(Input::Gone, Input::Datagram),
                () = sleep => Input::Timeout,
            },
            Datagrams::Socket(buf) => {
                if buf.len() < MAX_DATAGRAM {
                    buf.resize(MAX_DATAGRAM, 0);
                }
                tokio::select! {
                    r = self.sock.recv_from(buf) => match r {
                        Ok((n, from)) if from == self.peer => {
                            Input::Datagram(Bytes::copy_from_slice(buf.get(..n).unwrap_or_default()))
                        }
                        // Another sender, or an ICMP error of an earlier send: nothing to do.
                        Ok(_) | Err(_) => Input::Timeout,
                    },
                    () = sleep => Input::Timeout,
                }
            }
        }
    }

    /// Feeds what [`Link::next_input`] returned into the connection.
    pub fn apply(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Datagram(d) => self.conn.handle_datagram(now, &d),
            Input::Timeout => self.conn.handle_timeout(now),
            Input::Gone => self.conn.close(now),
        }
    }

    /// Sends `data` as payloads of at most `max` bytes (whole TS packets).
    pub fn send(&mut self, data: &[u8], max: usize) -> Result<(), crate::SendError> {
        let now = Instant::now();
        for chunk in data.chunks(max.max(1)) {
            self.conn.send(now, chunk)?;
        }
        Ok(())
    }
}

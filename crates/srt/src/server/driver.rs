//! The server's socket task: reads every datagram, hands handshakes to the [`Listener`]
//! and the rest to the task of the connection registered under (peer, socket id), and
//! carries out the decisions of connection tasks (accept with a passphrase, reject).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::conn::{self, ConnContext};
use super::{MAX_PENDING, Tasks};
use crate::{
    AcceptError, Connection, Listener, ListenerConfig, ListenerEvent, RejectReason, RequestId,
    destination_socket_id,
};

/// Datagrams queued for one connection before they are dropped (SRT retransmits).
const ROUTE_QUEUE: usize = 4096;
/// Decisions queued from connection tasks.
const DECISION_QUEUE: usize = 256;
/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_536;
/// How often routes of ended connections are forgotten.
const SWEEP_PERIOD: Duration = Duration::from_secs(1);

/// An accepted connection and its datagrams.
pub(crate) type Accepted = (Connection, mpsc::Receiver<Bytes>);

/// What a connection task asks of the socket task.
pub(crate) enum Decision {
    Accept {
        id: RequestId,
        peer: SocketAddr,
        passphrase: Option<String>,
        reply: oneshot::Sender<Result<Accepted, AcceptError>>,
    },
    Reject {
        id: RequestId,
        reason: RejectReason,
    },
}

/// A handle to decide on one request.
pub(crate) struct Decider {
    pub id: RequestId,
    peer: SocketAddr,
    tx: mpsc::Sender<Decision>,
    decided: bool,
}

impl Decider {
    /// Accepts with the path's passphrase; on error the request is still pending.
    pub async fn accept(&mut self, passphrase: Option<String>) -> Result<Accepted, AcceptError> {
        let (reply, rx) = oneshot::channel();
        let sent = self
            .tx
            .send(Decision::Accept {
                id: self.id,
                peer: self.peer,
                passphrase,
                reply,
            })
            .await;
        if sent.is_err() {
            self.decided = true;
            return Err(AcceptError::UnknownRequest(self.id));
        }
        let res = rx
            .await
            .unwrap_or(Err(AcceptError::UnknownRequest(self.id)));
        if res.is_ok() {
            self.decided = true;
        }
        res
    }

    pub async fn reject(&mut self, reason: RejectReason) {
        self.decided = true;
        let _ = self
            .tx
            .send(Decision::Reject {
                id: self.id,
                reason,
            })
            .await;
    }
}

impl Drop for Decider {
    fn drop(&mut self) {
        if !self.decided {
            let _ = self.tx.try_send(Decision::Reject {
                id: self.id,
                reason: RejectReason::Close,
            });
        }
    }
}

fn seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if rand_core::TryRngCore::try_fill_bytes(&mut rand_core::OsRng, &mut seed).is_err() {
        // Without the OS generator, fall back to the standard library's random keys.
        for chunk in seed.chunks_mut(8) {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    seed
}

/// A fresh random seed for a state machine.
pub(crate) fn random_seed() -> [u8; 32] {
    seed()
}

pub(crate) async fn run(
    sock: Arc<UdpSocket>,
    ctx: Arc<ConnContext>,
    cancel: CancellationToken,
    tasks: Tasks,
) {
    let mut listener = Listener::new(
        Instant::now(),
        ListenerConfig {
            settings: ctx.settings.connection_settings(),
            max_pending: MAX_PENDING,
        },
        seed(),
    );
    let mut routes: HashMap<(SocketAddr, u32), mpsc::Sender<Bytes>> = HashMap::new();
    let (decision_tx, mut decisions) = mpsc::channel(DECISION_QUEUE);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut sweep = tokio::time::interval(SWEEP_PERIOD);
    loop {
        tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok((n, from)) => {
                    let d = buf.get(..n).unwrap_or_default();
                    match destination_socket_id(d) {
                        Some(0) => listener.handle_datagram(Instant::now(), from, d),
                        Some(id) => {
                            if let Some(tx) = routes.get(&(from, id)) {
                                // A full queue drops the datagram: SRT recovers it.
                                let _ = tx.try_send(Bytes::copy_from_slice(d));
                            }
                        }
                        None => {}
                    }
                }
                // ICMP errors of earlier sends surface here: keep serving.
                Err(e) => tracing::debug!("SRT socket: {e}"),
            },
            Some(d) = decisions.recv() => decide(&mut listener, &mut routes, d),
            _ = sweep.tick() => routes.retain(|_, tx| !tx.is_closed()),
            () = cancel.cancelled() => break,
        }
        while let Some(t) = listener.poll_transmit() {
            if let Err(e) = sock.send_to(&t.payload, t.destination).await {
                tracing::debug!("SRT socket: {e}");
            }
        }
        while let Some(e) = listener.poll_event() {
            match e {
                ListenerEvent::Request(req) => {
                    let decider = Decider {
                        id: req.id,
                        peer: req.peer,
                        tx: decision_tx.clone(),
                        decided: false,
                    };
                    tasks.spawn(conn::serve(
                        Arc::clone(&ctx),
                        Arc::clone(&sock),
                        req,
                        decider,
                        cancel.child_token(),
                    ));
                }
                ListenerEvent::Rejected { peer, reason } => {
                    tracing::debug!("handshake of {peer} refused: {reason}");
                }
            }
        }
    }
}

fn decide(
    listener: &mut Listener,
    routes: &mut HashMap<(SocketAddr, u32), mpsc::Sender<Bytes>>,
    d: Decision,
) {
    let now = Instant::now();
    match d {
        Decision::Accept {
            id,
            peer,
            passphrase,
            reply,
        } => {
            let res = listener.accept(now, id, passphrase.as_deref()).map(|c| {
                let (tx, rx) = mpsc::channel(ROUTE_QUEUE);
                routes.insert((peer, c.local_socket_id()), tx);
                (c, rx)
            });
            let _ = reply.send(res);
        }
        Decision::Reject { id, reason } => listener.reject(now, id, reason),
    }
}

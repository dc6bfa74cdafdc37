//! The SRT server: one UDP socket, a task that routes its datagrams (handshakes to the
//! [`Listener`], the rest to the connection tasks), and one task per connection that
//! authenticates it against its path, then publishes or reads MPEG-TS.

pub(crate) mod conn;
mod driver;
pub(crate) use driver::random_seed;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use ferromtx_api::dto::SRTConnState;
use ferromtx_conf::Conf;
use ferromtx_core::PathManager;
use tokio_util::sync::CancellationToken;

use crate::{Settings, Stats};

/// Handshakes waiting for a decision (authentication) at most.
const MAX_PENDING: usize = 256;

/// What the SRT server depends on in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtSettings {
    /// `srtAddress`.
    pub address: String,
    /// `rtspAddress` (the hooks' `RTSP_PORT`).
    pub rtsp_address: String,
    /// `readTimeout`: handshake and peer idle timeout, wait for a publisher's tracks.
    pub read_timeout: Duration,
    /// `udpMaxPayloadSize`: SRT payloads are the whole TS packets that fit.
    pub udp_max_payload_size: usize,
    /// `udpReadBufferSize` (0: the system's default).
    pub udp_read_buffer_size: usize,
    pub run_on_connect: String,
    pub run_on_connect_restart: bool,
    pub run_on_disconnect: String,
}

impl SrtSettings {
    pub fn from_conf(conf: &Conf) -> SrtSettings {
        SrtSettings {
            address: conf.srt_address.clone(),
            rtsp_address: conf.rtsp_address.clone(),
            read_timeout: conf.read_timeout,
            udp_max_payload_size: usize::try_from(conf.udp_max_payload_size).unwrap_or(1452),
            udp_read_buffer_size: usize::try_from(conf.udp_read_buffer_size).unwrap_or(0),
            run_on_connect: conf.run_on_connect.clone(),
            run_on_connect_restart: conf.run_on_connect_restart,
            run_on_disconnect: conf.run_on_disconnect.clone(),
        }
    }

    /// The SRT payload size: the whole TS packets that fit in `udpMaxPayloadSize` after the
    /// SRT header, as MediaMTX computes it (1316 by default).
    pub fn max_payload(&self) -> usize {
        max_payload(self.udp_max_payload_size)
    }

    /// Settings of the connections.
    pub(crate) fn connection_settings(&self) -> Settings {
        Settings {
            peer_idle_timeout: self.read_timeout,
            max_payload: self.max_payload(),
            ..Settings::default()
        }
    }
}

/// Whole 188-byte TS packets that fit in `udp_max_payload_size` after a 16-byte SRT header.
pub fn max_payload(udp_max_payload_size: usize) -> usize {
    (udp_max_payload_size.saturating_sub(16) / 188 * 188).max(188)
}

/// One connection, as the API shows it.
#[derive(Debug)]
pub struct ConnInfo {
    pub id: String,
    pub created: SystemTime,
    pub remote_addr: SocketAddr,
    status: Mutex<Status>,
    kick: CancellationToken,
}

/// What changes during a connection's life.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub state: SRTConnState,
    pub path: String,
    pub query: String,
    pub user: String,
    /// Counters of the SRT connection, once accepted.
    pub stats: Option<Stats>,
    /// Frames a reader skipped because it was too slow.
    pub frames_discarded: u64,
}

impl ConnInfo {
    pub fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// The connections of a server.
#[derive(Debug, Default)]
pub(crate) struct Conns {
    next: AtomicU64,
    map: Mutex<HashMap<u64, Arc<ConnInfo>>>,
}

impl Conns {
    fn add(&self, info: Arc<ConnInfo>) -> u64 {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, info);
        key
    }

    fn remove(&self, key: u64) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
    }

    fn list(&self) -> Vec<Arc<ConnInfo>> {
        let mut all: Vec<_> = self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        all.sort_by_key(|c| c.created);
        all
    }
}

/// Spawns the server's tasks and lets [`SrtServer::close`] wait for all of them: each
/// task holds a clone of a sender nobody sends on; the receiver sees the end once the last
/// one is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Tasks {
    alive: tokio::sync::mpsc::Sender<()>,
}

impl Tasks {
    fn new() -> (Tasks, tokio::sync::mpsc::Receiver<()>) {
        let (alive, done) = tokio::sync::mpsc::channel(1);
        (Tasks { alive }, done)
    }

    pub(crate) fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let guard = self.alive.clone();
        tokio::spawn(async move {
            task.await;
            drop(guard);
        });
    }
}

/// A running SRT server.
#[derive(Debug)]
pub struct SrtServer {
    conns: Arc<Conns>,
    cancel: CancellationToken,
    tasks: Mutex<Option<Tasks>>,
    done: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<()>>,
    local_addr: SocketAddr,
}

impl SrtServer {
    /// Binds `srtAddress` and starts serving.
    pub async fn start(
        settings: SrtSettings,
        paths: Arc<PathManager>,
    ) -> std::io::Result<SrtServer> {
        let sock = ferromtx_net::bind_udp(&settings.address).await?;
        if settings.udp_read_buffer_size > 0 {
            ferromtx_net::set_read_buffer(&sock, settings.udp_read_buffer_size)?;
        } else {
            // Callers send a keyframe of a few megabytes at line rate: the system's default
            // (about 200 kB on Linux) overflows, and retransmissions pile on top.
            ferromtx_net::grow_read_buffer(&sock, crate::DEFAULT_UDP_READ_BUFFER);
        }
        let local_addr = sock.local_addr()?;
        let conns = Arc::new(Conns::default());
        let cancel = CancellationToken::new();
        let (tasks, done) = Tasks::new();
        let ctx = Arc::new(conn::ConnContext {
            settings,
            paths,
            conns: Arc::clone(&conns),
        });
        tasks.spawn(driver::run(
            Arc::new(sock),
            ctx,
            cancel.clone(),
            tasks.clone(),
        ));
        Ok(SrtServer {
            conns,
            cancel,
            tasks: Mutex::new(Some(tasks)),
            done: tokio::sync::Mutex::new(done),
            local_addr,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Ends every connection (callers get a SHUTDOWN) and frees the port.
    pub async fn close(&self) {
        self.cancel.cancel();
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Every task has ended (and dropped its sender) when this returns `None`.
        let _ = self.done.lock().await.recv().await;
    }

    /// The connections, oldest first.
    pub fn conns(&self) -> Vec<Arc<ConnInfo>> {
        self.conns.list()
    }

    /// Closes the connection with this id; false when there is none.
    pub fn kick(&self, id: &str) -> bool {
        match self.conns.list().into_iter().find(|c| c.id == id) {
            Some(c) => {
                c.kick.cancel();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_whole_ts_packets() {
        assert_eq!(max_payload(1452), 1316);
        assert_eq!(max_payload(1472), 1316);
        assert_eq!(max_payload(1600), 1504);
        assert_eq!(max_payload(0), 188);
    }
}

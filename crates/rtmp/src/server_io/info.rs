//! What the API and metrics show of RTMP connections (MediaMTX's `RTMPConn`): live
//! counters shared between a connection's task and the server handle, bumped without a
//! lock per message.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use tokio::sync::Notify;

/// What a connection does (`RTMPConnState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnState {
    #[default]
    Idle,
    Read,
    Publish,
}

/// One connection, as `/v3/rtmpconns/list` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnInfo {
    pub id: String,
    pub created: SystemTime,
    pub remote_addr: SocketAddr,
    pub state: ConnState,
    pub path: String,
    pub query: String,
    pub user: String,
    /// The client's `flashVer`.
    pub user_agent: String,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// Frames a slow reader skipped.
    pub outbound_frames_discarded: u64,
}

#[derive(Debug, Default, Clone)]
struct Fields {
    state: ConnState,
    path: String,
    query: String,
    user: String,
    user_agent: String,
}

/// The shared state of one connection.
#[derive(Debug)]
pub(crate) struct ConnEntry {
    pub uuid: String,
    created: SystemTime,
    peer: SocketAddr,
    fields: Mutex<Fields>,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
    discarded: AtomicU64,
    /// Wakes the connection to close it (API kick).
    pub kick: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ConnEntry {
    pub fn new(uuid: String, peer: SocketAddr) -> ConnEntry {
        ConnEntry {
            uuid,
            created: SystemTime::now(),
            peer,
            fields: Mutex::new(Fields::default()),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
            kick: Notify::new(),
        }
    }

    pub fn set_user_agent(&self, agent: &str) {
        lock(&self.fields).user_agent = agent.to_owned();
    }

    pub fn set_stream(&self, state: ConnState, path: &str, query: &str, user: &str) {
        let mut f = lock(&self.fields);
        f.state = state;
        f.path = path.to_owned();
        f.query = query.to_owned();
        f.user = user.to_owned();
    }

    pub fn set_counters(&self, received: u64, sent: u64) {
        self.bytes_received.store(received, Ordering::Relaxed);
        self.bytes_sent.store(sent, Ordering::Relaxed);
    }

    pub fn set_discarded(&self, n: u64) {
        self.discarded.store(n, Ordering::Relaxed);
    }

    fn info(&self) -> ConnInfo {
        let f = lock(&self.fields).clone();
        ConnInfo {
            id: self.uuid.clone(),
            created: self.created,
            remote_addr: self.peer,
            state: f.state,
            path: f.path,
            query: f.query,
            user: f.user,
            user_agent: f.user_agent,
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            outbound_frames_discarded: self.discarded.load(Ordering::Relaxed),
        }
    }
}

/// The open connections of one server, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    conns: Mutex<BTreeMap<u64, Arc<ConnEntry>>>,
}

impl Registry {
    pub fn insert(&self, id: u64, entry: Arc<ConnEntry>) {
        lock(&self.conns).insert(id, entry);
    }

    pub fn remove(&self, id: u64) {
        lock(&self.conns).remove(&id);
    }

    pub fn conns(&self) -> Vec<ConnInfo> {
        let entries: Vec<Arc<ConnEntry>> = lock(&self.conns).values().cloned().collect();
        entries.iter().map(|e| e.info()).collect()
    }

    pub fn len(&self) -> usize {
        lock(&self.conns).len()
    }

    /// Closes the connection `id` (its UUID). False when there is none.
    pub fn kick(&self, id: &str) -> bool {
        let entry = lock(&self.conns).values().find(|e| e.uuid == id).cloned();
        match entry {
            Some(e) => {
                e.kick.notify_one();
                true
            }
            None => false,
        }
    }
}

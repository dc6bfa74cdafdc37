//! What the API and metrics show of RTSP connections and sessions (MediaMTX's
//! `RTSPConn` and `RTSPSession`): live counters shared between a connection's task and
//! the server handle. Counters are atomics, bumped without a lock per packet.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use tokio::sync::Notify;

use crate::rtp_in::RtpCounters;
use crate::server_session::State;

/// What a session does (`RTSPSessionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Idle,
    Read,
    Publish,
}

impl SessionState {
    /// The API's name: `idle`, `read`, `publish`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Idle => "idle",
            SessionState::Read => "read",
            SessionState::Publish => "publish",
        }
    }

    fn of(state: State) -> SessionState {
        match state {
            State::PrePlay | State::Play => SessionState::Read,
            State::PreRecord | State::Record => SessionState::Publish,
            State::Initial => SessionState::Idle,
        }
    }
}

/// One RTSP connection, as listed by `/v3/rtspconns/list`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnInfo {
    pub id: String,
    pub created: SystemTime,
    pub remote_addr: SocketAddr,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// Id of the connection's session, if any.
    pub session: Option<String>,
}

/// One RTSP session, as listed by `/v3/rtspsessions/list`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub id: String,
    pub created: SystemTime,
    pub remote_addr: SocketAddr,
    pub state: SessionState,
    /// Empty before the session knows its path.
    pub path: String,
    pub query: String,
    /// `UDP`, `UDP-multicast` or `TCP`, once set up.
    pub transport: Option<String>,
    /// `AVP` or `SAVP` (MediaMTX's labels), once set up.
    pub profile: Option<String>,
    /// The user name and `User-Agent` of the request that made it publish or read.
    pub user: String,
    pub user_agent: String,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub rtp_packets_received: u64,
    pub rtp_packets_sent: u64,
    pub rtp_packets_lost: u64,
    pub rtp_packets_in_error: u64,
    pub rtp_packets_jitter: f64,
    /// Packets a reader said (in its receiver reports) it did not get.
    pub rtp_packets_reported_lost: u64,
    pub rtcp_packets_received: u64,
    pub rtcp_packets_sent: u64,
    pub rtcp_packets_in_error: u64,
}

/// Fields of a session that change on requests only.
#[derive(Debug, Default, Clone)]
struct SessionFields {
    path: String,
    query: String,
    transport: Option<String>,
    profile: Option<String>,
    user: String,
    user_agent: String,
}

#[derive(Debug)]
pub(crate) struct SessionEntry {
    pub uuid: String,
    created: SystemTime,
    peer: SocketAddr,
    state: AtomicU8,
    fields: Mutex<SessionFields>,
    pub bytes_received: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub counters: Arc<RtpCounters>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SessionEntry {
    pub fn new(uuid: String, peer: SocketAddr) -> SessionEntry {
        SessionEntry {
            uuid,
            created: SystemTime::now(),
            peer,
            state: AtomicU8::new(0),
            fields: Mutex::new(SessionFields::default()),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            counters: Arc::new(RtpCounters::default()),
        }
    }

    /// Records the state of the session after a request.
    pub fn update(
        &self,
        state: State,
        path: Option<&str>,
        query: &str,
        transport: Option<String>,
        profile: Option<String>,
    ) {
        let code = match SessionState::of(state) {
            SessionState::Idle => 0,
            SessionState::Read => 1,
            SessionState::Publish => 2,
        };
        self.state.store(code, Ordering::Relaxed);
        let mut f = lock(&self.fields);
        if let Some(p) = path {
            p.clone_into(&mut f.path);
        }
        query.clone_into(&mut f.query);
        f.transport = transport;
        f.profile = profile;
    }

    /// Records who publishes or reads: the user name of the request's credentials and its
    /// `User-Agent`, as MediaMTX does on ANNOUNCE and SETUP.
    pub fn set_client(&self, user: &str, user_agent: &str) {
        let mut f = lock(&self.fields);
        user.clone_into(&mut f.user);
        user_agent.clone_into(&mut f.user_agent);
    }

    fn info(&self) -> SessionInfo {
        let f = lock(&self.fields).clone();
        let c = &self.counters;
        SessionInfo {
            id: self.uuid.clone(),
            created: self.created,
            remote_addr: self.peer,
            state: match self.state.load(Ordering::Relaxed) {
                1 => SessionState::Read,
                2 => SessionState::Publish,
                _ => SessionState::Idle,
            },
            path: f.path,
            query: f.query,
            transport: f.transport,
            profile: f.profile,
            user: f.user,
            user_agent: f.user_agent,
            bytes_received: crate::rtp_in::RtpCounters::get(&self.bytes_received),
            bytes_sent: crate::rtp_in::RtpCounters::get(&self.bytes_sent),
            rtp_packets_received: crate::rtp_in::RtpCounters::get(&c.rtp_received),
            rtp_packets_sent: crate::rtp_in::RtpCounters::get(&c.rtp_sent),
            rtp_packets_lost: crate::rtp_in::RtpCounters::get(&c.rtp_lost),
            rtp_packets_in_error: crate::rtp_in::RtpCounters::get(&c.rtp_in_error),
            rtp_packets_jitter: f64::from_bits(c.jitter_bits.load(Ordering::Relaxed)),
            rtp_packets_reported_lost: crate::rtp_in::RtpCounters::get(&c.rtp_reported_lost),
            rtcp_packets_received: crate::rtp_in::RtpCounters::get(&c.rtcp_received),
            rtcp_packets_sent: crate::rtp_in::RtpCounters::get(&c.rtcp_sent),
            rtcp_packets_in_error: crate::rtp_in::RtpCounters::get(&c.rtcp_in_error),
        }
    }
}

#[derive(Debug)]
pub(crate) struct ConnEntry {
    pub uuid: String,
    created: SystemTime,
    peer: SocketAddr,
    pub bytes_received: AtomicU64,
    pub bytes_sent: AtomicU64,
    session: Mutex<Option<Arc<SessionEntry>>>,
    /// Wakes the connection to close it (API kick).
    pub kick: Notify,
}

impl ConnEntry {
    pub fn new(uuid: String, peer: SocketAddr) -> ConnEntry {
        ConnEntry {
            uuid,
            created: SystemTime::now(),
            peer,
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            session: Mutex::new(None),
            kick: Notify::new(),
        }
    }

    pub fn set_session(&self, session: Option<Arc<SessionEntry>>) {
        *lock(&self.session) = session;
    }

    /// Counts bytes read from the peer (and for its session, if any).
    pub fn received(&self, n: u64) {
        self.bytes_received.fetch_add(n, Ordering::Relaxed);
        if let Some(s) = lock(&self.session).as_ref() {
            s.bytes_received.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts bytes written to the peer (and for its session, if any).
    pub fn sent(&self, n: u64) {
        self.bytes_sent.fetch_add(n, Ordering::Relaxed);
        if let Some(s) = lock(&self.session).as_ref() {
            s.bytes_sent.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn info(&self) -> ConnInfo {
        ConnInfo {
            id: self.uuid.clone(),
            created: self.created,
            remote_addr: self.peer,
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            session: lock(&self.session).as_ref().map(|s| s.uuid.clone()),
        }
    }
}

/// Every open connection of a server.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    conns: Mutex<HashMap<u64, Arc<ConnEntry>>>,
}

impl Registry {
    pub fn insert(&self, id: u64, entry: Arc<ConnEntry>) {
        lock(&self.conns).insert(id, entry);
    }

    pub fn remove(&self, id: u64) {
        lock(&self.conns).remove(&id);
    }

    fn entries(&self) -> Vec<Arc<ConnEntry>> {
        let mut v: Vec<_> = lock(&self.conns).values().cloned().collect();
        v.sort_by_key(|e| e.created);
        v
    }

    pub fn conns(&self) -> Vec<ConnInfo> {
        self.entries().iter().map(|e| e.info()).collect()
    }

    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.entries()
            .iter()
            .filter_map(|e| lock(&e.session).as_ref().map(|s| s.info()))
            .collect()
    }

    /// Closes the session `id` and its connection; false when there is none.
    pub fn kick_session(&self, id: &str) -> bool {
        let found = self
            .entries()
            .into_iter()
            .find(|e| lock(&e.session).as_ref().is_some_and(|s| s.uuid == id));
        match found {
            Some(e) => {
                e.kick.notify_one();
                true
            }
            None => false,
        }
    }
}

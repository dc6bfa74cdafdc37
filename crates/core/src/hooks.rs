//! The `runOn*` hooks of paths and connections, as MediaMTX runs them.
//!
//! Each hook is a pair: a command started when something begins (`runOnDemand`,
//! `runOnReady`, `runOnRead`, ...), optionally restarted, and stopped when it ends, at which
//! point the paired command (`runOnUnDemand`, `runOnNotReady`, `runOnUnread`, ...) is
//! launched once. A [`Hook`] runs the second half when dropped.
//!
//! Log lines are emitted in the caller's span (e.g. `path`), worded as MediaMTX's.

use crate::externalcmd::{Environment, ExternalCmd, query_escape};

/// The two commands of one hook and their settings.
#[derive(Debug, Clone, Default)]
pub struct HookSpec {
    /// Name of the start command in logs (`runOnDemand`).
    pub on_name: &'static str,
    pub on_cmd: String,
    pub restart: bool,
    /// Name of the end command in logs (`runOnUnDemand`).
    pub off_name: &'static str,
    pub off_cmd: String,
    pub env: Environment,
}

/// A started hook. Dropping it (or [`Hook::stop`]) stops the start command and launches
/// the end command.
#[derive(Debug)]
pub struct Hook {
    on_name: &'static str,
    off_name: &'static str,
    off_cmd: String,
    env: Environment,
    cmd: Option<ExternalCmd>,
    stopped: bool,
}

impl Hook {
    /// Starts the hook's first command, if any. Inside a tokio runtime.
    pub fn start(spec: HookSpec) -> Hook {
        let cmd = (!spec.on_cmd.is_empty()).then(|| {
            tracing::info!("{} command started", spec.on_name);
            let name = spec.on_name;
            ExternalCmd::start(&spec.on_cmd, spec.restart, spec.env.clone(), move |err| {
                tracing::info!("{name} command exited: {err}");
            })
        });
        Hook {
            on_name: spec.on_name,
            off_name: spec.off_name,
            off_cmd: spec.off_cmd,
            env: spec.env,
            cmd,
            stopped: false,
        }
    }

    /// Whether the hook started a command.
    pub fn is_running(&self) -> bool {
        self.cmd.is_some() && !self.stopped
    }

    /// Stops the first command and launches the second; `reason` is logged when given
    /// (`runOnDemand command stopped: not needed by anyone`).
    pub fn stop(mut self, reason: Option<&str>) {
        self.stop_inner(reason);
    }

    fn stop_inner(&mut self, reason: Option<&str>) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Some(cmd) = self.cmd.take() {
            cmd.close();
            match reason {
                Some(reason) => tracing::info!("{} command stopped: {reason}", self.on_name),
                None => tracing::info!("{} command stopped", self.on_name),
            }
        }
        if !self.off_cmd.is_empty() {
            tracing::info!("{} command launched", self.off_name);
            let name = self.off_name;
            ExternalCmd::start(&self.off_cmd, false, self.env.clone(), move |err| {
                tracing::info!("{name} command exited: {err}");
            })
            .detach();
        }
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.stop_inner(None);
    }
}

/// Kind and id of a source, reader or connection, as the API shows them
/// (`{"type": "rtspSession", "id": "..."}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Described {
    pub kind: String,
    pub id: String,
}

impl Described {
    /// The kind of a reader that works for other readers (an HLS muxer feeding its
    /// sessions): the API does not list it and it runs no `runOnRead` hook of its own.
    pub const HIDDEN: &'static str = "hidden";

    /// A hidden reader (see [`Described::HIDDEN`]).
    pub fn hidden() -> Described {
        Described {
            kind: Described::HIDDEN.to_owned(),
            id: String::new(),
        }
    }

    pub fn is_hidden(&self) -> bool {
        self.kind == Described::HIDDEN
    }
}

/// The port part of an address such as `:8554` or `0.0.0.0:8554` (`RTSP_PORT`).
pub fn port_of(address: &str) -> String {
    address
        .rsplit_once(':')
        .map(|(_, port)| port.to_owned())
        .unwrap_or_default()
}

/// Base environment of a path's hooks: `MTX_PATH`, `RTSP_PATH`, `RTSP_PORT`, `G1`...
pub fn path_env(path: &str, rtsp_address: &str, captures: &[String]) -> Environment {
    let mut env = Environment::new();
    env.insert("MTX_PATH".into(), path.into());
    env.insert("RTSP_PATH".into(), path.into());
    env.insert("RTSP_PORT".into(), port_of(rtsp_address));
    for (i, cap) in captures.iter().enumerate() {
        env.insert(format!("G{}", i + 1), cap.clone());
    }
    env
}

/// Adds `MTX_QUERY` (escaped like Go's `url.QueryEscape`).
pub fn with_query(mut env: Environment, query: &str) -> Environment {
    env.insert("MTX_QUERY".into(), query_escape(query));
    env
}

/// Adds `MTX_SOURCE_TYPE` / `MTX_SOURCE_ID` when a source is known.
pub fn with_source(mut env: Environment, source: Option<&Described>) -> Environment {
    if let Some(source) = source {
        env.insert("MTX_SOURCE_TYPE".into(), source.kind.clone());
        env.insert("MTX_SOURCE_ID".into(), source.id.clone());
    }
    env
}

/// Adds `MTX_READER_TYPE` / `MTX_READER_ID`.
pub fn with_reader(mut env: Environment, reader: &Described) -> Environment {
    env.insert("MTX_READER_TYPE".into(), reader.kind.clone());
    env.insert("MTX_READER_ID".into(), reader.id.clone());
    env
}

/// `runOnConnect` / `runOnDisconnect` for protocol servers: call when a connection opens,
/// drop the returned hook when it closes. `conn` is e.g. `{"rtspConn", "<uuid>"}`.
pub fn on_connect(
    run_on_connect: &str,
    run_on_connect_restart: bool,
    run_on_disconnect: &str,
    rtsp_address: &str,
    conn: &Described,
) -> Hook {
    let mut env = Environment::new();
    if !run_on_connect.is_empty() || !run_on_disconnect.is_empty() {
        env.insert("RTSP_PORT".into(), port_of(rtsp_address));
        env.insert("MTX_CONN_TYPE".into(), conn.kind.clone());
        env.insert("MTX_CONN_ID".into(), conn.id.clone());
    }
    Hook::start(HookSpec {
        on_name: "runOnConnect",
        on_cmd: run_on_connect.to_owned(),
        restart: run_on_connect_restart,
        off_name: "runOnDisconnect",
        off_cmd: run_on_disconnect.to_owned(),
        env,
    })
}

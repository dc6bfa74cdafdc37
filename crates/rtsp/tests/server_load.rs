//! Thousands of idle connections: the server keeps serving new clients, closes the idle
//! ones after `readTimeout` (not before), and gives back every connection and file
//! descriptor; its listener queues thousands of connections it has not accepted yet.

mod server_support;

use std::time::Duration;

use ferromtx_rtsp::RtspSettings;
use ferromtx_rtsp::message::{Method, StatusCode};
use server_support::{Client, OPEN_CONF, server_with};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const IDLE: usize = 2000;
/// Long beside the time 2000 loopback connects take even on a loaded machine (well under a
/// second), so every connection is open before the first one times out.
const READ_TIMEOUT: Duration = Duration::from_secs(12);

/// Raises the soft limit of open files to the hard one; returns the limit in force.
fn raise_nofile() -> u64 {
    ferromtx_net::sys::raise_fd_limit().unwrap_or(1024)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_connections_are_served_then_closed() {
    // Each connection costs two descriptors here (client and server in one process).
    let limit = raise_nofile();
    assert!(
        limit >= 2 * IDLE as u64 + 256,
        "RLIMIT_NOFILE {limit} is too low for {IDLE} connections"
    );
    let settings = RtspSettings {
        read_timeout: READ_TIMEOUT,
        ..RtspSettings::loopback()
    };
    let (server, _paths) = server_with(OPEN_CONF, settings).await;
    let addr = server.local_addrs().rtsp;
    let baseline = open_fds();

    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE / 100 {
        // Taken before the connects start: the server's timer cannot start earlier, so
        // the time to each close is at least readTimeout from here.
        let started = tokio::time::Instant::now();
        let batch = (0..100).map(|_| TcpStream::connect(addr));
        for c in futures_join(batch).await {
            idle.push((c.expect("connect"), started));
        }
    }
    let mut all_open = false;
    for _ in 0..500 {
        if server.conns().len() >= IDLE {
            all_open = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        all_open,
        "{} of {IDLE} connections open",
        server.conns().len()
    );

    // A new client is served while they sit there.
    let mut c = Client::connect(addr).await;
    let res = c
        .request(Method::Options, &format!("rtsp://{addr}/x"), &[], None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    drop(c);

    // After readTimeout the idle ones are closed by the server, none before: each sees
    // EOF at least READ_TIMEOUT after its connect started.
    let mut closed = 0;
    for (mut s, connected) in idle {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(READ_TIMEOUT + Duration::from_secs(20), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            other => panic!("idle connection not closed: {other:?}"),
        }
        let idle_for = connected.elapsed();
        assert!(
            idle_for >= READ_TIMEOUT,
            "closed {idle_for:?} after its connect started, before readTimeout"
        );
    }
    assert_eq!(closed, IDLE);
    let mut gone = false;
    for _ in 0..500 {
        if server.conns().is_empty() && open_fds() <= baseline + 8 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        gone,
        "left behind: {} connections, {} descriptors (baseline {baseline})",
        server.conns().len(),
        open_fds()
    );
    server.close().await;
}

/// The listener the servers use (`ferromtx_net::bind_tcp*`) queues 2000 connections nobody
/// accepts yet, twice tokio's default backlog of 1024 (connects beyond the backlog are not
/// answered and retry after a second or more). The kernel caps the backlog at
/// `net.core.somaxconn`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_queues_thousands_of_connections_before_accepting() {
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let limit = raise_nofile();
    let queued = IDLE.min(somaxconn);
    assert!(
        limit >= queued as u64 + 256,
        "RLIMIT_NOFILE {limit} too low"
    );
    let listener =
        ferromtx_net::bind_tcp_addr("127.0.0.1:0".parse().expect("address")).expect("listener");
    let addr = listener.local_addr().expect("address");
    let mut open = Vec::with_capacity(queued);
    for _ in 0..queued.div_ceil(100) {
        let n = 100.min(queued - open.len());
        let batch = (0..n).map(|_| async move {
            tokio::time::timeout(Duration::from_millis(900), TcpStream::connect(addr)).await
        });
        for c in futures_join(batch).await {
            let c = c.unwrap_or_else(|_| {
                panic!(
                    "a connect beyond {} queued ones was not answered",
                    open.len()
                )
            });
            open.push(c.expect("connect"));
        }
    }
    assert_eq!(open.len(), queued);
    drop(listener);
}

/// Awaits futures concurrently (a tiny `join_all`).
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

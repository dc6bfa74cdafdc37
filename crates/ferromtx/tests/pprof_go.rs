//! The operators' pprof commands, verbatim, against the real binary:
//!   curl ".../debug/pprof/profile?seconds=N" > p.prof && go tool pprof -top p.prof
//!   curl .../debug/pprof/heap > h.prof && go tool pprof -text h.prof | head -20
//!   curl -s ".../debug/pprof/goroutine?debug=1" | head -1

mod common;

use std::process::Command;

use common::{free_port, http, quiet_config, start, tool};

fn pprof_top(
    go: &std::path::Path,
    flag: &str,
    file: &std::path::Path,
    tmp: &std::path::Path,
) -> String {
    let out = Command::new(go)
        .args(["tool", "pprof", flag, "-symbolize=none"])
        .arg(file)
        .env("HOME", tmp)
        .env("GOCACHE", tmp.join("gocache"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("PPROF_TMPDIR", tmp)
        .output()
        .expect("run go tool pprof");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "go tool pprof {flag} failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn go_tool_pprof_reads_cpu_heap_and_goroutine_profiles() {
    let Some(go) = tool("go") else {
        return;
    };
    let port = free_port();
    let mut s = start(
        Some(&quiet_config(&format!(
            "pprof: yes\npprofAddress: 127.0.0.1:{port}"
        ))),
        &[],
        &[],
    );
    s.wait_line("[pprof] started with listener");
    let tmp = tempfile::tempdir().expect("tmp");

    let (status, _, cpu) = http("GET", port, "/debug/pprof/profile?seconds=2", None);
    assert_eq!(status, 200);
    let p = tmp.path().join("p.prof");
    std::fs::write(&p, &cpu).expect("write");
    let top = pprof_top(&go, "-top", &p, tmp.path());
    assert!(top.contains("Type: cpu"), "{top}");

    let (status, _, heap) = http("GET", port, "/debug/pprof/heap", None);
    assert_eq!(status, 200);
    let h = tmp.path().join("h.prof");
    std::fs::write(&h, &heap).expect("write");
    let text = pprof_top(&go, "-text", &h, tmp.path());
    assert!(text.contains("Type: inuse_space"), "{text}");
    // Symbolized in the server itself: Rust function names, not bare addresses.
    assert!(text.contains("::"), "no symbol names: {text}");

    let (status, _, g) = http("GET", port, "/debug/pprof/goroutine?debug=1", None);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&g).starts_with("goroutine profile: total "));

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

//! External commands and hooks with real processes (no shell involved).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ferromtx_core::externalcmd::ExternalCmd;
use ferromtx_core::hooks::{self, Described, Hook, HookSpec};

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

fn read_environ(path: &Path) -> BTreeMap<String, String> {
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn hook_passes_env_and_runs_end_command_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let env = hooks::with_query(
        hooks::path_env("cam/1", ":8554", &["x".into(), "y".into()]),
        "a=1 2",
    );
    let env = hooks::with_reader(
        env,
        &Described {
            kind: "rtspSession".into(),
            id: "abc".into(),
        },
    );
    let hook = Hook::start(HookSpec {
        on_name: "runOnRead",
        // cp reads its own environment: proves what the command got, no shell needed
        on_cmd: format!("cp /proc/self/environ {d}/on.env"),
        restart: false,
        off_name: "runOnUnread",
        off_cmd: format!("touch '{d}/off ${{G1}}$G2'"),
        env,
    });
    let on = dir.path().join("on.env");
    assert!(wait_until(|| on.exists() && std::fs::metadata(&on).unwrap().len() > 0).await);
    let got = read_environ(&on);
    assert_eq!(got["MTX_PATH"], "cam/1");
    assert_eq!(got["RTSP_PATH"], "cam/1");
    assert_eq!(got["RTSP_PORT"], "8554");
    assert_eq!(got["G1"], "x");
    assert_eq!(got["G2"], "y");
    assert_eq!(got["MTX_QUERY"], "a%3D1+2");
    assert_eq!(got["MTX_READER_TYPE"], "rtspSession");
    assert_eq!(got["MTX_READER_ID"], "abc");
    let off = dir.path().join("off xy");
    assert!(!off.exists());
    drop(hook);
    assert!(wait_until(|| off.exists()).await);
}

#[tokio::test]
async fn on_connect_sets_conn_env() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let hook = hooks::on_connect(
        &format!("cp /proc/self/environ {d}/c.env"),
        false,
        &format!("touch {d}/$MTX_CONN_ID.gone"),
        "0.0.0.0:8555",
        &Described {
            kind: "rtmpConn".into(),
            id: "id7".into(),
        },
    );
    let on = dir.path().join("c.env");
    assert!(wait_until(|| on.exists() && std::fs::metadata(&on).unwrap().len() > 0).await);
    let got = read_environ(&on);
    assert_eq!(got["MTX_CONN_TYPE"], "rtmpConn");
    assert_eq!(got["MTX_CONN_ID"], "id7");
    assert_eq!(got["RTSP_PORT"], "8555");
    hook.stop(None);
    let gone = dir.path().join("id7.gone");
    assert!(wait_until(|| gone.exists()).await);
}

fn find_process(marker: &str) -> Option<i32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.starts_with("sleep ") && cmdline.contains(marker) {
                return Some(pid);
            }
        }
    }
    None
}

#[tokio::test]
async fn closing_a_command_stops_its_process() {
    let marker = format!("{}.{}", 900 + std::process::id() % 97, 4321);
    let cmd = ExternalCmd::start(&format!("sleep {marker}"), false, BTreeMap::new(), |_| {});
    assert!(wait_until(|| find_process(&marker).is_some()).await);
    cmd.close();
    assert!(wait_until(|| find_process(&marker).is_none()).await);
}

/// A `sleep` duration no other test or process uses: `<n>.<tag>` seconds, long enough.
fn sleep_marker(tag: u32) -> String {
    format!("{}.{tag}", 900 + std::process::id() % 97)
}

#[tokio::test]
async fn closing_a_command_stops_its_whole_process_group() {
    // `sh` waits on a pipeline of two sleeps: stopping only the shell's pid would leave
    // both sleeps running.
    let (a, b) = (sleep_marker(5501), sleep_marker(5502));
    let cmd = ExternalCmd::start(
        &format!("sh -c 'sleep {a} | sleep {b}'"),
        false,
        BTreeMap::new(),
        |_| {},
    );
    assert!(wait_until(|| find_process(&a).is_some() && find_process(&b).is_some()).await);
    cmd.close();
    assert!(
        wait_until(|| find_process(&a).is_none() && find_process(&b).is_none()).await,
        "a process of the group outlived the command"
    );
}

#[tokio::test]
async fn a_command_that_ignores_sigint_is_killed_after_the_grace() {
    // The shell and the sleep it starts ignore SIGINT (the ignored disposition survives
    // exec): only the SIGKILL sent to the group after KILL_GRACE ends them.
    let marker = sleep_marker(5503);
    let cmd = ExternalCmd::start(
        &format!("sh -c 'trap \"\" INT; sleep {marker}; echo after'"),
        false,
        BTreeMap::new(),
        |_| {},
    );
    assert!(wait_until(|| find_process(&marker).is_some()).await);
    let closed = tokio::time::Instant::now();
    cmd.close();
    let mut gone = false;
    for _ in 0..300 {
        if find_process(&marker).is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = closed.elapsed();
    assert!(gone, "still running {after:?} after close");
    assert!(
        after >= ferromtx_core::externalcmd::KILL_GRACE,
        "gone {after:?} after close, before the grace: SIGINT was not ignored?"
    );
}

#[tokio::test]
async fn restarting_command_runs_again_after_exit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cmd = ExternalCmd::start(
        &format!("mktemp {d}/run.XXXXXX"),
        true,
        BTreeMap::new(),
        move |err| {
            let _ = tx.send(err.to_string());
        },
    );
    let first = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some("command exited with code 0"));
    let second = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap();
    assert_eq!(second.as_deref(), Some("command exited with code 0"));
    drop(cmd);
    assert!(std::fs::read_dir(dir.path()).unwrap().count() >= 2);
}

#[tokio::test]
async fn failing_command_reports_exit_code() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cmd = ExternalCmd::start("false", false, BTreeMap::new(), move |err| {
        let _ = tx.send(err.to_string());
    });
    let got = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some("command exited with code 1"));
    drop(cmd);
}

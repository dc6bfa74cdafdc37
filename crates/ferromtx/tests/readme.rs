//! The README's run commands, read from the README itself and run as written at the
//! repository root: each starts the server (its listener lines) and SIGTERM stops it cleanly.
//!
//! They run against the release build the test command makes first (`scripts/test`); cargo
//! only checks that it is fresh. Outside CI, without a release build, the test says so and
//! passes (building one takes minutes); under `CI=true` it runs regardless.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Server, body, env_refs, hls_env, rtmp_env, rtsp_env, srt_env, webrtc_env};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The commands of the first `sh` block of the README's `## Run` section, without their
/// comments.
fn run_commands(readme: &str) -> Vec<String> {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Run\n"))
        .expect("README has a '## Run' section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the Run section has a ```sh block");
    block
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// A configuration file with test ports, for the command that names one.
fn test_config(env: &[(String, String)]) -> String {
    // The same addresses as the environment gives the command without a file.
    env.iter()
        .filter_map(|(k, v)| {
            let key = match k.as_str() {
                "MTX_RTSPADDRESS" => "rtspAddress",
                "MTX_RTPADDRESS" => "rtpAddress",
                "MTX_RTCPADDRESS" => "rtcpAddress",
                "MTX_WEBRTCADDRESS" => "webrtcAddress",
                "MTX_RTMPADDRESS" => "rtmpAddress",
                "MTX_RTMPSADDRESS" => "rtmpsAddress",
                "MTX_WEBRTCLOCALUDPADDRESS" => "webrtcLocalUDPAddress",
                "MTX_SRTADDRESS" => "srtAddress",
                "MTX_HLSADDRESS" => "hlsAddress",
                _ => return None,
            };
            Some(format!("{key}: {v}\n"))
        })
        .collect()
}

fn release_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("target"));
    target.join("release").join("ferromtx")
}

#[test]
fn readme_run_commands_start_and_stop_the_server() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README.md");
    let commands = run_commands(&readme);
    assert_eq!(
        commands,
        ["cargo run --release", "cargo run --release -- mediamtx.yml"],
        "the README's run commands changed: teach this test the new ones"
    );
    if std::env::var("CI").as_deref() != Ok("true") && !release_binary().exists() {
        eprintln!(
            "skipped: no release build at {} (scripts/test makes it; so does \
             `cargo build --release -p ferromtx`)",
            release_binary().display()
        );
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for line in &commands {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "cargo", "{line}");
        // A directory inside the repository: cargo finds the workspace from there, as from
        // its root, and `mediamtx.yml` is the test's file.
        let scratch = Path::new(ROOT).join("target").join("readme-test");
        std::fs::create_dir_all(&scratch).expect("scratch dir");
        let dir = tempfile::tempdir_in(&scratch).expect("tempdir");
        let (mut env, _) = rtsp_env();
        env.extend(webrtc_env().0);
        env.extend(rtmp_env().0);
        env.extend(srt_env().0);
        env.extend(hls_env().0);
        let named = words.last() == Some(&"mediamtx.yml");
        let conf = named.then(|| test_config(&env));
        let mut cmd = Command::new(&cargo);
        cmd.args(&words[1..]);
        // As typed in a shell: without the variables cargo sets for this test, which the
        // build scripts of dependencies (ring, cc) watch and would take for a change.
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if is_set_by_cargo_for_tests(&k) {
                cmd.env_remove(&*k);
            }
        }
        let env = if named { Vec::new() } else { env };
        let mut s = Server::spawn(cmd, dir, conf.as_deref(), &env_refs(&env));
        // cargo may have to relink the build first.
        s.wait = Duration::from_secs(600);
        if named {
            let l = s.wait_line("configuration loaded from");
            assert!(body(&l).ends_with("mediamtx.yml"), "{line}: {l}");
        } else {
            s.wait_line("configuration file not found");
        }
        s.wait_line("[RTSP] started with listener");
        s.wait_line("[HLS] started with listener");
        s.wait_line("[WebRTC] started with listener");
        s.signal(libc::SIGTERM);
        let status = s.wait_exit();
        assert!(status.success(), "{line}: {status:?} {:#?}", s.seen);
        // The test command built this release tree already: at most the binary itself is
        // relinked (its version names the commit), nothing is built a second time.
        let rebuilt: Vec<_> = s
            .seen
            .iter()
            .filter(|l| {
                l.trim_start().starts_with("Compiling ") && !l.contains("Compiling ferromtx v")
            })
            .collect();
        assert!(
            rebuilt.is_empty(),
            "{line} rebuilt dependencies: {rebuilt:#?}"
        );
        assert_eq!(
            s.count("INF shutting down gracefully"),
            1,
            "{line}: {:#?}",
            s.seen
        );
    }
}

/// Variables cargo gives a test process (and build scripts) that a user's shell does not have.
fn is_set_by_cargo_for_tests(name: &str) -> bool {
    const PREFIXES: [&str; 5] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "CARGO_CFG_",
        "DEP_",
    ];
    const NAMES: [&str; 6] = [
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
        "RUST_TEST_THREADS",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

#[test]
fn run_section_is_read_as_commands_without_comments() {
    let readme = "# x\n\n## Run\n\ntext\n\n```sh\ncargo run --release   # a\n\n\
                  cargo run --release -- f.yml # b\n```\n\n## Test\n\n```sh\nscripts/test\n```\n";
    assert_eq!(
        run_commands(readme),
        ["cargo run --release", "cargo run --release -- f.yml"]
    );
}

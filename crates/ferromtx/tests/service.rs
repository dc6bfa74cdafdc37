//! The binary started the way `dist/ferromtx.service` starts it: the unit's own ExecStart
//! (config path argument), ExecReload (run as written, `$MAINPID` filled in) and KillSignal
//! are read from the file, so a change to the unit that the binary does not support fails
//! here. The binary is the test build (CARGO_BIN_EXE_ferromtx).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{body, free_port, get_json, http, quiet_config, start, write};

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../dist/ferromtx.service");

/// The `[Service]` settings of a unit file: the last value of each key (as systemd does for
/// these single-valued settings), continuation lines joined.
fn service_section(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut section = String::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';'))
        {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        let full = std::mem::take(&mut pending) + line;
        if full.starts_with('[') && full.ends_with(']') {
            section = full[1..full.len() - 1].to_string();
        } else if section == "Service"
            && let Some((k, v)) = full.split_once('=')
        {
            out.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    out
}

/// A command line of the unit as words. Quoting, `%` specifiers and the `-@:+!` prefixes
/// are refused: the test would have to learn them first.
fn words(key: &str, cmd: &str) -> Vec<String> {
    assert!(
        !cmd.contains(['"', '\'', '%']) && !cmd.starts_with(['-', '@', ':', '+', '!']),
        "{key}={cmd}: quoting, specifiers or prefixes are not understood by this test"
    );
    cmd.split_whitespace().map(str::to_string).collect()
}

/// A signal as systemd's KillSignal= takes it: `SIGTERM`, `TERM` or a number.
fn signal_number(name: &str) -> i32 {
    if let Ok(n) = name.parse() {
        return n;
    }
    match name.strip_prefix("SIG").unwrap_or(name) {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "TERM" => libc::SIGTERM,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "KILL" => libc::SIGKILL,
        other => panic!("KillSignal={other}: not a signal this test knows"),
    }
}

#[test]
fn starts_reloads_and_stops_as_the_systemd_unit_says() {
    let unit = std::fs::read_to_string(UNIT).expect("read dist/ferromtx.service");
    let service = service_section(&unit);

    // ExecStart: the installed binary and one argument, the configuration file.
    let exec_start = words("ExecStart", service.get("ExecStart").expect("ExecStart"));
    assert!(
        Path::new(&exec_start[0]).is_absolute() && exec_start[0].ends_with("/ferromtx"),
        "ExecStart runs {}",
        exec_start[0]
    );
    let conf_args: Vec<usize> = (1..exec_start.len())
        .filter(|&i| exec_start[i].ends_with(".yml"))
        .collect();
    assert_eq!(
        conf_args.len(),
        1,
        "ExecStart gives one configuration file: {exec_start:?}"
    );
    assert!(Path::new(&exec_start[conf_args[0]]).is_absolute());

    // ExecReload: its program must exist (it is run as written below).
    let reload = words("ExecReload", service.get("ExecReload").expect("ExecReload"));
    let program = PathBuf::from(&reload[0]);
    if !program.is_file() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{} (ExecReload) is required in CI",
            program.display()
        );
        eprintln!("skipping: {} (ExecReload) not found", program.display());
        return;
    }

    // The file lives apart from the working directory (WorkingDirectory=/var/lib/ferromtx),
    // so it is found through the argument, not by the search in the working directory.
    let etc = tempfile::tempdir().expect("tempdir");
    let conf_path = etc.path().join("mediamtx.yml");
    let (api, metrics) = (free_port(), free_port());
    write(
        &conf_path,
        &quiet_config(&format!(
            "api: yes\napiAddress: 127.0.0.1:{api}\n\
             metrics: yes\nmetricsAddress: 127.0.0.1:{metrics}\npaths:\n  cam1:\n"
        )),
    );
    let mut args: Vec<String> = exec_start[1..].to_vec();
    args[conf_args[0] - 1] = conf_path.display().to_string();
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut s = start(None, &arg_refs, &[]);
    let l = s.wait_line("configuration loaded from");
    let canonical = conf_path.canonicalize().expect("canonical");
    assert_eq!(
        body(&l),
        format!("INF configuration loaded from {}", canonical.display())
    );
    s.wait_line(&format!(
        "[metrics] started with listener on 127.0.0.1:{metrics} (TCP/HTTP)"
    ));
    s.wait_line("[API] started with listener");

    // Make the running configuration differ from the file without touching the file
    // (so the file watcher has nothing to report and only ExecReload can bring the file
    // back): metrics off and a second path, through the API.
    let (status, head, _) = http(
        "PATCH",
        api,
        "/v3/config/global/patch",
        Some(r#"{"metrics":false}"#),
    );
    assert_eq!(status, 200, "{head}");
    s.wait_line("[metrics] closing");
    let (status, head, _) = http("POST", api, "/v3/config/paths/add/cam2", Some("{}"));
    assert_eq!(status, 200, "{head}");
    assert_eq!(get_json(api, "/v3/config/paths/list")["itemCount"], 2);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", metrics)).is_err(),
        "metrics off"
    );

    // ExecReload, run as written with $MAINPID filled in: the file is read again.
    let pid = s.child.id().to_string();
    let reload: Vec<String> = reload
        .iter()
        .map(|w| w.replace("${MAINPID}", &pid).replace("$MAINPID", &pid))
        .collect();
    let st = Command::new(&program)
        .args(&reload[1..])
        .status()
        .expect("run ExecReload");
    assert!(st.success(), "ExecReload {reload:?}: {st}");
    s.wait_line("INF reloading configuration (SIGHUP)");
    s.wait_count(
        &format!("[metrics] started with listener on 127.0.0.1:{metrics} (TCP/HTTP)"),
        2,
    );
    let (status, _, _) = http("GET", metrics, "/metrics", None);
    assert_eq!(status, 200, "metrics on again, as the file says");
    let paths = get_json(api, "/v3/config/paths/list");
    assert_eq!(paths["itemCount"], 1, "the file's paths again: {paths}");
    assert_eq!(paths["items"][0]["name"], "cam1");
    assert_eq!(
        s.count("reloading configuration (file changed)"),
        0,
        "{:#?}",
        s.seen
    );
    assert!(
        s.child.try_wait().expect("try_wait").is_none(),
        "still running after the reload: {:#?}",
        s.seen
    );

    // KillSignal (systemd's default is SIGTERM): a clean exit, status 0.
    let kill = service.get("KillSignal").map_or("SIGTERM", String::as_str);
    s.signal(signal_number(kill));
    let st = s.wait_exit();
    assert_eq!(st.code(), Some(0), "{st}; {:#?}", s.seen);
    assert_eq!(s.count("INF shutting down gracefully"), 1, "{:#?}", s.seen);
    assert_eq!(s.count(" ERR "), 0, "{:#?}", s.seen);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", api)).is_err(),
        "API closed"
    );
}

#[test]
fn unit_parser_reads_the_last_value_and_joins_continuations() {
    let s = service_section(
        "[Unit]\nExecStart=/not/this\n[Service]\n# c\nExecStart=/a \\\n  b.yml\nKillSignal=SIGINT\nKillSignal=SIGTERM\n",
    );
    assert_eq!(s["ExecStart"], "/a  b.yml");
    assert_eq!(s["KillSignal"], "SIGTERM");
    assert_eq!(words("ExecStart", &s["ExecStart"]), ["/a", "b.yml"]);
    assert_eq!(signal_number("SIGTERM"), libc::SIGTERM);
    assert_eq!(signal_number("INT"), libc::SIGINT);
    assert_eq!(signal_number("1"), 1);
}

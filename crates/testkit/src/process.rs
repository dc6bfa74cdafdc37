//! A process under test (the server binary, a tool) in a fresh temporary directory: its
//! configuration file written there, its output lines collected, signals, a bounded wait
//! for every line and for its exit.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// Default bound of every wait.
pub const WAIT: Duration = Duration::from_secs(20);

/// The `ferromtx` binary of the build the test belongs to: `target/<profile>/ferromtx`,
/// next to `target/<profile>/deps/<test>`. Missing: a failure under `CI=true`, else
/// `None` after a message (`cargo test --workspace` builds it).
pub fn server_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let found = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("ferromtx"))
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            !crate::in_ci(),
            "the ferromtx binary is not built next to {} (cargo test --workspace builds it)",
            exe.display()
        );
        eprintln!("skipping: build the server first (cargo build -p ferromtx)");
    }
    found
}

pub struct Process {
    pub child: Child,
    pub dir: tempfile::TempDir,
    lines: Receiver<String>,
    pub seen: Vec<String>,
    /// Bound of every wait for a line or the exit.
    pub wait: Duration,
}

impl Process {
    /// The server binary with `args`, in a fresh temporary directory (see [`Process::spawn`]).
    pub fn server(bin: &Path, conf: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Process {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(bin);
        cmd.args(args);
        Process::spawn(cmd, dir, conf, env)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `cmd` in `dir` (where `conf`, if any, is written as `mediamtx.yml`), with the
    /// caller's `MTX_*` variables removed and `env` added; its output lines are collected.
    pub fn spawn(
        mut cmd: Command,
        dir: tempfile::TempDir,
        conf: Option<&str>,
        env: &[(&str, &str)],
    ) -> Process {
        if let Some(c) = conf {
            std::fs::write(dir.path().join("mediamtx.yml"), c).expect("write conf");
        }
        cmd.current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("MTX_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn the command");
        let (tx, lines) = channel();
        for out in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Process {
            child,
            dir,
            lines,
            seen: Vec::new(),
            wait: WAIT,
        }
    }

    pub fn conf_path(&self) -> PathBuf {
        self.dir.path().join("mediamtx.yml")
    }

    /// Waits for a line containing `needle`; returns it. Panics with everything seen on
    /// timeout or when the process ends first.
    pub fn wait_line(&mut self, needle: &str) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + self.wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line containing {needle:?} within {:?}; seen: {:#?}",
                        self.wait, self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "process output ended before {needle:?}; seen: {:#?}",
                        self.seen
                    )
                }
            }
        }
    }

    /// Waits until `n` lines containing `needle` have been seen.
    pub fn wait_count(&mut self, needle: &str, n: usize) {
        let deadline = Instant::now() + self.wait;
        while self.count(needle) < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!(
                    "fewer than {n} lines containing {needle:?}; seen: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Collects output lines until none has come for `quiet` (at most [`Process::wait`] in
    /// all): what a process prints after the last thing a test did to it.
    pub fn settle(&mut self, quiet: Duration) {
        let deadline = Instant::now() + self.wait;
        while Instant::now() < deadline {
            match self.lines.recv_timeout(quiet) {
                Ok(l) => self.seen.push(l),
                Err(_) => return,
            }
        }
    }

    /// Collects output lines until the process exits; returns its status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + self.wait;
        loop {
            while let Ok(l) = self.lines.try_recv() {
                self.seen.push(l);
            }
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                // Drain what the reader threads still hold.
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(l);
                }
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit; seen: {:#?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: i32) {
        ferromtx_net::sys::signal(self.child.id(), sig).expect("kill");
    }

    /// Lines seen so far that contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.seen.iter().filter(|l| l.contains(needle)).count()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Strips and checks the `YYYY/MM/DD HH:MM:SS ` prefix of a plain log line.
pub fn body(line: &str) -> &str {
    assert!(line.len() > 20, "short line {line:?}");
    let (ts, rest) = line.split_at(20);
    let ok = ts.bytes().enumerate().all(|(i, c)| match i {
        4 | 7 => c == b'/',
        10 | 19 => c == b' ',
        13 | 16 => c == b':',
        _ => c.is_ascii_digit(),
    });
    assert!(ok, "bad timestamp in {line:?}");
    rest
}

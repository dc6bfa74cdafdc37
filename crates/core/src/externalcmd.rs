//! External commands (`runOn*` hooks): split like a shell but run without one, with
//! `$VAR`/`${VAR}` expanded by the server, in their own process group, restarted after
//! exit when asked, stopped with SIGINT then SIGKILL after a grace period. The process
//! counts the commands it runs, so shutdown can wait for them ([`wait_all`]) as MediaMTX
//! does (`waiting for running hooks`): a `runOnDisconnect` launched at the end still runs to
//! its end.

use std::collections::BTreeMap;
use std::process::ExitStatus;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Pause before restarting a command that exited (MediaMTX's `restartPause`).
pub const RESTART_PAUSE: Duration = Duration::from_secs(5);

/// Time a command gets to exit after SIGINT before it is killed.
pub const KILL_GRACE: Duration = Duration::from_secs(10);

/// Commands of this process still running (their tasks, detached ones included).
fn running() -> &'static watch::Sender<usize> {
    static RUNNING: OnceLock<watch::Sender<usize>> = OnceLock::new();
    RUNNING.get_or_init(|| watch::Sender::new(0))
}

/// One running command in [`running`]'s count, until dropped (its task ended or was
/// dropped with the runtime).
struct Counted;

impl Counted {
    fn new() -> Counted {
        running().send_modify(|n| *n += 1);
        Counted
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        running().send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// How many commands this process runs now.
pub fn running_count() -> usize {
    *running().borrow()
}

/// Waits until every command of this process has ended: detached ones run to their end,
/// the others end as their owners close them (SIGINT, SIGKILL after [`KILL_GRACE`]).
pub async fn wait_all() {
    let mut rx = running().subscribe();
    let _ = rx.wait_for(|n| *n == 0).await;
}

/// Variables passed to a command, on top of the server's own environment.
pub type Environment = BTreeMap<String, String>;

/// Why a command could not run or stopped by itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdError {
    #[error("unterminated quote")]
    UnterminatedQuote,
    #[error("unterminated backslash-escape")]
    UnterminatedEscape,
    #[error("empty command")]
    Empty,
    #[error("{0}")]
    Spawn(String),
    #[error("command exited with code {0}")]
    Exited(i32),
    #[error("command exited with code 0")]
    ExitedOk,
}

/// Splits a command line into arguments like a POSIX shell does (single and double quotes,
/// backslash escapes), without any other shell feature.
pub fn split_command(line: &str) -> Result<Vec<String>, CmdError> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    args.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(CmdError::UnterminatedQuote),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('$' | '`' | '"' | '\\')) => cur.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(CmdError::UnterminatedQuote),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(CmdError::UnterminatedQuote),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    cur.push(c);
                }
                None => return Err(CmdError::UnterminatedEscape),
            },
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        args.push(cur);
    }
    Ok(args)
}

/// Expands `$NAME` and `${NAME}` from `env`, then from the server's environment; unknown
/// variables expand to nothing.
pub fn expand_env(s: &str, env: &Environment) -> String {
    let lookup = |name: &str| {
        env.get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
            .unwrap_or_default()
    };
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(braced) = after.strip_prefix('{') {
            if let Some(end) = braced.find('}') {
                out.push_str(&lookup(&braced[..end]));
                rest = &braced[end + 1..];
            } else {
                // No closing brace: nothing to expand.
                rest = "";
            }
            continue;
        }
        let len = after
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(after.len(), |(i, _)| i);
        if len == 0 {
            out.push('$');
        } else {
            out.push_str(&lookup(&after[..len]));
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// Escapes a query for `MTX_QUERY` the way Go's `url.QueryEscape` does.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A running external command. Dropping or closing it stops the command (SIGINT to its
/// process group, SIGKILL after [`KILL_GRACE`]); [`ExternalCmd::detach`] lets it run on.
#[derive(Debug)]
pub struct ExternalCmd {
    stop: CancellationToken,
    detached: bool,
}

impl ExternalCmd {
    /// Starts `cmdline` with `env` added to the server's environment. When `restart` is
    /// set the command is started again [`RESTART_PAUSE`] after it exits. `on_exit` is
    /// called with the reason each time the command ends by itself (not for a clean exit of
    /// a non-restarting command). Must be called inside a tokio runtime.
    pub fn start(
        cmdline: &str,
        restart: bool,
        env: Environment,
        on_exit: impl Fn(CmdError) + Send + 'static,
    ) -> ExternalCmd {
        let stop = CancellationToken::new();
        let counted = Counted::new();
        let task = run(cmdline.to_owned(), restart, env, stop.clone(), on_exit);
        tokio::spawn(
            async move {
                let _counted = counted;
                task.await;
            }
            .in_current_span(),
        );
        ExternalCmd {
            stop,
            detached: false,
        }
    }

    /// Stops the command without waiting for it to exit.
    pub fn close(&self) {
        self.stop.cancel();
    }

    /// Lets the command run to its end even when this handle is dropped.
    pub fn detach(mut self) {
        self.detached = true;
    }
}

impl Drop for ExternalCmd {
    fn drop(&mut self) {
        if !self.detached {
            self.stop.cancel();
        }
    }
}

async fn run(
    cmdline: String,
    restart: bool,
    env: Environment,
    stop: CancellationToken,
    on_exit: impl Fn(CmdError) + Send + 'static,
) {
    loop {
        let res = run_once(&cmdline, &env, &stop).await;
        if stop.is_cancelled() {
            return;
        }
        match res {
            Err(err) => on_exit(err),
            Ok(()) if restart => on_exit(CmdError::ExitedOk),
            Ok(()) => {}
        }
        if !restart {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(RESTART_PAUSE) => {}
            () = stop.cancelled() => return,
        }
    }
}

async fn run_once(
    cmdline: &str,
    env: &Environment,
    stop: &CancellationToken,
) -> Result<(), CmdError> {
    let args: Vec<String> = split_command(cmdline)?
        .iter()
        .map(|a| expand_env(a, env))
        .collect();
    let (program, rest) = args.split_first().ok_or(CmdError::Empty)?;
    let mut child = Command::new(program)
        .args(rest)
        .envs(env)
        .process_group(0)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| CmdError::Spawn(e.to_string()))?;
    tokio::select! {
        status = child.wait() => exit_result(status),
        () = stop.cancelled() => {
            terminate(&mut child).await;
            Ok(())
        }
    }
}

fn exit_result(status: std::io::Result<ExitStatus>) -> Result<(), CmdError> {
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(CmdError::Exited(s.code().unwrap_or(-1))),
        Err(e) => Err(CmdError::Spawn(e.to_string())),
    }
}

/// SIGINT to the whole process group, then SIGKILL if it is still there after the grace.
async fn terminate(child: &mut Child) {
    let Some(pid) = child.id() else {
        return;
    };
    signal_group(pid, libc::SIGINT);
    if tokio::time::timeout(KILL_GRACE, child.wait())
        .await
        .is_err()
    {
        tracing::warn!("command did not exit after SIGINT, killing it");
        signal_group(pid, libc::SIGKILL);
        let _ = child.wait().await;
    }
}

fn signal_group(pid: u32, sig: i32) {
    if let Err(e) = ferromtx_net::sys::signal_group(pid, sig) {
        tracing::debug!(pid, sig, "kill failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_handles_quotes_and_escapes() {
        assert_eq!(
            split_command(r#"ffmpeg -i "rtsp://a b" -f 'x y' a\ b "q\"z" ''"#).unwrap(),
            vec!["ffmpeg", "-i", "rtsp://a b", "-f", "x y", "a b", "q\"z", ""]
        );
        assert_eq!(split_command("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_command("a 'b"), Err(CmdError::UnterminatedQuote));
        assert_eq!(split_command("a \\"), Err(CmdError::UnterminatedEscape));
    }

    #[test]
    fn expand_uses_given_env_then_process_env() {
        let mut env = Environment::new();
        env.insert("MTX_PATH".into(), "cam1".into());
        assert_eq!(expand_env("/tmp/$MTX_PATH.txt", &env), "/tmp/cam1.txt");
        assert_eq!(expand_env("${MTX_PATH}x", &env), "cam1x");
        assert_eq!(expand_env("$NOPE_NOT_SET_X-", &env), "-");
        assert_eq!(expand_env("cost $ 5", &env), "cost $ 5");
    }

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(query_escape("a=1&b=x y/z"), "a%3D1%26b%3Dx+y%2Fz");
        assert_eq!(query_escape(""), "");
    }
}

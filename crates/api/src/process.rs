//! Process statistics read from `/proc` (Linux).
//!
//! The parsers are pure functions over the text of the `/proc` files so they can be
//! tested on fixed input; [`stats`] and [`threads`] do the reading.

use std::fs;
use std::io;
use std::path::Path;

/// Resource usage of the current process, as Prometheus' `process_*` metrics report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// Resident set size.
    pub rss_bytes: u64,
    /// Virtual memory size.
    pub virtual_bytes: u64,
    /// User plus system CPU time consumed since the process started.
    pub cpu_seconds: f64,
    /// Number of open file descriptors.
    pub open_fds: u64,
    /// Soft limit on open file descriptors (`RLIMIT_NOFILE`).
    pub max_fds: u64,
    /// Process start time, seconds since the Unix epoch.
    pub start_time_seconds: f64,
    /// Number of OS threads.
    pub threads: u64,
}

/// One OS thread of the current process, from `/proc/self/task/<tid>/stat`.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadStats {
    pub tid: u32,
    /// Thread name (`comm`, at most 15 bytes on Linux).
    pub name: String,
    /// Scheduler state letter (`R` running, `S` sleeping, `D` disk wait, ...).
    pub state: char,
    /// User plus system CPU time consumed by this thread.
    pub cpu_seconds: f64,
}

/// Fields of a `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatLine {
    pub(crate) pid: u32,
    pub(crate) comm: String,
    pub(crate) state: char,
    /// User time, in clock ticks.
    pub(crate) utime: u64,
    /// System time, in clock ticks.
    pub(crate) stime: u64,
    pub(crate) num_threads: u64,
    /// Start time after system boot, in clock ticks.
    pub(crate) starttime: u64,
    /// Virtual memory size, in bytes.
    pub(crate) vsize: u64,
    /// Resident set size, in pages.
    pub(crate) rss_pages: u64,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Parses a `stat` line (see proc(5)). The command name sits between the first `(`
/// and the last `)` and may itself contain spaces and parentheses.
pub(crate) fn parse_stat(text: &str) -> io::Result<StatLine> {
    let open = text
        .find('(')
        .ok_or_else(|| invalid("stat: no '(' before the command name".into()))?;
    let close = text
        .rfind(')')
        .filter(|&c| c > open)
        .ok_or_else(|| invalid("stat: no ')' after the command name".into()))?;
    let pid = text[..open]
        .trim()
        .parse::<u32>()
        .map_err(|e| invalid(format!("stat: bad pid: {e}")))?;
    let comm = text[open + 1..close].to_string();
    // Fields after the command name; `rest[0]` is field 3 (state) in proc(5) numbering.
    let rest: Vec<&str> = text[close + 1..].split_ascii_whitespace().collect();
    let field = |n: usize| -> io::Result<&str> {
        rest.get(n - 3)
            .copied()
            .ok_or_else(|| invalid(format!("stat: missing field {n}")))
    };
    let number = |n: usize| -> io::Result<u64> {
        let raw = field(n)?;
        raw.parse::<u64>()
            .map_err(|e| invalid(format!("stat: field {n} {raw:?}: {e}")))
    };
    let state = field(3)?
        .chars()
        .next()
        .ok_or_else(|| invalid("stat: empty state".into()))?;
    Ok(StatLine {
        pid,
        comm,
        state,
        utime: number(14)?,
        stime: number(15)?,
        num_threads: number(20)?,
        starttime: number(22)?,
        vsize: number(23)?,
        rss_pages: number(24)?,
    })
}

/// Extracts the boot time (`btime`, seconds since the epoch) from `/proc/stat`.
pub(crate) fn parse_boot_time(proc_stat: &str) -> io::Result<u64> {
    proc_stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))
        .ok_or_else(|| invalid("/proc/stat: no btime line".into()))?
        .trim()
        .parse::<u64>()
        .map_err(|e| invalid(format!("/proc/stat: bad btime: {e}")))
}

fn clock_ticks_per_second() -> io::Result<u64> {
    ferromtx_net::sys::clock_ticks_per_second()
}

fn page_size() -> io::Result<u64> {
    ferromtx_net::sys::page_size()
}

fn max_open_files() -> io::Result<u64> {
    ferromtx_net::sys::max_open_files()
}

fn count_dir_entries(dir: &Path) -> io::Result<u64> {
    let mut count = 0;
    for entry in fs::read_dir(dir)? {
        entry?;
        count += 1;
    }
    Ok(count)
}

/// Reads the current process' statistics from `/proc/self`.
pub fn stats() -> io::Result<ProcessStats> {
    let stat = parse_stat(&fs::read_to_string("/proc/self/stat")?)?;
    let boot_time = parse_boot_time(&fs::read_to_string("/proc/stat")?)?;
    let ticks = clock_ticks_per_second()? as f64;
    Ok(ProcessStats {
        rss_bytes: stat.rss_pages.saturating_mul(page_size()?),
        virtual_bytes: stat.vsize,
        cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
        open_fds: count_dir_entries(Path::new("/proc/self/fd"))?,
        max_fds: max_open_files()?,
        start_time_seconds: boot_time as f64 + stat.starttime as f64 / ticks,
        threads: stat.num_threads,
    })
}

/// Lists the OS threads of the current process, ordered by thread id.
///
/// A thread that exits while the list is read is left out.
pub fn threads() -> io::Result<Vec<ThreadStats>> {
    let ticks = clock_ticks_per_second()? as f64;
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc/self/task")? {
        let path = entry?.path().join("stat");
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let stat = parse_stat(&text)?;
        out.push(ThreadStats {
            tid: stat.pid,
            name: stat.comm,
            state: stat.state,
            cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
        });
    }
    out.sort_by_key(|t| t.tid);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real line from a Linux 6.x kernel, with a command name holding ") (".
    const STAT: &str = "4242 (tokio) (rt) S 1 4242 4242 0 -1 4194560 2714 0 0 0 \
        150 25 0 0 20 0 7 0 123456 104857600 2048 18446744073709551615 1 1 0 0 0 0 0 \
        4096 17638 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn parse_stat_reads_fields_after_command_with_parens() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.comm, "tokio) (rt");
        assert_eq!(s.state, 'S');
        assert_eq!(s.utime, 150);
        assert_eq!(s.stime, 25);
        assert_eq!(s.num_threads, 7);
        assert_eq!(s.starttime, 123456);
        assert_eq!(s.vsize, 104_857_600);
        assert_eq!(s.rss_pages, 2048);
    }

    #[test]
    fn parse_stat_rejects_truncated_and_garbage_lines() {
        assert!(parse_stat("").is_err());
        assert!(parse_stat("12 (x) S 1 2 3").is_err());
        assert!(parse_stat("12 x S").is_err());
        assert!(
            parse_stat("abc (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22")
                .is_err()
        );
        let bad_number = STAT.replace(" 150 25 ", " 150 -5 ");
        assert!(parse_stat(&bad_number).is_err());
    }

    #[test]
    fn parse_boot_time_finds_btime() {
        let text = "cpu  1 2 3 4\nintr 5\nctxt 6\nbtime 1764000000\nprocesses 7\n";
        assert_eq!(parse_boot_time(text).unwrap(), 1_764_000_000);
        assert!(parse_boot_time("cpu 1 2\n").is_err());
        assert!(parse_boot_time("btime soon\n").is_err());
    }

    #[test]
    fn stats_of_this_process_are_plausible() {
        let before = stats().unwrap();
        // Burn a little CPU and open one more descriptor so the values must move.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let file = fs::File::open("/proc/self/stat").unwrap();
        let after = stats().unwrap();
        drop(file);

        assert!(after.rss_bytes > 0);
        assert!(after.virtual_bytes >= after.rss_bytes);
        assert!(after.cpu_seconds >= before.cpu_seconds);
        // stdout, stderr, `file` and the directory handle used to count.
        assert!(after.open_fds >= 4);
        assert!(after.max_fds >= after.open_fds);
        assert!(after.threads >= 1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        // Started in the past, and not before 2020.
        assert!(after.start_time_seconds <= now + 1.0);
        assert!(after.start_time_seconds > 1_577_836_800.0);
    }

    #[test]
    fn threads_lists_a_named_spawned_thread() {
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("proc-test-thr".into())
            .spawn(move || {
                ready_tx.send(()).unwrap();
                let _ = stop_rx.recv_timeout(std::time::Duration::from_secs(30));
            })
            .unwrap();
        ready_rx.recv().unwrap();
        let list = threads().unwrap();
        stop_tx.send(()).unwrap();
        handle.join().unwrap();

        assert!(list.iter().any(|t| t.name == "proc-test-thr"));
        assert!(list.windows(2).all(|w| w[0].tid < w[1].tid));
        assert!(list.iter().all(|t| t.cpu_seconds >= 0.0));
    }
}

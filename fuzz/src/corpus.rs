//! Running a target on stable: every file of its checked-in corpus and regressions, then a
//! bounded number of deterministic mutations of them, each input under `catch_unwind`.

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::mutate::{Rng, mutate};

/// How much mutation a check does after the files: at most `mutants` inputs and, whichever
/// comes first, about `time` of running them (a bound on work, not an assertion).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub mutants: usize,
    pub time: Duration,
}

/// What a passing check ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub files: usize,
    pub mutants: usize,
}

/// The input a target panicked on.
#[derive(Debug)]
pub struct Failure {
    /// The corpus file, or `mutant N of FILE`.
    pub origin: String,
    pub input: Vec<u8>,
    pub message: String,
}

impl Failure {
    /// The input written to `dir/<target>-crash-<n>`, and a message naming it and giving
    /// the input in hex, for `fuzz/regressions/<target>/`.
    pub fn report(&self, target: &str, dir: &Path) -> String {
        let path = dir.join(format!("{target}-crash-{:016x}", fnv(&self.input)));
        let saved = match std::fs::write(&path, &self.input) {
            Ok(()) => format!("saved to {}", path.display()),
            Err(e) => format!("not saved ({e})"),
        };
        let mut hex = String::new();
        for b in self.input.iter().take(4096) {
            let _ = write!(hex, "{b:02x}");
        }
        format!(
            "{target} panicked on {} ({} bytes, {saved}): {}\ninput (hex): {hex}",
            self.origin,
            self.input.len(),
            self.message
        )
    }
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The files of these directories (missing ones are empty), sorted by path, with contents.
pub fn files(dirs: &[PathBuf]) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut paths = Vec::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_file() {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| std::fs::read(&p).map(|data| (p, data)))
        .collect()
}

/// Runs `target` on one input; the panic's message if it panics.
pub fn run_one(target: fn(&[u8]), input: &[u8]) -> Result<(), String> {
    panic::catch_unwind(AssertUnwindSafe(|| target(input))).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "non-string panic".to_owned())
    })
}

/// Every file, then mutants of them (seeded by `name`) within `budget`; the first input
/// that panics.
pub fn check(
    name: &str,
    target: fn(&[u8]),
    files: &[(PathBuf, Vec<u8>)],
    budget: Budget,
) -> Result<Ran, Failure> {
    for (path, data) in files {
        run_one(target, data).map_err(|message| Failure {
            origin: path.display().to_string(),
            input: data.clone(),
            message,
        })?;
    }
    let mut ran = Ran {
        files: files.len(),
        mutants: 0,
    };
    if files.is_empty() {
        return Ok(ran);
    }
    let mut rng = Rng::from_name(name);
    let start = Instant::now();
    while ran.mutants < budget.mutants && start.elapsed() < budget.time {
        let (path, base) = &files[ran.mutants % files.len()];
        let other = &files[rng.below(files.len())].1;
        let input = mutate(&mut rng, base, other);
        run_one(target, &input).map_err(|message| Failure {
            origin: format!("mutant {} of {}", ran.mutants, path.display()),
            input,
            message,
        })?;
        ran.mutants += 1;
    }
    Ok(ran)
}

/// `main` of a target's binary without cargo-fuzz: runs every file named, or in a directory
/// named, and fails if any panics.
pub fn replay_main(target: fn(&[u8])) -> std::process::ExitCode {
    let dirs_or_files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if dirs_or_files.is_empty() {
        eprintln!("usage: TARGET FILE|DIR... (replays inputs; cargo-fuzz builds fuzz it)");
        return std::process::ExitCode::from(2);
    }
    let mut failed = 0;
    for arg in dirs_or_files {
        let loaded = if arg.is_dir() {
            files(std::slice::from_ref(&arg))
        } else {
            std::fs::read(&arg).map(|data| vec![(arg.clone(), data)])
        };
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(e) => {
                eprintln!("{}: {e}", arg.display());
                failed += 1;
                continue;
            }
        };
        for (path, data) in loaded {
            match run_one(target, &data) {
                Ok(()) => eprintln!("{}: ok", path.display()),
                Err(message) => {
                    eprintln!("{}: PANIC {message}", path.display());
                    failed += 1;
                }
            }
        }
    }
    if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panics_on_zero_byte(data: &[u8]) {
        assert!(!data.contains(&0), "a zero byte");
    }

    #[test]
    fn a_mutant_that_panics_is_reported_with_its_origin() {
        let files = vec![(PathBuf::from("seed"), b"abcdef".to_vec())];
        let budget = Budget {
            mutants: 10_000,
            time: Duration::from_secs(60),
        };
        let failure = check("t", panics_on_zero_byte, &files, budget).expect_err("found");
        assert!(failure.input.contains(&0));
        assert!(failure.origin.starts_with("mutant "), "{}", failure.origin);
        assert!(failure.message.contains("a zero byte"));
        let dir = std::env::temp_dir();
        let report = failure.report("t", &dir);
        assert!(report.contains("input (hex): "), "{report}");
    }

    #[test]
    fn a_file_that_panics_fails_before_mutation_and_passing_ones_run_the_budget() {
        let bad = vec![(PathBuf::from("bad"), vec![1, 0, 2])];
        let budget = Budget {
            mutants: 25,
            time: Duration::from_secs(60),
        };
        let failure = check("t", panics_on_zero_byte, &bad, budget).expect_err("the file");
        assert_eq!(failure.origin, "bad");
        let good = vec![(PathBuf::from("good"), vec![1, 2])];
        let ran = check("t", |_| {}, &good, budget).expect("nothing panics");
        assert_eq!(
            ran,
            Ran {
                files: 1,
                mutants: 25
            }
        );
    }
}

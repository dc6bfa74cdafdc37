//! `ferromtx-bench`: WHEP / RTSP load, the post-deploy check, charts and tables.
#![allow(clippy::print_stdout)]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferromtx_bench::check::{self, CheckOptions};
use ferromtx_bench::load::{self, LoadOptions, LoadResult};
use ferromtx_bench::report::{self, Report};
use ferromtx_bench::rtsp::{self as rtsp_reader, RtspOptions};
use ferromtx_bench::webrtc::{self, Viewers, WebrtcOptions};
use ferromtx_bench::{chart, hls, soak, whep};
use ferromtx_rtsp::transport::Lower;

#[derive(Parser)]
#[command(
    name = "ferromtx-bench",
    version,
    about = "Load generator and benchmark report for WHEP and RTSP servers"
)]
struct Cli {
    /// Runtime worker threads (default: one per core).
    #[arg(long, global = true)]
    workers: Option<usize>,
    /// Debug logs on stderr.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// N WHEP viewers.
    Webrtc {
        #[command(flatten)]
        load: LoadArgs,
        /// Offer no NACK feedback and no RTX for video.
        #[arg(long)]
        no_nack: bool,
        /// Offer no PLI / FIR feedback for video.
        #[arg(long)]
        no_pli: bool,
    },
    /// N Low-Latency HLS readers (blocking playlist reloads, every part fetched).
    Hls {
        #[command(flatten)]
        load: LoadArgs,
    },
    /// N RTSP readers.
    Rtsp {
        #[command(flatten)]
        load: LoadArgs,
        #[arg(long, value_enum, default_value = "tcp")]
        transport: TransportArg,
    },
    /// Post-deploy check: viewers, pprof profiles, memory; PASS/FAIL lines, exit code.
    Check(CheckArgs),
    /// Hostile input and churn against a running server: one PASS/FAIL line per test.
    Soak(SoakArgs),
    /// A PNG chart (server RSS and CPU against viewers) of JSON reports.
    Plot {
        #[arg(long)]
        out: PathBuf,
        files: Vec<PathBuf>,
    },
    /// A markdown table of JSON reports; with --compare, two labels side by side; with
    /// --targets, the performance budget met or missed.
    Table {
        #[arg(long, num_args = 2, value_names = ["BASE", "OTHER"])]
        compare: Option<Vec<String>>,
        #[arg(long, conflicts_with = "compare")]
        targets: bool,
        files: Vec<PathBuf>,
    },
}

#[derive(Args)]
struct LoadArgs {
    /// WHEP endpoint (http://HOST:8889/PATH/whep), RTSP URL (rtsp://HOST:8554/PATH) or HLS
    /// playlist (http://HOST:8888/PATH/index.m3u8).
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 1)]
    readers: usize,
    /// Time all readers are held after the ramp-up (30s, 500ms, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Readers started per second.
    #[arg(long, default_value_t = 50.0)]
    ramp_rate: f64,
    /// Sample this process's RSS and CPU after the ramp-up.
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Names the run in reports (e.g. the server measured).
    #[arg(long)]
    label: Option<String>,
    /// Local address of the readers' UDP sockets.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Receive buffer of each reader's UDP socket, bytes (0: the system default).
    #[arg(long, default_value_t = ferromtx_bench::udp::DEFAULT_RECV_BUFFER)]
    recv_buffer: usize,
}

#[derive(Args)]
struct CheckArgs {
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 64)]
    readers: usize,
    #[arg(long, default_value_t = 50.0)]
    ramp_rate: f64,
    /// pprof listener, e.g. http://127.0.0.1:9999.
    #[arg(long)]
    pprof: String,
    #[arg(long, default_value_t = 64.0)]
    max_rss_mb: f64,
    /// Percent.
    #[arg(long, default_value_t = 0.5)]
    max_loss: f64,
    #[arg(long, conflicts_with = "metrics")]
    server_pid: Option<u32>,
    /// Metrics listener, e.g. http://127.0.0.1:9998 (RSS from process_resident_memory_bytes).
    #[arg(long)]
    metrics: Option<String>,
    /// Length of the CPU profile, seconds.
    #[arg(long, default_value_t = 10)]
    cpu_seconds: u64,
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Each viewer drops 1 in N video packets before its WebRTC stack sees them, so the
    /// server's NACK handling runs while it is profiled (0: drop nothing).
    #[arg(long, default_value_t = 50)]
    drop_every: u32,
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct SoakArgs {
    /// Tests to run, in order (default: all of them).
    #[arg(long = "test", value_name = "NAME")]
    tests: Vec<String>,
    /// Print the names of the tests and exit.
    #[arg(long)]
    list: bool,
    /// The short forms (seconds each), as the test command runs them.
    #[arg(long)]
    short: bool,
    /// Override the number of viewers during hostile tests.
    #[arg(long)]
    viewers: Option<usize>,
    /// Override the number of WHEP and of RTSP sessions of the churn tests.
    #[arg(long)]
    sessions: Option<usize>,
    #[arg(long, required_unless_present = "list")]
    server_pid: Option<u32>,
    /// rtspAddress, e.g. 127.0.0.1:8554.
    #[arg(long, required_unless_present = "list")]
    rtsp: Option<SocketAddr>,
    /// webrtcAddress (WHEP/WHIP HTTP).
    #[arg(long, required_unless_present = "list")]
    webrtc: Option<SocketAddr>,
    /// webrtcLocalUDPAddress (ICE).
    #[arg(long, required_unless_present = "list")]
    ice: Option<SocketAddr>,
    #[arg(long, required_unless_present = "list")]
    api: Option<SocketAddr>,
    #[arg(long, required_unless_present = "list")]
    metrics: Option<SocketAddr>,
    #[arg(long, required_unless_present = "list")]
    pprof: Option<SocketAddr>,
    /// The published path viewers play (on-demand paths `ondemand-N` must pull it).
    #[arg(long, default_value = "bench")]
    path: String,
    /// The server's readTimeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    read_timeout: Duration,
}

#[derive(Clone, Copy, ValueEnum)]
enum TransportArg {
    Tcp,
    Udp,
}

/// `30s`, `500ms`, `2m`, `1h`, or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("invalid duration '{s}'"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("invalid duration unit in '{s}'")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration '{s}'"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn load_options(a: &LoadArgs) -> LoadOptions {
    LoadOptions {
        readers: a.readers,
        ramp_rate: a.ramp_rate,
        duration: a.duration,
        server_pid: a.server_pid,
        ..Default::default()
    }
}

fn report_of(a: &LoadArgs, protocol: &str, mode: &str, result: LoadResult) -> Report {
    let mut r = Report {
        label: a.label.clone(),
        protocol: protocol.into(),
        url: a.url.clone(),
        mode: mode.into(),
        readers: a.readers,
        ramp_rate: a.ramp_rate,
        duration_s: result.held.as_secs_f64(),
        started_at: chrono::Utc::now().timestamp() - result.held.as_secs() as i64,
        server: result.server,
        server_pid: a.server_pid,
        bench: result.bench,
        viewers: result.viewers,
        ..Default::default()
    };
    r.summarize();
    r
}

fn write_file(path: &PathBuf, contents: &str) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn output(a: &LoadArgs, r: &Report) -> Result<(), String> {
    println!("{}", r.summary_line());
    for e in r.errors.iter().take(5) {
        println!("  error: {e}");
    }
    if let Some(p) = &a.json {
        let json = serde_json::to_string_pretty(r).map_err(|e| e.to_string())?;
        write_file(p, &json)?;
    }
    if let Some(p) = &a.markdown {
        write_file(p, &report::markdown_table(std::slice::from_ref(r)))?;
    }
    Ok(())
}

fn read_reports(files: &[PathBuf]) -> Result<Vec<Report>, String> {
    files
        .iter()
        .map(|f| {
            let text =
                std::fs::read_to_string(f).map_err(|e| format!("reading {}: {e}", f.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))
        })
        .collect()
}

async fn run(command: Command) -> Result<bool, String> {
    match command {
        Command::Webrtc {
            load,
            no_nack,
            no_pli,
        } => {
            let url = whep::endpoint(&load.url).map_err(|e| e.to_string())?;
            let opts = WebrtcOptions {
                nack: !no_nack,
                pli: !no_pli,
                bind: load.bind,
                recv_buffer: load.recv_buffer,
                ..WebrtcOptions::new(url)
            };
            let viewers = Arc::new(Viewers::new(opts).map_err(|e| e.to_string())?);
            let result = load::run(&load_options(&load), |id, stop, progress| {
                webrtc::viewer(id, Arc::clone(&viewers), stop, progress)
            })
            .await;
            let mode = if no_nack { "no-nack" } else { "nack" };
            let r = report_of(&load, "webrtc", mode, result);
            output(&load, &r)?;
            Ok(r.connected == r.readers)
        }
        Command::Hls { load } => {
            let opts = Arc::new(hls::HlsOptions::new(&load.url)?);
            let result = load::run(&load_options(&load), |id, stop, progress| {
                hls::reader(id, Arc::clone(&opts), stop, progress)
            })
            .await;
            let r = report_of(&load, "hls", "ll-hls", result);
            output(&load, &r)?;
            Ok(r.connected == r.readers)
        }
        Command::Rtsp { load, transport } => {
            let (lower, mode) = match transport {
                TransportArg::Tcp => (Lower::Tcp, "tcp"),
                TransportArg::Udp => (Lower::Udp, "udp"),
            };
            let mut opts = RtspOptions::new(&load.url, lower).map_err(|e| e.to_string())?;
            opts.bind = load.bind;
            opts.recv_buffer = load.recv_buffer;
            let opts = Arc::new(opts);
            let result = load::run(&load_options(&load), |id, stop, progress| {
                rtsp_reader::reader(id, Arc::clone(&opts), stop, progress)
            })
            .await;
            let r = report_of(&load, "rtsp", mode, result);
            output(&load, &r)?;
            Ok(r.connected == r.readers)
        }
        Command::Check(a) => {
            let url = whep::endpoint(&a.url).map_err(|e| e.to_string())?;
            let parse = |u: &str| reqwest::Url::parse(u).map_err(|e| format!("'{u}': {e}"));
            let opts = CheckOptions {
                webrtc: WebrtcOptions {
                    bind: a.bind,
                    drop_every: a.drop_every,
                    ..WebrtcOptions::new(url)
                },
                readers: a.readers,
                ramp_rate: a.ramp_rate,
                pprof: parse(&a.pprof)?,
                max_rss_mb: a.max_rss_mb,
                max_loss: a.max_loss,
                server_pid: a.server_pid,
                metrics: a.metrics.as_deref().map(parse).transpose()?,
                cpu_seconds: a.cpu_seconds,
                top: 10,
            };
            let outcome = check::run(opts).await.map_err(|e| e.to_string())?;
            println!("{}", outcome.report.summary_line());
            println!("top CPU entries (flat samples):");
            for e in outcome.top_cpu.iter().take(10) {
                println!("  {:6.2} %  {}", e.flat_percent, e.function);
            }
            match outcome.heap_inuse_bytes {
                Some(b) => println!("heap in use: {:.1} MB", b as f64 / 1024.0 / 1024.0),
                None => println!("heap in use: unknown"),
            }
            for v in &outcome.verdicts {
                println!("{}", v.line());
            }
            if let Some(p) = &a.json {
                let json =
                    serde_json::to_string_pretty(&outcome.report).map_err(|e| e.to_string())?;
                write_file(p, &json)?;
            }
            Ok(outcome.passed())
        }
        Command::Soak(a) => {
            if a.list {
                for t in soak::TESTS {
                    println!("{t}");
                }
                return Ok(true);
            }
            let missing = |what: &str| format!("soak: --{what} is required");
            let target = soak::Target {
                pid: a.server_pid.ok_or_else(|| missing("server-pid"))?,
                rtsp: a.rtsp.ok_or_else(|| missing("rtsp"))?,
                webrtc: a.webrtc.ok_or_else(|| missing("webrtc"))?,
                ice: a.ice.ok_or_else(|| missing("ice"))?,
                api: a.api.ok_or_else(|| missing("api"))?,
                metrics: a.metrics.ok_or_else(|| missing("metrics"))?,
                pprof: a.pprof.ok_or_else(|| missing("pprof"))?,
                path: a.path,
                read_timeout: a.read_timeout,
            };
            let mut scale = if a.short {
                soak::Scale::short()
            } else {
                soak::Scale::full()
            };
            if let Some(v) = a.viewers {
                scale.viewers = v;
            }
            if let Some(n) = a.sessions {
                scale.whep_sessions = n;
                scale.rtsp_sessions = n;
            }
            let tests: Vec<String> = if a.tests.is_empty() {
                soak::TESTS.iter().map(|t| t.to_string()).collect()
            } else {
                a.tests
            };
            let mut all = true;
            for t in &tests {
                let outcome = soak::run(t, &target, &scale).await?;
                println!("{}", outcome.line());
                all &= outcome.passed();
            }
            Ok(all)
        }
        Command::Plot { out, files } => {
            let reports = read_reports(&files)?;
            chart::write_png(&reports, &out).map_err(|e| e.to_string())?;
            Ok(true)
        }
        Command::Table {
            compare,
            targets,
            files,
        } => {
            let mut reports = read_reports(&files)?;
            report::sort(&mut reports);
            match compare.as_deref() {
                Some([base, other]) => {
                    print!("{}", report::comparison_table(&reports, base, other))
                }
                _ if targets => print!("{}", report::target_lines(&reports)),
                _ => print!("{}", report::markdown_table(&reports)),
            }
            Ok(true)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if cli.verbose {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("ferromtx_bench", level)
        .with_default(tracing::Level::WARN);
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .init();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(w) = cli.workers {
        rt.worker_threads(w.max(1));
    }
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferromtx-bench: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ferromtx-bench: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn the_cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "ferromtx-bench",
            "webrtc",
            "--url",
            "http://127.0.0.1:8889/bench/whep",
            "--readers",
            "64",
            "--duration",
            "15s",
            "--no-nack",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Webrtc { no_nack: true, .. }));
        assert!(
            Cli::try_parse_from([
                "ferromtx-bench",
                "check",
                "--url",
                "http://h/p/whep",
                "--pprof",
                "http://h:9999",
                "--server-pid",
                "1",
                "--metrics",
                "http://h:9998"
            ])
            .is_err(),
            "--server-pid and --metrics exclude each other"
        );
    }
}

//! ferromtx: a real-time media server, drop-in replacement for MediaMTX.

mod app;
mod backend;
mod cli;
mod http;
mod listen;
mod logger;
mod rtsp;
mod version;
mod watcher;
mod webrtc;

/// The build script's choice of commit, unit-tested against real repositories.
#[cfg(test)]
#[path = "../build/commit.rs"]
mod build_commit;

use std::process::ExitCode;

/// jemalloc, so `/debug/pprof/heap` can profile the heap.
#[global_allocator]
static GLOBAL: ferromtx_api::pprof::Jemalloc = ferromtx_api::pprof::Jemalloc;

/// Read by jemalloc at start-up: heap profiling on, one sample per 512 KiB on average
/// (Go's default rate), cheap enough to leave on. `MALLOC_CONF` in the environment wins.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "malloc_conf")]
pub static malloc_conf: &[u8; 45] = b"prof:true,prof_active:true,lg_prof_sample:19\0";

use cli::Command;

#[allow(clippy::print_stdout)] // the command line answers on stdout, like MediaMTX
fn main() -> ExitCode {
    let cmd = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            println!("ERR: {e}\n\n{}", cli::help());
            return ExitCode::from(1);
        }
    };
    let conf_path = match cmd {
        Command::Version => {
            println!("ferromtx {}", version::long());
            return ExitCode::SUCCESS;
        }
        Command::Help => {
            print!("{}", cli::help());
            return ExitCode::SUCCESS;
        }
        Command::Run { conf_path } => conf_path,
    };

    // Errors before the logger exists are printed as MediaMTX does: one `ERR: ` line.
    let loaded = match ferromtx_conf::load(conf_path.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            println!("ERR: {e}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            println!("ERR: unable to start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(app::run(loaded)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("ERR: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn malloc_conf_is_the_api_crate_setting() {
        let expected = format!("{}\0", ferromtx_api::pprof::MALLOC_CONF);
        assert_eq!(&super::malloc_conf[..], expected.as_bytes());
    }
}

//! ferromtx: a real-time media server, drop-in replacement for MediaMTX.
#![forbid(unsafe_code)]

mod app;
mod backend;
mod cli;
mod logger;
mod version;
mod watcher;

/// The build script's choice of commit, unit-tested against real repositories.
#[cfg(test)]
#[path = "../build/commit.rs"]
mod build_commit;

use std::process::ExitCode;

/// jemalloc, so `/debug/pprof/heap` can profile the heap; it starts with heap profiling
/// on ([`ferromtx_net::sys::MALLOC_CONF`]).
#[global_allocator]
static GLOBAL: ferromtx_api::pprof::Jemalloc = ferromtx_api::pprof::Jemalloc;

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

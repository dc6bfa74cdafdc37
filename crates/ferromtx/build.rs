//! Build information for `--version`, the startup log line and `/v3/info`: the git commit
//! (see `build/commit.rs`) as `FERROMTX_COMMIT` and the target triple as `FERROMTX_TARGET`.

#![allow(clippy::print_stdout)] // cargo reads a build script's instructions on stdout

#[path = "build/commit.rs"]
mod commit;

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/commit.rs");
    println!("cargo:rerun-if-env-changed={}", commit::ENV);

    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let checkout = commit::from_git(&dir);
    if let Some(c) = &checkout {
        for f in &c.watch {
            println!("cargo:rerun-if-changed={}", f.display());
        }
    }
    let env = std::env::var(commit::ENV).ok();
    let (hash, origin) = commit::choose(checkout.as_ref(), env.as_deref());
    if let commit::Origin::Unknown(why) = origin {
        println!("cargo:warning=ferromtx: commit reported as '{hash}': {why}");
    }
    println!("cargo:rustc-env=FERROMTX_COMMIT={hash}");

    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=FERROMTX_TARGET={target}");
}

//! What the tests of several crates share (dev-only, never shipped): loopback ports the
//! test picks, external tools found on PATH with the CI rule (missing under `CI=true` is a
//! failure, elsewhere a skip), the server binary run as a process with its output lines,
//! and ffmpeg publishers of synthetic streams. The counting allocator of the memory tests
//! is [`CountingAlloc`].
#![forbid(unsafe_code)]

pub mod compat;
pub mod ffmpeg;
pub mod peers;
pub mod ports;
pub mod process;
pub mod tools;

pub use ferromtx_net::sys::CountingAlloc;
pub use ports::{free_tcp_port, free_udp_pair, free_udp_pairs, free_udp_port};
pub use process::{Process, body, server_binary};
pub use tools::{in_ci, require, tool};

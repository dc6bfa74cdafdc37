//! `ferromtx-bench`: a load generator for media servers and the report of a benchmark.
//!
//! Many WHEP viewers ([`webrtc`]), RTSP readers ([`rtsp`]) or LL-HLS readers ([`hls`]) in
//! one process, each counting
//! what it receives ([`reception`]: loss, duplicates, late packets, jitter; [`keyframe`]:
//! first keyframe), ramped up and held by [`load`] while [`process`] samples the server's
//! memory and CPU, and [`udp`] counts what the kernel dropped on the readers' sockets.
//! [`report`] renders the results, [`chart`] draws them, [`check`] is the
//! post-deploy verdict with the server's [`pprof`] profiles.
//!
//! Nothing here decodes media: the viewers must cost far less than the server they load.

pub mod chart;
pub mod check;
pub mod glyphs;
pub mod hls;
pub mod http1;
pub mod keyframe;
pub mod load;
pub mod pprof;
pub mod process;
pub mod reception;
pub mod report;
pub mod rtsp;
pub mod soak;
pub mod udp;
pub mod webrtc;
pub mod whep;

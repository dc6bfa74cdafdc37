//! Every fuzz target on stable, briefly: each file of `corpus/<target>/` and
//! `regressions/<target>/`, then deterministic mutations of them (at most `MUTANTS`, or
//! about `SECONDS` of them, per target). One test per target, so a failure names it; the
//! panicking input is written under the target dir and given in hex.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferromtx_fuzz::corpus::{Budget, check, files};
use ferromtx_fuzz::targets;

const MUTANTS: usize = 3000;
const SECONDS: f64 = 1.5;

fn dirs(name: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![
        root.join("corpus").join(name),
        root.join("regressions").join(name),
    ]
}

fn run(name: &str, target: fn(&[u8])) {
    let inputs = files(&dirs(name)).expect("corpus readable");
    assert!(!inputs.is_empty(), "no corpus in fuzz/corpus/{name}/");
    let budget = Budget {
        mutants: MUTANTS,
        time: Duration::from_secs_f64(SECONDS),
    };
    if let Err(failure) = check(name, target, &inputs, budget) {
        panic!(
            "{}",
            failure.report(name, Path::new(env!("CARGO_TARGET_TMPDIR")))
        );
    }
}

macro_rules! corpus_tests {
    ($($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name), targets::$name::run);
            }
        )*

        #[test]
        fn every_target_has_a_test_here() {
            let here = [$(stringify!($name)),*];
            let all: Vec<&str> = targets::ALL.iter().map(|(n, _)| *n).collect();
            assert_eq!(here.to_vec(), all);
        }
    };
}

corpus_tests! {
    aac_transcode,
    av1_depacketize,
    flv_tag,
    fmp4_read,
    h264_depacketize,
    h264_sps,
    h265_depacketize,
    hls_playlist,
    ice_tcp_framing,
    mpeg1audio_depacketize,
    mpeg4audio_depacketize,
    mpegts_demux,
    proxy_header,
    rtcp,
    rtmp_amf0,
    rtmp_chunk,
    rtmp_handshake,
    rtmp_publish,
    rtp_packet,
    rtsp_auth,
    rtsp_interleaved,
    rtsp_message,
    rtsp_sdp,
    rtsp_transport,
    srt_ingest,
    srt_packet,
    stun_route,
    vp8_depacketize,
    vp9_depacketize,
    webrtc_offer,
}

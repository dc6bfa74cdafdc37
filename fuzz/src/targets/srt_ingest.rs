//! What SRT and UDP publishers control: the stream id of a handshake, and the MPEG-TS they
//! send, through the demuxer into a stream (split at an input-chosen point, so parsing
//! resumes mid-packet), and the RTP source's SDP parser.

use std::sync::Arc;

use ferromtx_srt::mpegts_in::TsIngest;
use ferromtx_srt::stream_id::StreamId;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = StreamId::parse(s);
        let _ = ferromtx_srt::source::parse_sdp(s);
    }
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (a, b) = data.split_at(split);
    let mut ingest = TsIngest::new();
    for chunk in [a, b] {
        match ingest.push(chunk) {
            Ok(Some(tracks)) => {
                let stream = ferromtx_core::Stream::new("fuzz", tracks, 64);
                if ingest.start(Arc::clone(&stream)).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
    let _ = ingest.take_log_lines();
}

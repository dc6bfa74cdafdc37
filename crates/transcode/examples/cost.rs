//! CPU cost of one transcoded stream: transcodes an ADTS file (raw access units with its
//! AudioSpecificConfig, as publishers deliver them) `rounds` times and reports the thread's
//! CPU time per second of audio (the best round), and the memory of a live transcoder. `cargo run --release -p ferromtx-transcode --example cost -- FILE.aac [rounds]`
//! (make one with `ffmpeg -f lavfi -i sine=frequency=440:sample_rate=44100:duration=60 -ac 2
//! -c:a aac -f adts FILE.aac`).

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::frame::Frame;
use ferromtx_transcode::Transcoder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: cost FILE.aac [rounds]")?;
    let rounds: u32 = args.next().map_or(Ok(5), |r| r.parse())?;
    let data = std::fs::read(path)?;
    let (mut units, mut pos, mut config, mut rate) = (Vec::new(), 0, Bytes::new(), 0u32);
    while let Some(h) = data.get(pos..pos + 7) {
        let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        let index = (h[2] >> 2) & 0x0f;
        let bits = (u16::from((h[2] >> 6) + 1) << 11)
            | (u16::from(index) << 7)
            | (u16::from(((h[2] & 1) << 2) | (h[3] >> 6)) << 3);
        config = Bytes::copy_from_slice(&bits.to_be_bytes());
        rate = [
            96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000,
        ]
        .get(usize::from(index))
        .copied()
        .unwrap_or(8_000);
        let header = if h[1] & 1 == 1 { 7 } else { 9 };
        units.push(Bytes::copy_from_slice(
            data.get(pos + header..pos + len).ok_or("truncated")?,
        ));
        pos += len;
    }
    let format = Format::Mpeg4Audio {
        payload_type: 96,
        config,
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    };
    let seconds = units.len() as f64 * 1024.0 / f64::from(rate);
    let mut best = f64::MAX;
    let mut packets = 0;
    for _ in 0..rounds {
        let mut t = Transcoder::new(&format)?;
        let mut out = Vec::new();
        let start = ferromtx_net::sys::thread_cpu_time();
        for (i, u) in units.iter().enumerate() {
            let frame = Frame {
                rtp_timestamp: 0,
                random_access: true,
                parts: vec![u.clone()],
            };
            t.push(i as i64 * 1024, &frame, &mut out)?;
        }
        best = best.min((ferromtx_net::sys::thread_cpu_time() - start).as_secs_f64());
        packets = out.len();
    }
    // Memory: RSS growth over many live transcoders that have each run for a second.
    let rss = || -> Result<u64, Box<dyn std::error::Error>> {
        let statm = std::fs::read_to_string("/proc/self/statm")?;
        let pages: u64 = statm.split_whitespace().nth(1).ok_or("statm")?.parse()?;
        Ok(pages * 4096)
    };
    let before = rss()?;
    let mut live = Vec::new();
    for _ in 0..200 {
        let mut t = Transcoder::new(&format)?;
        let mut out = Vec::new();
        for (i, u) in units.iter().take(50).enumerate() {
            let frame = Frame {
                rtp_timestamp: 0,
                random_access: true,
                parts: vec![u.clone()],
            };
            t.push(i as i64 * 1024, &frame, &mut out)?;
        }
        live.push(t);
    }
    let per = rss()?.saturating_sub(before) / live.len() as u64;
    let line = format!(
        "{seconds:.1} s of audio ({rate} Hz, {} units, {packets} Opus packets): best of {rounds} {best:.3} s, {:.2} % of one core per stream; {} KB of memory per live transcoder\n",
        units.len(),
        best / seconds * 100.0,
        per / 1024
    );
    std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes())?;
    Ok(())
}

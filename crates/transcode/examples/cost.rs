//! CPU cost of one transcoded stream: transcodes an ADTS file (raw access units with its
//! AudioSpecificConfig) or an MP3 file (its frames in RFC 2250 payloads of up to 1400 bytes,
//! 90 kHz timestamps), as publishers deliver them, `rounds` times and reports the thread's
//! CPU time per second of audio (the best round), and the memory of a live transcoder.
//! `cargo run --release -p ferromtx-transcode --example cost -- FILE.aac|FILE.mp3 [rounds]`
//! (make one with `ffmpeg -f lavfi -i sine=frequency=440:sample_rate=44100:duration=60 -ac 2
//! -c:a aac -f adts FILE.aac`, or `-c:a libmp3lame -write_xing 0 -id3v2_version 0 FILE.mp3`).

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::frame::Frame;
use ferromtx_codec::mpeg1audio::FrameHeader;
use ferromtx_transcode::Transcoder;

/// A track: its format, its units with their timestamps, its seconds, rate and frames.
struct Track {
    format: Format,
    units: Vec<(i64, Bytes)>,
    seconds: f64,
    rate: u32,
    frames: usize,
}

fn adts(data: &[u8]) -> Result<Track, Box<dyn std::error::Error>> {
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
        units.push((
            units.len() as i64 * 1024,
            Bytes::copy_from_slice(data.get(pos + header..pos + len).ok_or("truncated")?),
        ));
        pos += len;
    }
    Ok(Track {
        format: Format::Mpeg4Audio {
            payload_type: 96,
            config,
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        },
        seconds: units.len() as f64 * 1024.0 / f64::from(rate),
        frames: units.len(),
        units,
        rate,
    })
}

fn mp3(data: &[u8]) -> Result<Track, Box<dyn std::error::Error>> {
    let (mut units, mut pos, mut samples, mut rate, mut frames) = (Vec::new(), 0, 0i64, 0, 0);
    let mut payload: Option<(i64, Vec<u8>)> = None;
    while pos < data.len() {
        let h = FrameHeader::parse(&data[pos..])?;
        let frame = data.get(pos..pos + h.length).ok_or("truncated")?;
        rate = h.sample_rate;
        if let Some((pts, p)) = payload.take_if(|(_, p)| p.len() + frame.len() > 1400) {
            units.push((pts, Bytes::from(p)));
        }
        payload
            .get_or_insert_with(|| (samples * 90_000 / i64::from(rate), vec![0; 4]))
            .1
            .extend_from_slice(frame);
        samples += i64::from(h.samples());
        frames += 1;
        pos += h.length;
    }
    units.extend(payload.map(|(pts, p)| (pts, Bytes::from(p))));
    Ok(Track {
        format: Format::from_rtpmap(14, "", None),
        units,
        seconds: samples as f64 / f64::from(rate.max(1)),
        rate,
        frames,
    })
}

fn push_all(
    t: &mut Transcoder,
    units: &[(i64, Bytes)],
) -> Result<usize, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for (pts, u) in units {
        let frame = Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![u.clone()],
        };
        t.push(*pts, &frame, &mut out)?;
    }
    Ok(out.len())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: cost FILE.aac|FILE.mp3 [rounds]")?;
    let rounds: u32 = args.next().map_or(Ok(5), |r| r.parse())?;
    let data = std::fs::read(&path)?;
    let track = if path.ends_with(".mp3") {
        mp3(&data)?
    } else {
        adts(&data)?
    };
    let mut best = f64::MAX;
    let mut packets = 0;
    for _ in 0..rounds {
        let mut t = Transcoder::new(&track.format)?;
        let start = ferromtx_net::sys::thread_cpu_time();
        packets = push_all(&mut t, &track.units)?;
        best = best.min((ferromtx_net::sys::thread_cpu_time() - start).as_secs_f64());
    }
    // Memory: RSS growth over many live transcoders that have each run for a second.
    let rss = || -> Result<u64, Box<dyn std::error::Error>> {
        let statm = std::fs::read_to_string("/proc/self/statm")?;
        let pages: u64 = statm.split_whitespace().nth(1).ok_or("statm")?.parse()?;
        Ok(pages * 4096)
    };
    let second = (track.units.len() as f64 / track.seconds).ceil() as usize;
    let before = rss()?;
    let mut live = Vec::new();
    for _ in 0..200 {
        let mut t = Transcoder::new(&track.format)?;
        push_all(&mut t, &track.units[..second.min(track.units.len())])?;
        live.push(t);
    }
    let per = rss()?.saturating_sub(before) / live.len() as u64;
    let line = format!(
        "{:.1} s of audio ({} Hz, {} frames in {} units, {packets} Opus packets): best of {rounds} {best:.3} s, {:.2} % of one core per stream; {} KB of memory per live transcoder\n",
        track.seconds,
        track.rate,
        track.frames,
        track.units.len(),
        best / track.seconds * 100.0,
        per / 1024
    );
    std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes())?;
    Ok(())
}

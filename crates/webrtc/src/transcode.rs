//! Sound for browsers: a stream's audio track that WebRTC can't carry as it is (AAC, MP3,
//! LPCM, G.711 a browser did not offer) is transcoded to Opus by a derived view of the stream, once
//! per stream and track, shared by every WHEP reader of it, started with the first such
//! reader and dropped with the last (the core drops a view's state at the first write
//! after its last handle goes).
//!
//! On by default; `FERROMTX_WEBRTC_TRANSCODE=no` turns it off (an environment variable, not
//! a `mediamtx.yml` key, so the operator's rollback to MediaMTX keeps the same file).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromtx_codec::{Format, mpeg1audio};
use ferromtx_core::{Track, Unit, View};
use ferromtx_transcode::{OPUS_RATE, OpusPacket, Transcoder};

use crate::core_backend::{EgressOutput, EgressUnit};
use crate::source::EgressPacket;

/// The environment variable that turns transcoding off (`no`, `false`, `0`, `off`).
pub const TRANSCODE_ENV: &str = "FERROMTX_WEBRTC_TRANSCODE";

/// Whether transcoding is on, from the value of [`TRANSCODE_ENV`] (unset: on).
pub fn enabled_by(value: Option<&str>) -> bool {
    !matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("no" | "false" | "0" | "off")
    )
}

/// The format viewers are told a transcoded track has.
pub fn opus_format() -> Format {
    Format::Opus {
        payload_type: 111,
        channels: 2,
    }
}

/// Identifies a transcoder of a stream: the source track, and the path's name for logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpusKey {
    pub track: usize,
    pub path: Arc<str>,
}

#[cfg(test)]
thread_local! {
    /// Transcoders made on this thread (tests open readers on the test thread).
    pub(crate) static STARTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Units transcoded on this thread.
    pub(crate) static TRANSCODED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Warnings about dropped audio: at most one a second, with the count since the last.
#[derive(Debug, Default)]
pub struct WarnLimit {
    last: Option<Instant>,
    suppressed: u64,
}

impl WarnLimit {
    /// Counts one event at `now`; returns how many to report (this one and those held back)
    /// when a warning may be logged.
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        self.suppressed += 1;
        if self
            .last
            .is_some_and(|l| now.saturating_duration_since(l) < Duration::from_secs(1))
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// The derived view transcoding one track of a stream to Opus for WebRTC readers.
pub struct OpusView {
    key: OpusKey,
    codec: &'static str,
    /// `None` when the track can't be decoded after all (then nothing is produced).
    transcoder: Option<Transcoder>,
    in_rate: u32,
    out: Vec<OpusPacket>,
    first: bool,
    warn: WarnLimit,
}

impl std::fmt::Debug for OpusView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusView")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl View for OpusView {
    type Key = OpusKey;
    type Output = EgressOutput;

    fn new(key: &OpusKey, tracks: &[Track]) -> Self {
        let format = tracks.get(key.track).map(|t| &t.format);
        let span = tracing::info_span!("path", path = %key.path);
        let _entered = span.enter();
        let codec = format.map_or("?", Format::codec_name);
        let transcoder = match format.map(Transcoder::new) {
            Some(Ok(t)) => {
                // MPEG audio's RTP clock is 90 kHz whatever its sample rate.
                let rate = format
                    .filter(|f| !mpeg1audio::is_rfc2250(f))
                    .map_or(String::new(), |f| format!(", {} Hz", f.clock_rate()));
                tracing::info!(
                    "transcoding track {} ({codec}{rate}) to Opus for WebRTC readers",
                    key.track + 1
                );
                #[cfg(test)]
                STARTED.with(|c| c.set(c.get() + 1));
                Some(t)
            }
            Some(Err(e)) => {
                tracing::warn!("can't transcode track {}: {e}", key.track + 1);
                None
            }
            None => None,
        };
        OpusView {
            key: key.clone(),
            codec,
            transcoder,
            in_rate: format.map_or(OPUS_RATE, Format::clock_rate).max(1),
            out: Vec::new(),
            first: true,
            warn: WarnLimit::default(),
        }
    }

    fn transform(&mut self, unit: &Unit, _tracks: &[Track]) -> Option<EgressOutput> {
        if unit.track != self.key.track {
            return None;
        }
        let transcoder = self.transcoder.as_mut()?;
        let frame = unit.frame.as_ref()?;
        #[cfg(test)]
        TRANSCODED.with(|c| c.set(c.get() + 1));
        self.out.clear();
        let now = Instant::now();
        if let Err(e) = transcoder.push(unit.pts, frame, &mut self.out)
            && let Some(n) = self.warn.hit(now)
        {
            let span = tracing::info_span!("path", path = %self.key.path);
            let _entered = span.enter();
            tracing::warn!(
                "{n} {} of track {} ({}) dropped by the Opus transcoder: {e}",
                if n == 1 { "frame" } else { "frames" },
                self.key.track + 1,
                self.codec
            );
        }
        let first_ts = self.out.first()?.timestamp;
        // The packets may start with audio of earlier units (a frame is 20 ms): the
        // wallclock of their first sample is that much before this unit's arrival.
        let unit_48k = i128::from(unit.pts) * i128::from(OPUS_RATE) / i128::from(self.in_rate);
        let lead = (unit_48k - i128::from(first_ts)).clamp(0, i128::from(OPUS_RATE));
        let wallclock = now
            .checked_sub(Duration::from_micros((lead * 1_000_000 / 48_000) as u64))
            .unwrap_or(now);
        let packets: Vec<EgressPacket> = self
            .out
            .iter()
            .map(|p| EgressPacket {
                marker: std::mem::take(&mut self.first),
                timestamp: p.timestamp as u32,
                payload: Arc::from(&p.payload[..]),
            })
            .collect();
        let wire_bytes = packets.iter().map(|p| 12 + p.payload.len() as u64).sum();
        Some(EgressOutput::Unit(EgressUnit {
            wallclock,
            packets: packets.into(),
            wire_bytes,
        }))
    }
}

impl Drop for OpusView {
    fn drop(&mut self) {
        if let Some(t) = &self.transcoder {
            let span = tracing::info_span!("path", path = %self.key.path);
            let _entered = span.enter();
            tracing::info!(
                "stopped transcoding track {} to Opus ({} packets, {} frames dropped)",
                self.key.track + 1,
                t.packets(),
                t.decode_errors()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core_backend::CoreBackend;
    use crate::server::Backend;
    use crate::{AccessRequest, EgressSource};
    use bytes::Bytes;
    use ferromtx_codec::Frame;
    use ferromtx_core::PathManager;
    use std::net::{IpAddr, Ipv4Addr};

    /// 0.5 s of a 440 Hz sine, AAC-LC 44.1 kHz mono, as ffmpeg makes it (ADTS).
    const SINE: &[u8] = include_bytes!("../../transcode/tests/data/sine440_44k1_mono.aac");

    /// The AudioSpecificConfig and raw access units of an ADTS stream.
    fn adts(data: &[u8]) -> (Bytes, Vec<Bytes>) {
        let mut units = Vec::new();
        let mut pos = 0;
        let mut config = Bytes::new();
        while pos + 7 <= data.len() {
            let h = &data[pos..pos + 7];
            let len =
                (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
            let bits = (u16::from((h[2] >> 6) + 1) << 11)
                | (u16::from((h[2] >> 2) & 0x0f) << 7)
                | (u16::from(((h[2] & 1) << 2) | (h[3] >> 6)) << 3);
            config = Bytes::copy_from_slice(&bits.to_be_bytes());
            units.push(Bytes::copy_from_slice(&data[pos + 7..pos + len]));
            pos += len;
        }
        (config, units)
    }

    fn h264() -> Format {
        Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        }
    }

    fn aac(config: Bytes) -> Format {
        Format::Mpeg4Audio {
            payload_type: 97,
            config,
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        }
    }

    fn backend() -> CoreBackend {
        let conf = ferromtx_conf::load_from_str("paths:\n  all_others:\n", &|_| None)
            .unwrap()
            .conf;
        let conf = Arc::new(conf);
        let auth = Arc::new(ferromtx_auth::Manager::new(&conf));
        CoreBackend::new(Arc::new(PathManager::new(conf, auth)))
    }

    fn access(publish: bool, offered: Option<&[&str]>) -> AccessRequest {
        AccessRequest {
            path: "cam".into(),
            query: String::new(),
            publish,
            ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            user_agent: None,
            credentials: crate::Credentials::default(),
            session_id: "test".into(),
            offered_audio: offered.map(|o| o.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn audio_unit(track: usize, pts: i64, part: Bytes) -> Unit {
        Unit {
            track,
            pts,
            frame: Some(Frame {
                rtp_timestamp: pts as u32,
                random_access: true,
                parts: vec![part],
            }),
            random_access: true,
            ..Unit::default()
        }
    }

    fn counters() -> (u64, u64) {
        (STARTED.with(|c| c.get()), TRANSCODED.with(|c| c.get()))
    }

    #[tokio::test]
    async fn sixty_four_aac_viewers_share_one_transcoder_and_get_20ms_opus() {
        let (config, units) = adts(SINE);
        let backend = backend();
        let admitted = backend.admit_publisher(&access(true, None)).await.unwrap();
        let sink = backend
            .start_publisher(admitted, &[h264(), aac(config.clone())], "")
            .unwrap();
        let (started, transcoded) = counters();
        let mut viewers = Vec::new();
        // 64 viewers of one AAC stream: one transcode.
        for _ in 0..64 {
            viewers.push(backend.open_reader(&access(false, None)).await.unwrap());
        }
        assert_eq!(viewers[0].tracks(), vec![h264(), opus_format()]);
        assert!(viewers[63].transcoded(1) && !viewers[63].transcoded(0));
        for (i, u) in units.iter().enumerate() {
            sink.stream()
                .write(audio_unit(1, i as i64 * 1024, u.clone()))
                .unwrap();
        }
        // One transcoder, one run per unit, whatever the number of viewers.
        assert_eq!(counters(), (started + 1, transcoded + units.len() as u64));

        let mut timestamps = Vec::new();
        let mut items = Vec::new();
        for v in &mut viewers {
            let mut got = Vec::new();
            while let Some(item) = v.try_next() {
                got.push(item);
            }
            items.push(got);
        }
        for got in &items[1..] {
            assert_eq!(got.len(), items[0].len());
            for (a, b) in got.iter().zip(&items[0]) {
                assert!(Arc::ptr_eq(&a.packets, &b.packets));
            }
        }
        let mut decoder = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut pcm = vec![0f32; 960];
        let mut energy = 0.0f64;
        for item in &items[0] {
            assert_eq!(item.track, 1);
            for p in item.packets.iter() {
                timestamps.push(p.timestamp);
                assert_eq!(
                    decoder.decode_float(&p.payload, &mut pcm, false).unwrap(),
                    960
                );
                energy += pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
            }
        }
        assert_eq!(timestamps[0], 0);
        assert!(timestamps.windows(2).all(|w| w[1] - w[0] == 960));
        assert_eq!(timestamps.len(), units.len() * 1024 * 48_000 / 44_100 / 960);
        assert!(
            energy / (timestamps.len() as f64 * 960.0) > 0.001,
            "{energy}"
        );
    }

    #[tokio::test]
    async fn corrupt_audio_is_dropped_and_never_touches_the_video() {
        let (config, units) = adts(SINE);
        let backend = backend();
        let admitted = backend.admit_publisher(&access(true, None)).await.unwrap();
        let sink = backend
            .start_publisher(admitted, &[h264(), aac(config)], "")
            .unwrap();
        let mut viewer = backend.open_reader(&access(false, None)).await.unwrap();
        for (i, u) in units.iter().enumerate() {
            // Every third access unit cut short (its spectral data runs past the end).
            let audio = if i % 3 == 1 {
                u.slice(..u.len() / 4)
            } else {
                u.clone()
            };
            sink.stream()
                .write(audio_unit(1, i as i64 * 1024, audio))
                .unwrap();
            let nal = Bytes::from(vec![0x41, i as u8, 7]);
            sink.stream()
                .write(Unit {
                    track: 0,
                    pts: i as i64 * 2090,
                    frame: Some(Frame {
                        rtp_timestamp: 0,
                        random_access: false,
                        parts: vec![nal],
                    }),
                    ..Unit::default()
                })
                .unwrap();
        }
        let (mut video, mut audio) = (Vec::new(), Vec::new());
        while let Some(item) = viewer.try_next() {
            for p in item.packets.iter() {
                if item.track == 0 {
                    video.push(p.payload[1]);
                } else {
                    audio.push(p.timestamp);
                }
            }
        }
        // Every video unit, in order; audio goes on around the dropped units, never
        // overlapping, and most of it is there.
        assert_eq!(video, (0..units.len()).map(|i| i as u8).collect::<Vec<_>>());
        assert!(audio.windows(2).all(|w| w[1] - w[0] >= 960), "{audio:?}");
        let all = units.len() * 1024 * 48_000 / 44_100 / 960;
        assert!(
            audio.len() >= all / 2 && audio.len() < all,
            "{} of {all}",
            audio.len()
        );
    }

    #[tokio::test]
    async fn no_webrtc_reader_no_transcoder_and_it_stops_with_the_last() {
        let (config, units) = adts(SINE);
        let backend = backend();
        let admitted = backend.admit_publisher(&access(true, None)).await.unwrap();
        let sink = backend
            .start_publisher(admitted, &[aac(config)], "")
            .unwrap();
        let (started, transcoded) = counters();
        // A reader of another protocol: the stream's units, no transcoding.
        let mut other = backend
            .paths()
            .add_reader(ferromtx_core::PathRequest {
                name: "cam".into(),
                query: String::new(),
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                credentials: Default::default(),
                protocol: ferromtx_auth::Protocol::Rtsp,
                who: ferromtx_core::Described {
                    kind: "rtspSession".into(),
                    id: "x".into(),
                },
                skip_auth: false,
            })
            .await
            .unwrap();
        for (i, u) in units.iter().enumerate().take(5) {
            sink.stream()
                .write(audio_unit(0, i as i64 * 1024, u.clone()))
                .unwrap();
        }
        assert!(other.reader().next().await.is_some());
        assert_eq!(counters(), (started, transcoded));

        let viewer = backend.open_reader(&access(false, None)).await.unwrap();
        sink.stream()
            .write(audio_unit(0, 5 * 1024, units[5].clone()))
            .unwrap();
        assert_eq!(counters(), (started + 1, transcoded + 1));
        drop(viewer);
        // The last viewer gone: the next unit is not transcoded and the state is dropped;
        // a new viewer starts a new transcoder.
        sink.stream()
            .write(audio_unit(0, 6 * 1024, units[6].clone()))
            .unwrap();
        assert_eq!(counters(), (started + 1, transcoded + 1));
        let _again = backend.open_reader(&access(false, None)).await.unwrap();
        assert_eq!(counters().0, started + 2);
    }

    #[tokio::test]
    async fn switched_off_the_aac_track_is_left_out_as_mediamtx_does() {
        let (config, _) = adts(SINE);
        let backend = backend().with_transcode(false);
        let admitted = backend.admit_publisher(&access(true, None)).await.unwrap();
        let _sink = backend
            .start_publisher(admitted, &[h264(), aac(config.clone())], "")
            .unwrap();
        let started = counters().0;
        let viewer = backend.open_reader(&access(false, None)).await.unwrap();
        // The track stays AAC: the session skips it with MediaMTX's warning.
        assert_eq!(viewer.tracks(), vec![h264(), aac(config)]);
        assert!(!viewer.transcoded(1));
        assert_eq!(counters().0, started);
    }

    #[tokio::test]
    async fn g711_is_transcoded_only_for_a_browser_that_did_not_offer_it() {
        let pcmu = Format::G711 {
            payload_type: 0,
            mu_law: true,
            sample_rate: 8000,
            channels: 1,
        };
        let backend = backend();
        let admitted = backend.admit_publisher(&access(true, None)).await.unwrap();
        let _sink = backend
            .start_publisher(admitted, std::slice::from_ref(&pcmu), "")
            .unwrap();
        let with = backend
            .open_reader(&access(false, Some(&["opus", "pcmu", "pcma"])))
            .await
            .unwrap();
        assert_eq!(with.tracks(), vec![pcmu.clone()]);
        let without = backend
            .open_reader(&access(false, Some(&["opus"])))
            .await
            .unwrap();
        assert_eq!(without.tracks(), vec![opus_format()]);
        // Neither G.711 nor Opus: nothing to do, the session says the codec was refused.
        let neither = backend
            .open_reader(&access(false, Some(&["g722"])))
            .await
            .unwrap();
        assert_eq!(neither.tracks(), vec![pcmu]);
    }

    /// 2 s of a 440 Hz sine, MP3 (MPEG-2 layer III) 22.05 kHz stereo, as ffmpeg makes it.
    const MP3: &[u8] = include_bytes!("../../transcode/tests/data/sine440_22k05_stereo.mp3");

    /// The track ffmpeg announces for MP3: static payload type 14, no rtpmap.
    fn mpa() -> Format {
        Format::from_rtpmap(14, "", None)
    }

    /// The file's frames, one RFC 2250 payload each, with their 90 kHz timestamps.
    fn rfc2250(data: &[u8]) -> Vec<(i64, Bytes)> {
        let mut payloads = Vec::new();
        let (mut pos, mut samples) = (0, 0i64);
        while let Ok(h) = mpeg1audio::FrameHeader::parse(&data[pos..]) {
            let mut p = vec![0; 4];
            p.extend_from_slice(&data[pos..pos + h.length]);
            payloads.push((samples * 90_000 / 22_050, Bytes::from(p)));
            pos += h.length;
            samples += i64::from(h.samples());
        }
        payloads
    }

    #[tokio::test]
    async fn mp3_viewers_share_one_transcoder_and_get_opus_at_the_full_rate() {
        let payloads = rfc2250(MP3);
        assert!(payloads.len() > 70);
        let backend = backend();
        let admitted = backend.admit_publisher(&access(true, None)).await.unwrap();
        let sink = backend
            .start_publisher(admitted, &[h264(), mpa()], "")
            .unwrap();
        let (started, transcoded) = counters();
        let mut viewers = Vec::new();
        for _ in 0..4 {
            viewers.push(backend.open_reader(&access(false, None)).await.unwrap());
        }
        assert_eq!(viewers[0].tracks(), vec![h264(), opus_format()]);
        assert!(viewers[3].transcoded(1));
        for (pts, p) in &payloads {
            sink.stream().write(audio_unit(1, *pts, p.clone())).unwrap();
        }
        assert_eq!(
            counters(),
            (started + 1, transcoded + payloads.len() as u64)
        );
        let mut timestamps = Vec::new();
        let mut decoder = opus::Decoder::new(48_000, opus::Channels::Stereo).unwrap();
        let mut pcm = vec![0f32; 960 * 2];
        let mut energy = 0.0f64;
        while let Some(item) = viewers[0].try_next() {
            for p in item.packets.iter() {
                timestamps.push(p.timestamp);
                let n = decoder.decode_float(&p.payload, &mut pcm, false).unwrap();
                assert_eq!(n, 960);
                energy += pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
            }
        }
        // The 90 kHz timeline at 48 kHz, 20 ms a packet, all of it.
        assert_eq!(timestamps[0], 0);
        assert!(timestamps.windows(2).all(|w| w[1] - w[0] == 960));
        let all = payloads.len() * 576 * 48_000 / 22_050 / 960;
        assert!(
            timestamps.len().abs_diff(all) <= 1,
            "{} of {all}",
            timestamps.len()
        );
        assert!(
            energy / (timestamps.len() as f64 * 1920.0) > 0.001,
            "{energy}"
        );
        assert_eq!(viewers[1].try_next().map(|i| i.track), Some(1));
    }

    #[tokio::test]
    async fn switched_off_the_mp3_track_is_left_out_as_mediamtx_does() {
        let backend = backend().with_transcode(false);
        let admitted = backend.admit_publisher(&access(true, None)).await.unwrap();
        let _sink = backend
            .start_publisher(admitted, &[h264(), mpa()], "")
            .unwrap();
        let viewer = backend.open_reader(&access(false, None)).await.unwrap();
        assert_eq!(viewer.tracks(), vec![h264(), mpa()]);
        assert!(!viewer.transcoded(1));
    }

    #[test]
    fn the_switch_reads_the_usual_words() {
        assert!(enabled_by(None));
        assert!(enabled_by(Some("yes")));
        assert!(enabled_by(Some("")));
        for off in ["no", "false", "0", "off", " No "] {
            assert!(!enabled_by(Some(off)), "{off}");
        }
    }

    #[test]
    fn warnings_are_limited_to_one_a_second_with_the_count() {
        let mut w = WarnLimit::default();
        let t0 = Instant::now();
        assert_eq!(w.hit(t0), Some(1));
        assert_eq!(w.hit(t0 + Duration::from_millis(300)), None);
        assert_eq!(w.hit(t0 + Duration::from_millis(900)), None);
        assert_eq!(w.hit(t0 + Duration::from_millis(1000)), Some(3));
        assert_eq!(w.hit(t0 + Duration::from_millis(5000)), Some(1));
    }
}

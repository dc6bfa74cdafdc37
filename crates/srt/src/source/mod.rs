//! Static sources: `srt://` (a caller reading MPEG-TS), `udp+mpegts://` (and the
//! deprecated `udp://`), `unix+mpegts://`, `udp+rtp://` and `unix+rtp://` (with the path's
//! `rtpSDP`). Each sets its path ready once it knows the tracks and makes it not ready when
//! it stops (the core restarts it after a pause).

mod input;
mod rtp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromtx_core::source::BoxFuture;
use ferromtx_core::{SourceContext, SourceError, StaticSource};
use tokio::net::UdpSocket;
use tracing::Instrument;

use crate::link::{Datagrams, Link};
use crate::mpegts_in::TsIngest;
use crate::server::conn::close_text;
use crate::{CallerConfig, Connection, Event, Settings};

pub use rtp::{Media, RtpSource, parse_sdp};

/// `readTimeout` when the configuration is gone (shutting down).
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often anomalies are reported.
const REPORT_PERIOD: Duration = Duration::from_secs(1);

fn read_timeout(ctx: &SourceContext) -> Duration {
    ctx.global()
        .map_or(DEFAULT_READ_TIMEOUT, |c| c.read_timeout)
}

fn err(e: impl std::fmt::Display) -> SourceError {
    SourceError(e.to_string())
}

/// `%XX` sequences of a URL query value decoded (`+` stays a `+`, as in Go's path
/// unescaping; invalid sequences are kept as they are).
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied(), b.get(i + 2).copied()) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Feeds MPEG-TS into the path: sets it ready at the first program, reports anomalies.
struct TsToPath {
    ingest: TsIngest,
    last_report: Instant,
}

impl TsToPath {
    fn new() -> TsToPath {
        TsToPath {
            ingest: TsIngest::new(),
            last_report: Instant::now(),
        }
    }

    fn push(&mut self, ctx: &SourceContext, data: &[u8]) -> Result<(), SourceError> {
        if let Some(tracks) = self.ingest.push(data).map_err(err)? {
            let stream = ctx
                .set_ready(tracks)
                .ok_or_else(|| SourceError("terminated".into()))?;
            self.ingest.start(stream).map_err(err)?;
            tracing::info!(
                "ready: {}",
                ferromtx_core::stream::tracks_info(&self.ingest.codecs())
            );
        }
        let now = Instant::now();
        if now.duration_since(self.last_report) >= REPORT_PERIOD {
            self.last_report = now;
            for line in self.ingest.take_log_lines() {
                tracing::warn!("{line}");
            }
        }
        Ok(())
    }
}

/// The `srt://` source: calls an SRT listener and reads MPEG-TS.
#[derive(Debug, Clone, Copy, Default)]
pub struct SrtSource;

impl StaticSource for SrtSource {
    fn kind(&self) -> &'static str {
        "srtSource"
    }

    fn run(&self, ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>> {
        let span = tracing::info_span!("srt_source", component = "SRT source");
        Box::pin(run_srt(ctx).instrument(span))
    }
}

/// What an `srt://host:port?streamid=..&passphrase=..&pbkeylen=..&latency=..` URL asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SrtUrl {
    pub address: String,
    pub stream_id: Option<String>,
    pub passphrase: Option<String>,
    pub key_len: Option<usize>,
    /// Milliseconds.
    pub latency: Option<u64>,
}

impl SrtUrl {
    pub fn parse(url: &str) -> Result<SrtUrl, String> {
        let rest = url
            .strip_prefix("srt://")
            .ok_or_else(|| format!("invalid SRT URL '{url}'"))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let address = location.trim_end_matches('/').to_owned();
        if address.is_empty() {
            return Err(format!("invalid SRT URL '{url}'"));
        }
        let mut out = SrtUrl {
            address,
            stream_id: None,
            passphrase: None,
            key_len: None,
            latency: None,
        };
        for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
            let v = percent_decode(v);
            match k {
                "streamid" => out.stream_id = Some(v),
                "passphrase" => out.passphrase = Some(v),
                "pbkeylen" => {
                    out.key_len = Some(v.parse().map_err(|_| format!("invalid pbkeylen '{v}'"))?)
                }
                "latency" => {
                    out.latency = Some(v.parse().map_err(|_| format!("invalid latency '{v}'"))?)
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

async fn run_srt(ctx: SourceContext) -> Result<(), SourceError> {
    tracing::debug!("connecting");
    let url = SrtUrl::parse(ctx.url()).map_err(SourceError)?;
    let timeout = read_timeout(&ctx);
    let remote: SocketAddr = tokio::net::lookup_host(url.address.as_str())
        .await
        .map_err(err)?
        .next()
        .ok_or_else(|| SourceError(format!("unable to resolve '{}'", url.address)))?;
    let local: SocketAddr = if remote.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let sock = UdpSocket::bind(local).await.map_err(err)?;
    ferromtx_net::grow_read_buffer(&sock, crate::DEFAULT_UDP_READ_BUFFER);
    let sock = Arc::new(sock);
    let mut settings = Settings {
        peer_idle_timeout: timeout,
        ..Settings::default()
    };
    if let Some(ms) = url.latency {
        settings.latency = Duration::from_millis(ms);
        settings.peer_latency = Duration::from_millis(ms);
    }
    let config = CallerConfig {
        stream_id: url.stream_id.clone(),
        passphrase: url.passphrase.clone(),
        key_len: url.key_len.unwrap_or(16),
        connect_timeout: timeout,
        settings,
        ..CallerConfig::default()
    };
    let conn = Connection::connect(Instant::now(), remote, config, crate::server::random_seed())
        .map_err(err)?;
    let mut link = Link::new(conn, sock, remote, Datagrams::Socket(Vec::new()));
    let res = read_srt(&ctx, &mut link, timeout).await;
    if !link.conn.is_closed() {
        link.conn.close(Instant::now());
    }
    let _ = link.flush().await;
    res
}

async fn read_srt(
    ctx: &SourceContext,
    link: &mut Link,
    timeout: Duration,
) -> Result<(), SourceError> {
    let mut ts = TsToPath::new();
    let mut deadline = Instant::now() + timeout;
    loop {
        link.flush().await.map_err(err)?;
        while let Some(event) = link.conn.poll_event() {
            match event {
                Event::Connected { .. } => {
                    tracing::debug!("connected");
                    deadline = Instant::now() + timeout;
                }
                Event::Data(data) => ts.push(ctx, &data)?,
                Event::Gap(_) => ts.ingest.lost_input(),
                Event::Closed(r) => return Err(SourceError(close_text(r))),
            }
        }
        if !ts.ingest.is_started() && Instant::now() >= deadline {
            return Err(SourceError("deadline exceeded while waiting tracks".into()));
        }
        let input = tokio::select! {
            i = link.next_input() => i,
            () = ctx.cancelled() => return Ok(()),
        };
        link.apply(input);
    }
}

/// The `udp+mpegts`, `udp` and `unix+mpegts` sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct MpegTsSource;

impl StaticSource for MpegTsSource {
    fn kind(&self) -> &'static str {
        "mpegtsSource"
    }

    fn run(&self, ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>> {
        let span = tracing::info_span!("mpegts_source", component = "MPEG-TS source");
        Box::pin(run_mpegts(ctx).instrument(span))
    }
}

async fn run_mpegts(ctx: SourceContext) -> Result<(), SourceError> {
    tracing::debug!("connecting");
    let addr = input::parse_address(ctx.url()).map_err(SourceError)?;
    let timeout = read_timeout(&ctx);
    let read_buffer = ctx
        .conf()
        .mpegts_udp_read_buffer_size
        .or_else(|| ctx.global().map(|c| c.udp_read_buffer_size))
        .unwrap_or(0);
    let mut input = input::Input::open(&addr, usize::try_from(read_buffer).unwrap_or(0), 65_536)
        .await
        .map_err(err)?;
    let mut ts = TsToPath::new();
    loop {
        let data = tokio::select! {
            r = input.read(timeout) => r.map_err(err)?,
            () = ctx.cancelled() => return Ok(()),
        };
        ts.push(&ctx, &data)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srt_urls() {
        let u = SrtUrl::parse(
            "srt://cam.local:9000?streamid=read%3Acam%3Auser%3Apass&passphrase=0123456789&pbkeylen=32&latency=200",
        )
        .expect("parse");
        assert_eq!(
            u,
            SrtUrl {
                address: "cam.local:9000".into(),
                stream_id: Some("read:cam:user:pass".into()),
                passphrase: Some("0123456789".into()),
                key_len: Some(32),
                latency: Some(200),
            }
        );
        assert_eq!(
            SrtUrl::parse("srt://[::1]:9000").expect("v6").address,
            "[::1]:9000"
        );
        assert!(SrtUrl::parse("srt://").is_err());
        assert!(SrtUrl::parse("srt://h:1?pbkeylen=x").is_err());
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("a%3Ab%2fc"), "a:b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz+"), "%zz+");
    }
}

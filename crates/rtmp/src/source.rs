//! The `rtmp://` and `rtmps://` static source: plays a stream from another server into
//! the path (track detection as for publishers), with `sourceFingerprint` for RTMPS. The
//! path restarts it after a failure (MediaMTX's retry pause).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromtx_core::source::BoxFuture;
use ferromtx_core::{SourceContext, SourceError, StaticSource, UnitIngest};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tracing::Instrument;

use crate::client::{ClientConfig, ClientConnection, ClientEvent, ClientMode, ClientOutput};
use crate::publish::{ToStream, TrackDetector, codec_names};
use crate::url::ClientUrl;

/// Default port of `rtmps://` sources without one (MediaMTX's).
const RTMPS_DEFAULT_PORT: u16 = 1936;
const READ_CHUNK: usize = 64 * 1024;

type Reader = Box<dyn AsyncRead + Send + Unpin>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// The RTMP static source.
#[derive(Debug, Clone, Copy, Default)]
pub struct RtmpSource;

impl StaticSource for RtmpSource {
    fn kind(&self) -> &'static str {
        "rtmpSource"
    }

    fn run(&self, ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>> {
        let span = tracing::info_span!("rtmp_source", component = "RTMP source");
        Box::pin(run(ctx).instrument(span))
    }
}

/// Whether the URL names a port after its host.
fn has_port(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    host_port.rsplit_once(':').is_some_and(|(h, p)| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':')
    })
}

/// The client URL of a source, with RTMPS's default port.
pub fn source_url(url: &str) -> Option<ClientUrl> {
    let mut parsed = ClientUrl::parse(url)?;
    if parsed.tls && !has_port(url) {
        parsed.port = RTMPS_DEFAULT_PORT;
    }
    Some(parsed)
}

async fn connect(
    url: &ClientUrl,
    fingerprint: &str,
    timeout: Duration,
) -> Result<(Reader, Writer), String> {
    let addr = format!("{}:{}", bracket(&url.host), url.port);
    let socket = tokio::time::timeout(timeout, TcpStream::connect(&addr))
        .await
        .map_err(|_| format!("dial tcp {addr}: i/o timeout"))?
        .map_err(|e| format!("dial tcp {addr}: {e}"))?;
    let _ = socket.set_nodelay(true);
    if !url.tls {
        let (r, w) = socket.into_split();
        return Ok((Box::new(r), Box::new(w)));
    }
    let config = ferromtx_net::tls::client_config(fingerprint)?;
    let name = ServerName::try_from(url.host.clone()).map_err(|e| e.to_string())?;
    let tls = tokio::time::timeout(
        timeout,
        TlsConnector::from(Arc::new(config)).connect(name, socket),
    )
    .await
    .map_err(|_| "TLS handshake timeout".to_owned())?
    .map_err(|e| e.to_string())?;
    let (r, w) = tokio::io::split(tls);
    Ok((Box::new(r), Box::new(w)))
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

async fn run(ctx: SourceContext) -> Result<(), SourceError> {
    tracing::info!("started");
    let url =
        source_url(ctx.url()).ok_or_else(|| SourceError(format!("invalid URL '{}'", ctx.url())))?;
    let (read_timeout, write_timeout) = ctx
        .global()
        .map_or((Duration::from_secs(10), Duration::from_secs(10)), |g| {
            (g.read_timeout, g.write_timeout)
        });
    tracing::debug!("connecting");
    let fingerprint = ctx.conf().source_fingerprint.clone();
    let work = async {
        let (mut reader, mut writer) = connect(&url, &fingerprint, read_timeout).await?;
        let mut client = ClientConnection::new(
            ClientConfig::new(url.clone(), ClientMode::Play),
            Instant::now(),
        );
        let mut buf = vec![0u8; READ_CHUNK];
        let mut detector = Some(TrackDetector::new());
        let mut ingest: Option<(ToStream, UnitIngest)> = None;
        loop {
            while let Some(out) = client.poll_output() {
                match out {
                    ClientOutput::Transmit(bytes) => {
                        tokio::time::timeout(write_timeout, writer.write_all(&bytes))
                            .await
                            .map_err(|_| "write timeout".to_owned())?
                            .map_err(|e| e.to_string())?;
                    }
                    ClientOutput::Event(ClientEvent::Media(item)) => {
                        if let Some((to, ing)) = &mut ingest {
                            to.write(item, ing).map_err(|e| e.to_string())?;
                        } else if let Some(d) = &mut detector
                            && d.push(item)
                            && let Some(d) = detector.take()
                        {
                            ingest = Some(start(&ctx, d)?);
                        }
                    }
                    ClientOutput::Event(ClientEvent::StreamEnded) => {
                        return Err("stream ended".to_owned());
                    }
                    ClientOutput::Event(_) => {}
                }
            }
            let n = tokio::time::timeout(read_timeout, reader.read(&mut buf))
                .await
                .map_err(|_| "read timeout".to_owned())?
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("EOF".to_owned());
            }
            client
                .handle_input(Instant::now(), buf.get(..n).unwrap_or_default())
                .map_err(|e| e.to_string())?;
        }
    };
    tokio::select! {
        res = work => res.map_err(SourceError),
        () = ctx.cancelled() => Ok(()),
    }
}

/// Track detection is over: the path becomes ready, the held tags go in first.
fn start(ctx: &SourceContext, detector: TrackDetector) -> Result<(ToStream, UnitIngest), String> {
    let found = detector.finish().map_err(|e| e.to_string())?;
    let (mut to, tracks, skipped) = ToStream::new(&found.tracks);
    for (n, name) in skipped.iter().enumerate() {
        tracing::warn!("skipping track {} ({name})", n + 1);
    }
    if tracks.is_empty() {
        return Err("no supported tracks found".to_owned());
    }
    let names = codec_names(&tracks);
    let stream = ctx
        .set_ready(tracks)
        .ok_or_else(|| "terminated".to_owned())?;
    tracing::info!("ready: {}", ferromtx_core::stream::tracks_info(&names));
    let mut ingest = UnitIngest::new(stream);
    for item in found.held {
        to.write(item, &mut ingest).map_err(|e| e.to_string())?;
    }
    Ok((to, ingest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtmps_sources_default_to_port_1936() {
        let u = source_url("rtmps://example.com/live/cam").expect("url");
        assert_eq!(u.port, 1936);
        let u = source_url("rtmps://example.com:443/live/cam").expect("url");
        assert_eq!(u.port, 443);
        let u = source_url("rtmp://example.com/live/cam").expect("url");
        assert_eq!(u.port, 1935);
        let u = source_url("rtmps://user:pass@[::1]/live").expect("url");
        assert_eq!(u.port, 1936);
        assert!(source_url("http://x/y").is_none());
    }
}

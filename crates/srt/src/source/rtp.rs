//! The `udp+rtp` and `unix+rtp` sources: RTP packets described by the path's `rtpSDP`,
//! through the core's RTP ingest. The path is ready at the first valid packet, as in
//! MediaMTX.

use std::time::Instant;

use ferromtx_codec::{Format, rtp};
use ferromtx_core::source::BoxFuture;
use ferromtx_core::{IngestOptions, RtpIngest, SourceContext, SourceError, StaticSource};
use tracing::Instrument;

use super::input::{self, UNIX_RTP_READ};
use super::{REPORT_PERIOD, err, read_timeout};

/// The `udp+rtp` and `unix+rtp` sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct RtpSource;

impl StaticSource for RtpSource {
    fn kind(&self) -> &'static str {
        "rtpSource"
    }

    fn run(&self, ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>> {
        let span = tracing::info_span!("rtp_source", component = "RTP source");
        Box::pin(run(ctx).instrument(span))
    }
}

/// One media of an SDP: its first payload type and the format it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub payload_type: u8,
    pub format: Format,
}

/// The medias of an SDP (`m=` lines with their `a=rtpmap` and `a=fmtp`); each becomes one
/// track, with the first payload type of its line.
pub fn parse_sdp(sdp: &str) -> Result<Vec<Media>, String> {
    struct Pending {
        payload_type: u8,
        rtpmap: String,
        fmtp: Option<String>,
    }
    let mut medias: Vec<Pending> = Vec::new();
    for line in sdp.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("m=") {
            // m=video 5004 RTP/AVP 96 97
            let pt = m
                .split_whitespace()
                .nth(3)
                .ok_or_else(|| format!("invalid media line '{line}'"))?;
            let payload_type = pt
                .parse::<u8>()
                .ok()
                .filter(|p| *p < 128)
                .ok_or_else(|| format!("invalid payload type '{pt}'"))?;
            medias.push(Pending {
                payload_type,
                rtpmap: String::new(),
                fmtp: None,
            });
        } else if let Some(current) = medias.last_mut() {
            let attr = |name: &str| {
                line.strip_prefix(name)
                    .and_then(|rest| rest.split_once(' '))
                    .filter(|(pt, _)| pt.trim().parse::<u8>().ok() == Some(current.payload_type))
                    .map(|(_, v)| v.trim().to_owned())
            };
            if let Some(v) = attr("a=rtpmap:") {
                current.rtpmap = v;
            } else if let Some(v) = attr("a=fmtp:") {
                current.fmtp = Some(v);
            }
        }
    }
    if medias.is_empty() {
        return Err("no media found in rtpSDP".into());
    }
    Ok(medias
        .into_iter()
        .map(|p| Media {
            payload_type: p.payload_type,
            format: Format::from_rtpmap(p.payload_type, &p.rtpmap, p.fmtp.as_deref()),
        })
        .collect())
}

async fn run(ctx: SourceContext) -> Result<(), SourceError> {
    let medias = parse_sdp(&ctx.conf().rtp_sdp).map_err(SourceError)?;
    tracing::debug!("connecting");
    let addr = input::parse_address(ctx.url()).map_err(SourceError)?;
    let timeout = read_timeout(&ctx);
    let global = ctx.global();
    let read_buffer = ctx
        .conf()
        .rtp_udp_read_buffer_size
        .or_else(|| global.as_ref().map(|c| c.udp_read_buffer_size))
        .unwrap_or(0);
    let max_payload = global
        .as_ref()
        .and_then(|c| usize::try_from(c.udp_max_payload_size).ok());
    let mut input = input::Input::open(
        &addr,
        usize::try_from(read_buffer).unwrap_or(0),
        UNIX_RTP_READ,
    )
    .await
    .map_err(err)?;
    let mut ingest: Option<RtpIngest> = None;
    let mut decode_errors = ferromtx_core::Anomalies::default();
    let mut last_report = Instant::now();
    loop {
        let data = tokio::select! {
            r = input.read(timeout) => r.map_err(err)?,
            () = ctx.cancelled() => return Ok(()),
        };
        let pkt = match rtp::Packet::unmarshal(&data) {
            Ok(p) => p,
            // Before the first valid packet a bad one ends the source, as in MediaMTX.
            Err(e) if ingest.is_none() => return Err(err(e)),
            Err(e) => {
                decode_errors.decode_error(e);
                continue;
            }
        };
        let ingest = match &mut ingest {
            Some(i) => i,
            None => {
                let formats: Vec<Format> = medias.iter().map(|m| m.format.clone()).collect();
                let stream = ctx
                    .set_ready(ferromtx_core::ingest::tracks_of(&formats))
                    .ok_or_else(|| SourceError("terminated".into()))?;
                let names: Vec<&str> = formats.iter().map(Format::codec_name).collect();
                tracing::info!("ready: {}", ferromtx_core::stream::tracks_info(&names));
                ingest.insert(RtpIngest::new(
                    stream,
                    IngestOptions {
                        reorder: None,
                        max_payload,
                    },
                ))
            }
        };
        let Some(track) = medias
            .iter()
            .position(|m| m.payload_type == pkt.payload_type)
        else {
            continue;
        };
        ingest.push(track, pkt, Instant::now()).map_err(err)?;
        let now = Instant::now();
        if now.duration_since(last_report) >= REPORT_PERIOD {
            last_report = now;
            let mut a = ingest.take_anomalies();
            if decode_errors.decode_errors > 0 {
                a.decode_errors += decode_errors.decode_errors;
                a.last_error = decode_errors.last_error.take().or(a.last_error);
                decode_errors = ferromtx_core::Anomalies::default();
            }
            for line in a.log_lines() {
                tracing::warn!("{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_medias_become_tracks() {
        let sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
                   a=fmtp:96 packetization-mode=1\r\n\
                   m=audio 5006 RTP/AVP 0\r\n";
        let medias = parse_sdp(sdp).expect("parse");
        assert_eq!(medias.len(), 2);
        assert_eq!(medias[0].payload_type, 96);
        assert_eq!(medias[0].format.codec_name(), "H264");
        assert!(matches!(
            medias[0].format,
            Format::H264 {
                packetization_mode: 1,
                ..
            }
        ));
        assert_eq!(medias[1].payload_type, 0);
        assert_eq!(medias[1].format.codec_name(), "G711");
        assert!(parse_sdp("v=0\r\n").is_err());
        assert!(parse_sdp("m=video 1 RTP/AVP x\r\n").is_err());
    }
}

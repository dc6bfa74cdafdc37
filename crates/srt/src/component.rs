//! The SRT server as a component of the binary (`srt`, `srtAddress`; restarted when its
//! settings change), the static sources this crate implements, and what the API shows.

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use ferromtx_api::component::{BoxFuture, Registration};
use ferromtx_api::{Context, Failure, Server, Servers, Sessions, component, dto};
use ferromtx_conf::Conf;

use crate::server::{ConnInfo, SrtServer, SrtSettings};
use crate::source::{MpegTsSource, RtpSource, SrtSource};

/// Registers the SRT server and the `srt`, `udp+mpegts` (and deprecated `udp`),
/// `unix+mpegts`, `udp+rtp` and `unix+rtp` sources.
pub fn register(r: &mut Registration) {
    r.component(component::<Srt>());
    r.source("srt", Arc::new(SrtSource));
    let mpegts: Arc<MpegTsSource> = Arc::new(MpegTsSource);
    r.source("udp", mpegts.clone());
    r.source("udp+mpegts", mpegts.clone());
    r.source("unix+mpegts", mpegts);
    let rtp: Arc<RtpSource> = Arc::new(RtpSource);
    r.source("udp+rtp", rtp.clone());
    r.source("unix+rtp", rtp);
}

/// The SRT server component.
#[derive(Debug)]
pub struct Srt(Arc<SrtServer>);

impl Server for Srt {
    type Settings = SrtSettings;

    fn settings(conf: &Conf) -> Option<SrtSettings> {
        conf.srt.then(|| SrtSettings::from_conf(conf))
    }

    fn start<'a>(
        settings: &'a SrtSettings,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let server = SrtServer::start(settings.clone(), Arc::clone(&ctx.paths))
                .await
                .map_err(|e| format!("[SRT] unable to listen on {}: {e}", settings.address))?;
            tracing::info!(
                "{}",
                ferromtx_api::started_line("[SRT]", &[(&settings.address, "UDP/SRT")])
            );
            Ok(Arc::new(Srt(Arc::new(server))))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::info!("[SRT] closing");
            self.0.close().await;
        })
    }

    fn sessions(self: &Arc<Self>) -> Option<Arc<dyn Sessions>> {
        Some(Arc::new(SrtApi(Arc::clone(&self.0))))
    }
}

/// What the API shows of the SRT server.
struct SrtApi(Arc<SrtServer>);

impl Sessions for SrtApi {
    fn servers(&self, running: &mut Servers) {
        running.srt = true;
    }

    fn srt_conns(&self) -> Vec<dto::SRTConn> {
        self.0.conns().iter().map(|c| conn(c)).collect()
    }

    fn kick_srt_conn(&self, id: &str) -> Option<Result<(), Failure>> {
        self.0.kick(id).then_some(Ok(()))
    }
}

fn time(t: SystemTime) -> String {
    dto::timestamp(DateTime::<Utc>::from(t))
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The API item of one connection: libsrt's counters, as MediaMTX names them.
pub fn conn(c: &ConnInfo) -> dto::SRTConn {
    let status = c.status();
    let s = status.stats.unwrap_or_default();
    let rate = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 * 100.0 / whole as f64
        }
    };
    dto::SRTConn {
        byte_mss: s.max_payload + 44,
        bytes_avail_receive_buf: s.receive_buffer_available,
        bytes_avail_send_buf: 0,
        bytes_receive_buf: 0,
        bytes_received: s.bytes_received,
        bytes_received_belated: 0,
        bytes_received_drop: 0,
        bytes_received_loss: 0,
        bytes_received_retrans: 0,
        bytes_received_undecrypt: 0,
        bytes_received_unique: s.bytes_received_unique,
        bytes_retrans: s.bytes_retransmitted,
        bytes_send_buf: s.send_buffer_bytes,
        bytes_send_drop: s.bytes_send_drop,
        bytes_sent: s.bytes_sent,
        bytes_sent_unique: s.bytes_sent_unique,
        created: time(c.created),
        id: c.id.clone(),
        mbps_link_capacity: 0.0,
        mbps_max_bw: 0.0,
        mbps_receive_rate: 0.0,
        mbps_send_rate: 0.0,
        ms_rtt: s.rtt.as_secs_f64() * 1000.0,
        ms_receive_buf: 0,
        ms_receive_tsb_pd_delay: ms(s.receive_latency),
        ms_send_buf: 0,
        ms_send_tsb_pd_delay: ms(s.send_latency),
        outbound_frames_discarded: status.frames_discarded,
        packets_flight_size: s.send_buffer_packets,
        packets_flow_window: 8192,
        packets_receive_buf: s.receive_buffer_packets,
        packets_received: s.packets_received,
        packets_received_ack: s.packets_received_ack,
        packets_received_avg_belated_time: 0,
        packets_received_belated: s.packets_received_belated,
        packets_received_drop: s.packets_received_drop,
        packets_received_km: s.packets_received_km,
        packets_received_loss: s.packets_received_loss,
        packets_received_loss_rate: rate(s.packets_received_loss, s.packets_received),
        packets_received_nak: s.packets_received_nak,
        packets_received_retrans: s.packets_received_retransmitted,
        packets_received_undecrypt: s.packets_received_undecrypt,
        packets_received_unique: s.packets_received_unique,
        packets_reorder_tolerance: 0,
        packets_retrans: s.packets_retransmitted,
        packets_send_buf: s.send_buffer_packets,
        packets_send_drop: s.packets_send_drop,
        packets_send_loss: s.packets_send_loss,
        packets_send_loss_rate: rate(s.packets_retransmitted, s.packets_sent),
        packets_sent: s.packets_sent,
        packets_sent_ack: s.packets_sent_ack,
        packets_sent_km: s.packets_sent_km,
        packets_sent_nak: s.packets_sent_nak,
        packets_sent_unique: s.packets_sent_unique,
        path: status.path,
        query: status.query,
        remote_addr: c.remote_addr.to_string(),
        state: status.state,
        us_packets_send_period: 0.0,
        us_snd_duration: 0,
        user: status.user,
    }
}

//! What a run measured: per viewer and in total; as a one-line summary, JSON and a markdown
//! table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::process::Usage;
use crate::reception::ReceptionTotals;

/// One track of one viewer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackReport {
    /// `video` or `audio`.
    pub kind: String,
    /// Encoding name (`H264`, `opus`, ...).
    pub codec: String,
    pub reception: ReceptionTotals,
    /// NACK feedback packets sent.
    pub nacks_sent: u64,
    /// Retransmission (RTX) packets received.
    pub retransmissions: u64,
    /// Packets the reader dropped on purpose before its stack saw them (`--drop-every`), to
    /// make loss recovery work.
    #[serde(default)]
    pub dropped_on_purpose: u64,
    /// What the first loss was, when the protocol can tell (LL-HLS: which parts, why, when).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_loss: Option<String>,
}

/// One viewer (reader).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewerReport {
    pub id: usize,
    /// Signalling succeeded and media flowed (at least one RTP packet).
    pub connected: bool,
    pub error: Option<String>,
    /// From the viewer's start (before signalling) to ICE+DTLS up / PLAY answered.
    pub time_to_connect_ms: Option<f64>,
    pub time_to_first_packet_ms: Option<f64>,
    pub time_to_first_keyframe_ms: Option<f64>,
    /// From the first packet to the stop, seconds.
    pub receive_s: f64,
    /// Local UDP ports of the reader.
    pub local_ports: Vec<u16>,
    /// Datagrams the kernel dropped on those ports (the reader read too slowly).
    pub socket_drops: u64,
    pub tracks: Vec<TrackReport>,
}

/// Distribution of one per-viewer quantity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Distribution {
    pub fn of(mut values: Vec<f64>) -> Option<Distribution> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Some(Distribution {
            count: values.len(),
            p50: at(0.5),
            p95: at(0.95),
            max: values[values.len() - 1],
        })
    }
}

/// A whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Free text naming the run (e.g. the server measured).
    pub label: Option<String>,
    /// `webrtc` or `rtsp`.
    pub protocol: String,
    pub url: String,
    /// Details of the mode: `nack`, `no-nack`, `tcp`, `udp`.
    pub mode: String,
    pub readers: usize,
    pub connected: usize,
    pub ramp_rate: f64,
    /// Time all readers were held after the ramp-up.
    pub duration_s: f64,
    /// Unix time of the start, seconds.
    pub started_at: i64,
    /// Video and audio of every viewer added up.
    pub video: ReceptionTotals,
    pub audio: ReceptionTotals,
    pub nacks_sent: u64,
    pub retransmissions: u64,
    /// Packets the readers dropped on purpose (`--drop-every`).
    #[serde(default)]
    pub dropped_on_purpose: u64,
    /// Datagrams dropped on the readers' own sockets.
    pub socket_drops: u64,
    pub time_to_first_packet_ms: Option<Distribution>,
    pub time_to_first_keyframe_ms: Option<Distribution>,
    /// Measured after the ramp-up, over the last two thirds of the duration.
    pub server: Option<Usage>,
    pub server_pid: Option<u32>,
    /// This process, over the same window.
    pub bench: Option<Usage>,
    /// Mean bitrate received per viewer, kbit/s.
    pub kbps_per_viewer: f64,
    pub errors: Vec<String>,
    pub viewers: Vec<ViewerReport>,
}

impl Report {
    /// Fills the totals from `viewers`.
    pub fn summarize(&mut self) {
        self.connected = self.viewers.iter().filter(|v| v.connected).count();
        self.video = ReceptionTotals::default();
        self.audio = ReceptionTotals::default();
        self.nacks_sent = 0;
        self.retransmissions = 0;
        self.dropped_on_purpose = 0;
        let mut receive_s = 0.0;
        self.socket_drops = 0;
        for v in &self.viewers {
            receive_s += v.receive_s;
            self.socket_drops += v.socket_drops;
            for t in &v.tracks {
                if t.kind == "video" {
                    self.video.add(&t.reception);
                } else {
                    self.audio.add(&t.reception);
                }
                self.nacks_sent += t.nacks_sent;
                self.retransmissions += t.retransmissions;
                self.dropped_on_purpose += t.dropped_on_purpose;
            }
        }
        let bits = (self.video.bytes + self.audio.bytes) as f64 * 8.0;
        self.kbps_per_viewer = if receive_s > 0.0 {
            bits / receive_s / 1000.0
        } else {
            0.0
        };
        let collect = |f: fn(&ViewerReport) -> Option<f64>| {
            Distribution::of(self.viewers.iter().filter_map(f).collect())
        };
        self.time_to_first_packet_ms = collect(|v| v.time_to_first_packet_ms);
        self.time_to_first_keyframe_ms = collect(|v| v.time_to_first_keyframe_ms);
        let mut errors: Vec<String> = self
            .viewers
            .iter()
            .filter_map(|v| v.error.clone())
            .collect();
        errors.sort();
        errors.dedup();
        self.errors = errors;
    }

    /// Both tracks together.
    pub fn all(&self) -> ReceptionTotals {
        let mut t = self.video;
        t.add(&self.audio);
        t
    }

    pub fn loss_percent(&self) -> f64 {
        self.all().loss_percent()
    }

    /// One line: readers, loss, time to first frame, server and bench usage.
    pub fn summary_line(&self) -> String {
        let all = self.all();
        let mut s = format!(
            "{} {} {}: {}/{} connected, {} packets, lost {} ({:.3} %), dup {}, late {}, nacks {}, rtx {}, {:.0} kbit/s per viewer",
            self.protocol,
            self.mode,
            self.url,
            self.connected,
            self.readers,
            all.packets,
            all.lost,
            all.loss_percent(),
            all.duplicates,
            all.late,
            self.nacks_sent,
            self.retransmissions,
            self.kbps_per_viewer
        );
        if self.socket_drops > 0 {
            let _ = write!(s, ", {} dropped on the readers' sockets", self.socket_drops);
        }
        if let Some(d) = self.time_to_first_keyframe_ms {
            let _ = write!(
                s,
                ", first keyframe p50 {:.0} ms p95 {:.0} ms",
                d.p50, d.p95
            );
        }
        if let Some(u) = self.server {
            let _ = write!(
                s,
                ", server RSS {:.1} MB (max {:.1}) CPU {:.1} %",
                u.rss_mean_mb, u.rss_max_mb, u.cpu_percent
            );
        }
        if let Some(u) = self.bench {
            let _ = write!(s, ", bench CPU {:.1} %", u.cpu_percent);
        }
        s
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v:.digits$}"))
}

/// A markdown table, one row per report.
pub fn markdown_table(reports: &[Report]) -> String {
    let mut s = String::from(
        "| label | protocol | mode | viewers | connected | server RSS mean / max (MB) | server CPU (% of one core) | loss (%) | NACKs | RTX | reader socket drops | first packet p50 (ms) | first keyframe p50 / p95 (ms) | kbit/s per viewer | bench CPU (%) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let server = r.server;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} / {} | {} | {:.3} | {} | {} | {} | {} | {} / {} | {:.0} | {} |",
            r.label.as_deref().unwrap_or(""),
            r.protocol,
            r.mode,
            r.readers,
            r.connected,
            opt(server.map(|u| u.rss_mean_mb), 1),
            opt(server.map(|u| u.rss_max_mb), 1),
            opt(server.map(|u| u.cpu_percent), 1),
            r.loss_percent(),
            r.nacks_sent,
            r.retransmissions,
            r.socket_drops,
            opt(r.time_to_first_packet_ms.map(|d| d.p50), 0),
            opt(r.time_to_first_keyframe_ms.map(|d| d.p50), 0),
            opt(r.time_to_first_keyframe_ms.map(|d| d.p95), 0),
            r.kbps_per_viewer,
            opt(r.bench.map(|u| u.cpu_percent), 1),
        );
    }
    s
}

/// Orders reports by label, protocol, mode, then number of readers.
pub fn sort(reports: &mut [Report]) {
    reports.sort_by(|a, b| {
        (&a.label, &a.protocol, &a.mode, a.readers).cmp(&(
            &b.label,
            &b.protocol,
            &b.mode,
            b.readers,
        ))
    });
}

/// The performance budget: `(viewers, RSS MB, CPU % of one core)`, loss 0.
pub const TARGETS: [(usize, f64, f64); 2] = [(64, 32.0, 5.0), (1000, 128.0, 60.0)];

fn versus(value: f64, target: f64) -> String {
    if value <= target {
        format!("met ({value:.1} <= {target})")
    } else {
        format!(
            "missed by {:.0} % ({value:.1} > {target})",
            (value / target - 1.0) * 100.0
        )
    }
}

/// One line per WebRTC NACK report at a target's viewer count: RSS, CPU and loss against it.
pub fn target_lines(reports: &[Report]) -> String {
    let mut s = String::new();
    for (viewers, rss, cpu) in TARGETS {
        for r in reports
            .iter()
            .filter(|r| r.protocol == "webrtc" && r.mode == "nack" && r.readers == viewers)
        {
            let Some(u) = r.server else {
                continue;
            };
            let _ = writeln!(
                s,
                "- {} at {viewers} viewers: RSS {}; CPU {}; loss {:.3} %{}",
                r.label.as_deref().unwrap_or("server"),
                versus(u.rss_mean_mb, rss),
                versus(u.cpu_percent, cpu),
                r.loss_percent(),
                if r.connected < r.readers {
                    format!(" (only {} of {} viewers connected)", r.connected, r.readers)
                } else {
                    String::new()
                }
            );
        }
    }
    s
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 => format!("{:.1}x", b / a),
        _ => "–".to_string(),
    }
}

/// Side by side: for each (protocol, mode, viewers) measured under both labels, `base`'s and
/// `other`'s RSS, CPU and loss, and how many times more `other` needs.
pub fn comparison_table(reports: &[Report], base: &str, other: &str) -> String {
    let mut s = format!(
        "| protocol | mode | viewers | {base} RSS (MB) | {other} RSS (MB) | {other} / {base} | {base} CPU (%) | {other} CPU (%) | {other} / {base} | {base} loss (%) | {other} loss (%) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    let labelled = |l: &str| {
        reports
            .iter()
            .filter(move |r| r.label.as_deref() == Some(l))
            .collect::<Vec<_>>()
    };
    let others = labelled(other);
    for a in labelled(base) {
        let Some(b) = others
            .iter()
            .find(|b| b.protocol == a.protocol && b.mode == a.mode && b.readers == a.readers)
        else {
            continue;
        };
        let rss = |r: &Report| r.server.map(|u| u.rss_mean_mb);
        let cpu = |r: &Report| r.server.map(|u| u.cpu_percent);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} |",
            a.protocol,
            a.mode,
            a.readers,
            opt(rss(a), 1),
            opt(rss(b), 1),
            ratio(rss(a), rss(b)),
            opt(cpu(a), 1),
            opt(cpu(b), 1),
            ratio(cpu(a), cpu(b)),
            a.loss_percent(),
            b.loss_percent(),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(kind: &str, expected: u64, lost: u64) -> TrackReport {
        TrackReport {
            kind: kind.into(),
            codec: "x".into(),
            reception: ReceptionTotals {
                packets: expected - lost,
                unique: expected - lost,
                expected,
                lost,
                ..Default::default()
            },
            nacks_sent: 2,
            retransmissions: 1,
            ..TrackReport::default()
        }
    }

    #[test]
    fn totals_and_table() {
        let mut r = Report {
            protocol: "webrtc".into(),
            mode: "nack".into(),
            readers: 3,
            viewers: vec![
                ViewerReport {
                    id: 0,
                    connected: true,
                    time_to_first_keyframe_ms: Some(100.0),
                    tracks: vec![track("video", 100, 1), track("audio", 50, 0)],
                    ..Default::default()
                },
                ViewerReport {
                    id: 1,
                    connected: true,
                    time_to_first_keyframe_ms: Some(300.0),
                    tracks: vec![track("video", 100, 0)],
                    ..Default::default()
                },
                ViewerReport {
                    id: 2,
                    error: Some("POST: 404".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        r.summarize();
        assert_eq!(r.connected, 2);
        assert_eq!((r.video.expected, r.video.lost), (200, 1));
        assert_eq!(r.audio.expected, 50);
        assert_eq!((r.nacks_sent, r.retransmissions), (6, 3));
        assert_eq!(r.errors, vec!["POST: 404".to_string()]);
        let d = r.time_to_first_keyframe_ms.unwrap();
        assert_eq!((d.count, d.p50, d.max), (2, 300.0, 300.0));
        assert!((r.loss_percent() - 0.4).abs() < 1e-9);
        let line = r.summary_line();
        assert!(line.contains("2/3 connected"), "{line}");
        assert!(line.contains("lost 1 (0.400 %)"), "{line}");
        let table = markdown_table(&[r.clone()]);
        assert_eq!(table.lines().count(), 3);
        assert!(
            table.lines().nth(2).unwrap().contains("| 0.400 |"),
            "{table}"
        );
        let json = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn side_by_side_with_ratios() {
        let mk = |label: &str, readers: usize, rss: f64, cpu: f64| Report {
            label: Some(label.into()),
            protocol: "webrtc".into(),
            mode: "nack".into(),
            readers,
            server: Some(Usage {
                rss_mean_mb: rss,
                rss_max_mb: rss,
                cpu_percent: cpu,
                samples: 2,
                window_s: 1.0,
            }),
            ..Default::default()
        };
        let reports = vec![
            mk("ferromtx", 64, 20.0, 4.0),
            mk("mediamtx", 64, 360.0, 32.0),
            mk("ferromtx", 1000, 100.0, 50.0),
        ];
        let t = comparison_table(&reports, "ferromtx", "mediamtx");
        let rows: Vec<&str> = t.lines().skip(2).collect();
        assert_eq!(rows.len(), 1, "{t}");
        assert!(
            rows[0].contains("| 64 | 20.0 | 360.0 | 18.0x | 4.0 | 32.0 | 8.0x |"),
            "{t}"
        );
    }

    #[test]
    fn targets_met_or_missed() {
        let mk = |readers: usize, rss: f64, cpu: f64, connected: usize| Report {
            label: Some("ferromtx".into()),
            protocol: "webrtc".into(),
            mode: "nack".into(),
            readers,
            connected,
            server: Some(Usage {
                rss_mean_mb: rss,
                rss_max_mb: rss,
                cpu_percent: cpu,
                samples: 2,
                window_s: 1.0,
            }),
            ..Default::default()
        };
        let mut reports = vec![
            mk(1000, 192.0, 30.0, 600),
            mk(16, 1.0, 1.0, 16),
            mk(64, 30.0, 10.0, 64),
        ];
        let t = target_lines(&reports);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2, "{t}");
        assert!(
            lines[0].contains("64 viewers: RSS met (30.0 <= 32); CPU missed by 100 % (10.0 > 5)"),
            "{t}"
        );
        assert!(lines[1].contains("RSS missed by 50 % (192.0 > 128)"), "{t}");
        assert!(
            lines[1].contains("only 600 of 1000 viewers connected"),
            "{t}"
        );
        sort(&mut reports);
        let order: Vec<usize> = reports.iter().map(|r| r.readers).collect();
        assert_eq!(order, vec![16, 64, 1000]);
    }

    #[test]
    fn distributions() {
        assert!(Distribution::of(vec![]).is_none());
        let d = Distribution::of((1..=100).map(f64::from).collect()).unwrap();
        assert_eq!(d.p50, 51.0);
        assert_eq!(d.p95, 95.0);
        assert_eq!(d.max, 100.0);
    }
}

//! Low-Latency HLS readers: each opens the multivariant playlist (a session), then follows
//! every media playlist (video, and audio when it is a rendition of its own) with blocking
//! playlist reloads (`_HLS_msn` / `_HLS_part`) and fetches every part as it appears, the
//! way hls.js and Apple players do. Nothing is decoded: a part is counted by its bytes.
//!
//! Per media playlist the report's track counts parts: `packets`/`unique` fetched,
//! `expected` the parts that appeared since the reader joined, `lost` those it never got
//! (it fell behind the playlist's window), `late` the blocking reloads that answered with
//! more than the part asked for (the reader was behind the live edge).

use std::sync::Arc;
use std::time::Duration;

use ferromtx_hls::source::playlist::{self, Media, Playlist};
use reqwest::{Client, Url};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::load::Progress;
use crate::reception::ReceptionTotals;
use crate::report::{TrackReport, ViewerReport};

/// Longest wait for one answer (a blocking reload waits up to a few part durations).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest part or playlist read.
const MAX_BODY: usize = 16 << 20;

/// What every reader shares.
#[derive(Debug, Clone)]
pub struct HlsOptions {
    /// `http://HOST:8888/PATH/index.m3u8`.
    pub url: Url,
    pub client: Client,
}

impl HlsOptions {
    /// Options for the multivariant playlist at `url` (`.../PATH/index.m3u8`, or
    /// `.../PATH` to which `/index.m3u8` is added).
    pub fn new(url: &str) -> Result<HlsOptions, String> {
        let mut url = Url::parse(url).map_err(|e| format!("'{url}': {e}"))?;
        if !url.path().ends_with(".m3u8") {
            let p = format!("{}/index.m3u8", url.path().trim_end_matches('/'));
            url.set_path(&p);
        }
        let client = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(usize::MAX)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HlsOptions { url, client })
    }
}

async fn get(client: &Client, url: &Url) -> Result<bytes::Bytes, String> {
    let res = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("{}: status {}", url.path(), res.status().as_u16()));
    }
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    if body.len() > MAX_BODY {
        return Err(format!("{}: too large", url.path()));
    }
    Ok(body)
}

async fn get_playlist(client: &Client, url: &Url) -> Result<Playlist, String> {
    let body = get(client, url).await?;
    let text = std::str::from_utf8(&body).map_err(|_| "playlist is not UTF-8".to_string())?;
    playlist::parse(text).map_err(|e| e.to_string())
}

/// One media playlist followed part by part.
struct Follow {
    url: Url,
    kind: &'static str,
    /// (msn, index) of the next part to fetch.
    next: Option<(u64, u64)>,
    totals: ReceptionTotals,
    first_part: Option<Instant>,
    started: Instant,
    /// The first loss: which parts, why, and when since the reader started.
    first_loss: Option<String>,
}

impl Follow {
    fn new(url: Url, kind: &'static str) -> Follow {
        Follow {
            url,
            kind,
            next: None,
            totals: ReceptionTotals::default(),
            first_part: None,
            started: Instant::now(),
            first_loss: None,
        }
    }

    fn note_loss(&mut self, what: impl FnOnce() -> String) {
        if self.first_loss.is_none() {
            let at = self.started.elapsed().as_secs_f64();
            self.first_loss = Some(format!("{} at {at:.1} s", what()));
        }
    }

    fn request_url(&self) -> Url {
        let mut u = self.url.clone();
        if let Some((msn, part)) = self.next {
            u.query_pairs_mut()
                .append_pair("_HLS_msn", &msn.to_string())
                .append_pair("_HLS_part", &part.to_string());
        }
        u
    }

    /// Fetches the parts of `media` from `self.next` on. Parts the reader fell too far
    /// behind to get (gone from the playlist, or answered 404) are counted as lost.
    async fn fetch_parts(
        &mut self,
        client: &Client,
        media: &Media,
        progress: &Progress,
    ) -> Result<(), String> {
        let Some(last) = media.parts.last() else {
            return Ok(());
        };
        let (msn, index) = *self.next.get_or_insert((last.msn, last.index));
        // The part asked for, or the first one after it (index 0 of the next segment when
        // the asked one was past the end of its segment, or later when it is gone).
        let exact = media
            .parts
            .iter()
            .position(|p| (p.msn, p.index) == (msn, index));
        let Some(first) = exact.or_else(|| {
            media
                .parts
                .iter()
                .position(|p| p.msn > msn || (p.msn == msn && p.index > index))
        }) else {
            // Everything listed is older than what we wait for: nothing new.
            return Ok(());
        };
        let found = &media.parts[first];
        if exact.is_none() {
            let skipped = if found.msn == msn {
                found.index - index
            } else if found.msn > msn + 1 || found.index > 0 {
                // Gone before we got them: whole segments at the playlist's part rate.
                let per_segment = match media.part_target {
                    Some(t) if t > 0.0 => (media.target_duration as f64 / t).round() as u64,
                    _ => 1,
                };
                (found.msn - msn).saturating_sub(1) * per_segment + found.index
            } else {
                0
            };
            self.totals.lost += skipped;
            self.totals.expected += skipped;
            if skipped > 0 {
                let (first_msn, first_index) = (media.parts[0].msn, media.parts[0].index);
                self.note_loss(|| {
                    format!(
                        "{skipped} parts from {msn}/{index} gone: the playlist's parts start \
                         at {first_msn}/{first_index}, its first after the wait is {}/{}",
                        found.msn, found.index
                    )
                });
            }
        }
        if media.parts.len() - first > 1 {
            self.totals.late += 1;
        }
        for p in &media.parts[first..] {
            let url = self.url.join(&p.uri).map_err(|e| e.to_string())?;
            self.totals.expected += 1;
            match get(client, &url).await {
                Ok(body) => {
                    self.totals.packets += 1;
                    self.totals.unique += 1;
                    self.totals.bytes += body.len() as u64;
                    progress.packet();
                    self.first_part.get_or_insert_with(Instant::now);
                }
                // Gone already: the reader is behind.
                Err(e) if e.ends_with("status 404") => {
                    self.totals.lost += 1;
                    self.note_loss(|| format!("part {}/{} answered 404", p.msn, p.index));
                }
                Err(e) => return Err(e),
            }
            self.next = Some((p.msn, p.index + 1));
        }
        Ok(())
    }
}

/// One reader until `stop`.
pub async fn reader(
    id: usize,
    opts: Arc<HlsOptions>,
    stop: CancellationToken,
    progress: Arc<Progress>,
) -> ViewerReport {
    let started = Instant::now();
    let mut report = ViewerReport {
        id,
        ..ViewerReport::default()
    };
    let client = &opts.client;
    let follows = tokio::select! {
        r = open(client, &opts.url) => r,
        () = stop.cancelled() => Err("stopped before the first playlist".into()),
    };
    let mut follows = match follows {
        Ok(f) => f,
        Err(e) => {
            progress
                .failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            report.error = Some(e);
            return report;
        }
    };
    report.time_to_connect_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    progress
        .connected
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let run = async {
        let mut tasks = Vec::new();
        for f in &mut follows {
            tasks.push(follow(client, f, &progress));
        }
        futures_join(tasks).await
    };
    let error = tokio::select! {
        e = run => e,
        () = stop.cancelled() => None,
    };
    let first = follows.iter().filter_map(|f| f.first_part).min();
    report.time_to_first_packet_ms =
        first.map(|t| t.duration_since(started).as_secs_f64() * 1000.0);
    report.receive_s = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    report.connected = follows.iter().any(|f| f.totals.unique > 0);
    report.error = error;
    report.tracks = follows
        .into_iter()
        .map(|f| TrackReport {
            kind: f.kind.into(),
            codec: "fMP4 parts".into(),
            reception: f.totals,
            first_loss: f.first_loss,
            ..TrackReport::default()
        })
        .collect();
    report
}

/// Runs the followers together; the first error ends them all.
async fn futures_join<F: std::future::Future<Output = Option<String>>>(
    tasks: Vec<F>,
) -> Option<String> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = tasks.into_iter().map(Box::pin).collect();
    std::future::poll_fn(move |cx| {
        let mut i = 0;
        while i < set.len() {
            match set[i].as_mut().poll(cx) {
                std::task::Poll::Ready(Some(e)) => return std::task::Poll::Ready(Some(e)),
                std::task::Poll::Ready(None) => {
                    set.swap_remove(i);
                }
                std::task::Poll::Pending => i += 1,
            }
        }
        if set.is_empty() {
            std::task::Poll::Ready(None)
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

async fn open(client: &Client, url: &Url) -> Result<Vec<Follow>, String> {
    let res = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("index.m3u8: status {}", res.status().as_u16()));
    }
    // After the server's redirect (session check), URIs are relative to the final URL.
    let base = res.url().clone();
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&body).map_err(|_| "playlist is not UTF-8".to_string())?;
    let follow = |uri: &str, kind| -> Result<Follow, String> {
        Ok(Follow::new(
            base.join(uri).map_err(|e| e.to_string())?,
            kind,
        ))
    };
    match playlist::parse(text).map_err(|e| e.to_string())? {
        Playlist::Multivariant(m) => {
            let (v, audio) = m.choose().ok_or("no variant")?;
            let mut out = vec![follow(&v.uri, "video")?];
            if let Some(a) = audio {
                out.push(follow(a, "audio")?);
            }
            Ok(out)
        }
        Playlist::Media(_) => Ok(vec![Follow::new(base, "video")]),
    }
}

async fn follow(client: &Client, f: &mut Follow, progress: &Progress) -> Option<String> {
    loop {
        let media = match get_playlist(client, &f.request_url()).await {
            Ok(Playlist::Media(m)) => m,
            Ok(Playlist::Multivariant(_)) => return Some("unexpected multivariant".into()),
            Err(e) => return Some(e),
        };
        if media.parts.is_empty() {
            return Some("the playlist has no parts (not low-latency)".into());
        }
        if let Err(e) = f.fetch_parts(client, &media, progress).await {
            return Some(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_added_to_a_path_url() {
        let o = HlsOptions::new("http://127.0.0.1:8888/cam").expect("options");
        assert_eq!(o.url.as_str(), "http://127.0.0.1:8888/cam/index.m3u8");
        let o = HlsOptions::new("http://h:1/a/b/index.m3u8?t=1").expect("options");
        assert_eq!(o.url.as_str(), "http://h:1/a/b/index.m3u8?t=1");
        assert!(HlsOptions::new("not a url").is_err());
    }
}

//! The recorder of one path: a reader of the path's stream that feeds a segment writer and
//! carries out its file operations. It runs on a blocking thread of the runtime (file I/O
//! blocks), waits for units with the runtime's handle, and never touches the stream's
//! other readers: when the disk is slow the recorder falls behind in the ring and skips to
//! the next keyframe like any slow reader.
//!
//! A failure (a directory that can't be created, a full disk, a segment deleted while it
//! is written, clock drift) is logged at error level and ends the run; the current
//! segment is closed as well as it can be, and a new run starts after [`RESTART_PAUSE`]
//! with a new stream id, as MediaMTX does.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferromtx_codec::Format;
use ferromtx_conf::{PathConf, RecordFormat};
use ferromtx_core::externalcmd::{Environment, ExternalCmd};
use ferromtx_core::{Reader, Stream, Unit};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use crate::fmp4_writer::{Fmp4Writer, mvhd_millis};
use crate::path_format;
use crate::segment::{Output, Settings, WriteError};
use crate::track::{Input, Track};
use crate::ts_writer::TsWriter;

/// Pause before a failed recording starts again (MediaMTX's).
pub const RESTART_PAUSE: Duration = Duration::from_secs(2);

/// What a recorder needs to know of its path.
#[derive(Debug, Clone)]
pub struct RecorderConf {
    pub path: String,
    pub format: RecordFormat,
    pub settings: Settings,
    pub run_on_segment_create: String,
    pub run_on_segment_complete: String,
    /// The path's hook environment.
    pub env: Environment,
}

impl RecorderConf {
    pub fn new(path: &str, conf: &PathConf, env: &Environment) -> RecorderConf {
        RecorderConf {
            path: path.to_owned(),
            format: conf.record_format,
            settings: Settings {
                template: path_format::add_extension(
                    &conf.record_path.replace("%path", path),
                    conf.record_format,
                ),
                part_duration: conf.record_part_duration,
                max_part_size: conf.record_max_part_size,
                segment_duration: conf.record_segment_duration,
            },
            run_on_segment_create: conf.run_on_record_segment_create.clone(),
            run_on_segment_complete: conf.run_on_record_segment_complete.clone(),
            env: env.clone(),
        }
    }
}

enum Writer {
    Fmp4(Fmp4Writer),
    Ts(TsWriter),
}

/// One run of a recorder: a reader from the live edge, the recorded tracks, a writer.
pub(crate) struct Run {
    conf: Arc<RecorderConf>,
    stream: Arc<Stream>,
    reader: Reader,
    /// The stream track index of each recorded track.
    indexes: Vec<usize>,
    tracks: Vec<Track>,
    writer: Writer,
    file: Option<(File, String)>,
    path_span: tracing::Span,
}

impl Run {
    /// Chooses the tracks and logs what is recorded (`recording 2 tracks (H264, Opus)`),
    /// or `None` after `no supported tracks found, skipping recording`.
    pub(crate) fn start(
        conf: Arc<RecorderConf>,
        stream: Arc<Stream>,
        path_span: tracing::Span,
    ) -> Option<Run> {
        let mut tracks = Vec::new();
        let mut indexes = Vec::new();
        let mut ts_codecs = Vec::new();
        let mut names = Vec::new();
        for (i, t) in stream.tracks().iter().enumerate() {
            let clock = t.format.clock_rate();
            let input = match conf.format {
                RecordFormat::Mpegts => Input::for_mpegts(&t.format).map(|(input, codec)| {
                    ts_codecs.push((codec, clock));
                    input
                }),
                _ => Input::for_fmp4(&t.format),
            };
            match input {
                Some(input) => {
                    names.push(t.format.codec_name());
                    indexes.push(i);
                    tracks.push(Track::new(input, clock));
                }
                None => tracing::warn!("skipping track {} ({})", i + 1, t.format.codec_name()),
            }
        }
        if tracks.is_empty() {
            tracing::warn!("no supported tracks found, skipping recording");
            return None;
        }
        let writer = match conf.format {
            RecordFormat::Mpegts => match TsWriter::new(conf.settings.clone(), &ts_codecs) {
                Ok(w) => Writer::Ts(w),
                Err(e) => {
                    tracing::error!("{e}");
                    return None;
                }
            },
            _ => Writer::Fmp4(Fmp4Writer::new(
                conf.settings.clone(),
                rand::random(),
                &tracks,
            )),
        };
        tracing::info!("recording {}", ferromtx_core::stream::tracks_info(&names));
        let reader = stream.reader();
        Some(Run {
            conf,
            stream,
            reader,
            indexes,
            tracks,
            writer,
            file: None,
            path_span,
        })
    }

    /// Records until the stream ends, `cancel` fires or something fails.
    fn run(&mut self, handle: &Handle, cancel: &CancellationToken) -> Result<(), String> {
        loop {
            let unit = handle.block_on(async {
                tokio::select! {
                    u = self.reader.next() => u,
                    () = cancel.cancelled() => None,
                }
            });
            let Some(unit) = unit else {
                return Ok(());
            };
            let mut out = Vec::new();
            self.write(&unit, &mut out).map_err(|e| e.to_string())?;
            for o in out {
                self.execute(o)?;
            }
        }
    }

    fn write(&mut self, unit: &Unit, out: &mut Vec<Output>) -> Result<(), WriteError> {
        let Some(slot) = self.indexes.iter().position(|i| *i == unit.track) else {
            return Ok(());
        };
        // The described parameter sets only matter for keyframes.
        let described;
        let format: &Format = if unit.random_access {
            described = self.stream.described_tracks();
            match described.get(unit.track) {
                Some(t) => &t.format,
                None => return Ok(()),
            }
        } else {
            match self.stream.tracks().get(unit.track) {
                Some(t) => &t.format,
                None => return Ok(()),
            }
        };
        let track = &mut self.tracks[slot];
        let (au, changed) = track.accept(unit, format);
        if changed {
            tracing::debug!("codec parameters have changed");
        }
        let Some(au) = au else {
            return Ok(());
        };
        match &mut self.writer {
            Writer::Fmp4(w) => {
                for sample in track.samples(au) {
                    w.write(&self.tracks, slot, sample, out)?;
                }
            }
            Writer::Ts(w) => w.write(slot, au, out)?,
        }
        Ok(())
    }

    /// Ends the run: what the writer still holds goes to disk (errors are only logged at
    /// debug level, the run already failed or ended).
    fn finish(&mut self) {
        let mut out = Vec::new();
        let result = match &mut self.writer {
            Writer::Fmp4(w) => w.close(&self.tracks, &mut out),
            Writer::Ts(w) => {
                w.close(&mut out);
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::debug!("{e}");
        }
        for o in out {
            if let Err(e) = self.execute(o) {
                tracing::debug!("{e}");
            }
        }
        self.file = None;
    }

    fn execute(&mut self, output: Output) -> Result<(), String> {
        match output {
            Output::Create { path, bytes } => {
                self.file = None;
                tracing::debug!("creating segment {path}");
                let file = create(&path)?;
                self.hook_create(&path);
                let mut file = (file, path);
                write_all(&mut file, &bytes)?;
                self.file = Some(file);
            }
            Output::Append(bytes) => {
                if let Some(file) = &mut self.file {
                    still_there(file)?;
                    write_all(file, &bytes)?;
                }
            }
            Output::Close {
                path,
                duration,
                mvhd,
            } => {
                let Some((file, open)) = self.file.take() else {
                    return Ok(());
                };
                if open != path {
                    return Ok(());
                }
                tracing::debug!("closing segment {path}");
                let written = match mvhd {
                    Some(offset) => file
                        .write_all_at(&mvhd_millis(duration).to_be_bytes(), offset as u64)
                        .map_err(|e| go_error("write", &path, &e)),
                    None => Ok(()),
                };
                drop(file);
                self.hook_complete(&path, duration);
                written?;
            }
        }
        Ok(())
    }

    fn hook_create(&self, segment: &str) {
        if self.conf.run_on_segment_create.is_empty() {
            return;
        }
        let mut env = self.conf.env.clone();
        env.insert("MTX_SEGMENT_PATH".into(), segment.into());
        let _e = self.path_span.enter();
        tracing::info!("runOnRecordSegmentCreate command launched");
        ExternalCmd::start(&self.conf.run_on_segment_create, false, env, |err| {
            tracing::info!("runOnRecordSegmentCreate command exited: {err}");
        })
        .detach();
    }

    fn hook_complete(&self, segment: &str, duration: Duration) {
        if self.conf.run_on_segment_complete.is_empty() {
            return;
        }
        let mut env = self.conf.env.clone();
        env.insert("MTX_SEGMENT_PATH".into(), segment.into());
        env.insert(
            "MTX_SEGMENT_DURATION".into(),
            format!("{}", duration.as_secs_f64()),
        );
        let _e = self.path_span.enter();
        tracing::info!("runOnRecordSegmentComplete command launched");
        ExternalCmd::start(&self.conf.run_on_segment_complete, false, env, |err| {
            tracing::info!("runOnRecordSegmentComplete command exited: {err}");
        })
        .detach();
    }
}

/// Records `stream` until `cancel` fires or the stream ends, starting again after each
/// failure. `first` is the run started when the recording was asked for. Blocking: run it
/// on a blocking thread of the runtime `handle` belongs to.
pub(crate) fn record(
    conf: Arc<RecorderConf>,
    stream: Arc<Stream>,
    first: Run,
    handle: Handle,
    cancel: CancellationToken,
    span: tracing::Span,
) {
    let _e = span.enter();
    let path_span = first.path_span.clone();
    let mut run = Some(first);
    while let Some(mut r) = run.take() {
        let result = r.run(&handle, &cancel);
        r.finish();
        drop(r);
        match result {
            Ok(()) => break,
            Err(e) => tracing::error!("{e}"),
        }
        let stopped = handle.block_on(async {
            tokio::select! {
                () = tokio::time::sleep(RESTART_PAUSE) => false,
                () = cancel.cancelled() => true,
            }
        });
        if stopped || stream.is_closed() {
            break;
        }
        run = Run::start(Arc::clone(&conf), Arc::clone(&stream), path_span.clone());
    }
    tracing::info!("recording stopped");
}

/// `mkdir -p` of the segment's directory, then the file.
fn create(path: &str) -> Result<File, String> {
    if let Some(dir) = Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| go_error("mkdir", &dir.to_string_lossy(), &e))?;
    }
    File::create(path).map_err(|e| go_error("open", path, &e))
}

fn write_all((file, path): &mut (File, String), bytes: &[u8]) -> Result<(), String> {
    file.write_all(bytes)
        .map_err(|e| go_error("write", path, &e))
}

/// Fails when the segment was deleted or replaced since it was created: what would be
/// written next would be lost.
fn still_there((file, path): &(File, String)) -> Result<(), String> {
    let open = file.metadata().map_err(|e| go_error("stat", path, &e))?;
    match std::fs::metadata(path.as_str()) {
        Ok(m) if m.ino() == open.ino() && m.dev() == open.dev() => Ok(()),
        Ok(_) => Err(format!("segment {path} was replaced while being written")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("segment {path} was deleted while being written"))
        }
        Err(e) => Err(go_error("stat", path, &e)),
    }
}

/// An I/O error worded as Go's `*PathError` (`mkdir /rec/cam: permission denied`).
pub(crate) fn go_error(op: &str, path: &str, e: &std::io::Error) -> String {
    format!("{op} {path}: {}", io_reason(e))
}

/// The reason of an I/O error without Rust's ` (os error N)` suffix, lower case as Go's.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_like_go() {
        let e = std::io::Error::from_raw_os_error(13);
        assert_eq!(
            go_error("mkdir", "/r/cam", &e),
            "mkdir /r/cam: permission denied"
        );
        let e = std::io::Error::from_raw_os_error(28);
        assert_eq!(io_reason(&e), "no space left on device");
    }
}

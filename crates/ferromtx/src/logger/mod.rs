//! MediaMTX-compatible logging: a `tracing` layer that writes
//! `2026/11/24 18:02:15 INF [RTSP] [conn 1.2.3.4:5678] opened` lines (or one JSON object per
//! line with `logStructured`) to stdout, a file and/or syslog.
//!
//! Prefixes come from the fields of the spans an event is in: a field named `component`
//! renders as `[value]`, any other field as `[name value]`. So a connection span
//! `info_span!("conn", component = "RTSP", conn = %addr)` gives `[RTSP] [conn 1.2.3.4:5678]`.
//! The settings can be swapped at run time (config reload) without re-installing the layer.

mod line;
mod syslog;

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

pub use line::Level;
use line::{format_json, format_plain};
use syslog::Syslog;

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
    /// Syslog with the given tag; `socket` overrides `/dev/log` (tests).
    Syslog {
        prefix: String,
        socket: Option<PathBuf>,
    },
}

/// Logger settings, taken from `logLevel`, `logDestinations`, `logStructured`, `logFile`,
/// `sysLogPrefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub level: Level,
    pub structured: bool,
    pub destinations: Vec<Destination>,
}

/// Errors opening a destination.
#[derive(Debug, thiserror::Error)]
pub enum LoggerError {
    #[error("unable to open log file '{path}': {source}")]
    File { path: PathBuf, source: io::Error },
    #[error("unable to connect to syslog: {0}")]
    Syslog(io::Error),
}

enum Sink {
    Stdout {
        color: bool,
    },
    File(File),
    Syslog(Syslog),
    /// In-memory sink for tests.
    #[cfg(test)]
    Memory(Arc<Mutex<Vec<u8>>>),
}

struct Sinks {
    structured: bool,
    sinks: Vec<Sink>,
}

/// Handle to change the settings of an installed [`LogLayer`].
#[derive(Clone)]
pub struct LoggerHandle {
    level: Arc<AtomicU8>,
    sinks: Arc<Mutex<Sinks>>,
}

impl LoggerHandle {
    /// Applies new settings. On error the previous settings stay in force.
    pub fn apply(&self, settings: &Settings) -> Result<(), LoggerError> {
        let sinks = open_sinks(&settings.destinations)?;
        let mut cur = self.sinks.lock().unwrap_or_else(PoisonError::into_inner);
        cur.structured = settings.structured;
        cur.sinks = sinks;
        self.level.store(settings.level as u8, Ordering::Relaxed);
        Ok(())
    }
}

/// The layer. Create with [`LogLayer::new`], install with `tracing_subscriber::registry().with(layer)`.
pub struct LogLayer {
    level: Arc<AtomicU8>,
    sinks: Arc<Mutex<Sinks>>,
}

impl LogLayer {
    pub fn new(settings: &Settings) -> Result<(LogLayer, LoggerHandle), LoggerError> {
        let sinks = Sinks {
            structured: settings.structured,
            sinks: open_sinks(&settings.destinations)?,
        };
        let level = Arc::new(AtomicU8::new(settings.level as u8));
        let sinks = Arc::new(Mutex::new(sinks));
        let handle = LoggerHandle {
            level: level.clone(),
            sinks: sinks.clone(),
        };
        Ok((LogLayer { level, sinks }, handle))
    }

    #[cfg(test)]
    fn memory(level: Level, structured: bool) -> (LogLayer, Arc<Mutex<Vec<u8>>>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let layer = LogLayer {
            level: Arc::new(AtomicU8::new(level as u8)),
            sinks: Arc::new(Mutex::new(Sinks {
                structured,
                sinks: vec![Sink::Memory(buf.clone())],
            })),
        };
        (layer, buf)
    }

    fn current_level(&self) -> Level {
        Level::from_u8(self.level.load(Ordering::Relaxed))
    }
}

fn open_sinks(destinations: &[Destination]) -> Result<Vec<Sink>, LoggerError> {
    let mut sinks = Vec::with_capacity(destinations.len());
    for d in destinations {
        sinks.push(match d {
            Destination::Stdout => Sink::Stdout {
                color: io::stdout().is_terminal(),
            },
            Destination::File(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| LoggerError::File {
                        path: path.clone(),
                        source,
                    })?;
                Sink::File(file)
            }
            Destination::Syslog { prefix, socket } => Sink::Syslog(
                Syslog::connect(prefix, socket.as_deref()).map_err(LoggerError::Syslog)?,
            ),
        });
    }
    Ok(sinks)
}

/// The rendered `[..] [..]` prefix of a span, kept in the span's extensions.
struct SpanPrefix(String);

#[derive(Default)]
struct PrefixVisitor(String);

impl Visit for PrefixVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "component" {
            let _ = write!(self.0, "[{value:?}]");
        } else {
            let _ = write!(self.0, "[{} {value:?}]", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "component" {
            let _ = write!(self.0, "[{value}]");
        } else {
            let _ = write!(self.0, "[{} {value}]", field.name());
        }
    }
}

/// Collects the message and any other fields (`key=value`) of an event.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    extra: String,
}

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.extra, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.extra, " {}={value}", field.name());
        }
    }
}

/// Events from our own crates pass at the configured level; those of dependencies
/// (hyper, str0m, ...) only when debugging, and then at info and above.
fn passes(meta: &Metadata<'_>, level: Level) -> bool {
    let Some(ev_level) = Level::from_tracing(*meta.level()) else {
        return false;
    };
    if meta.target().starts_with("ferromtx") {
        ev_level >= level
    } else {
        level == Level::Debug && ev_level >= Level::Info
    }
}

impl<S> tracing_subscriber::Layer<S> for LogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, _meta: &'static Metadata<'static>) -> Interest {
        // The level can change at run time: decide per event in `enabled`.
        Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        meta.is_span() || passes(meta, self.current_level())
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut v = PrefixVisitor::default();
        attrs.record(&mut v);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanPrefix(v.0));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            let mut v = PrefixVisitor(ext.remove::<SpanPrefix>().map(|p| p.0).unwrap_or_default());
            values.record(&mut v);
            ext.insert(SpanPrefix(v.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(level) = Level::from_tracing(*event.metadata().level()) else {
            return;
        };
        if !passes(event.metadata(), self.current_level()) {
            return;
        }
        let mut text = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(p) = span.extensions().get::<SpanPrefix>()
                    && !p.0.is_empty()
                {
                    text.push_str(&p.0);
                    text.push(' ');
                }
            }
        }
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        text.push_str(&v.message);
        text.push_str(&v.extra);

        let now = chrono::Local::now();
        let mut sinks = self.sinks.lock().unwrap_or_else(PoisonError::into_inner);
        let structured = sinks.structured;
        for sink in &mut sinks.sinks {
            // A destination that fails to take a line must not take the server down.
            let _ = match sink {
                Sink::Stdout { color } => {
                    let line = if structured {
                        format_json(&now, level, &text)
                    } else {
                        format_plain(&now, level, &text, *color)
                    };
                    io::stdout().lock().write_all(line.as_bytes())
                }
                Sink::File(f) => {
                    let line = if structured {
                        format_json(&now, level, &text)
                    } else {
                        format_plain(&now, level, &text, false)
                    };
                    f.write_all(line.as_bytes())
                }
                Sink::Syslog(s) => s.send(level, &text),
                #[cfg(test)]
                Sink::Memory(buf) => {
                    let line = if structured {
                        format_json(&now, level, &text)
                    } else {
                        format_plain(&now, level, &text, false)
                    };
                    buf.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend_from_slice(line.as_bytes());
                    Ok(())
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    fn capture(level: Level, structured: bool, f: impl FnOnce()) -> String {
        let (layer, buf) = LogLayer::memory(level, structured);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buf.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    /// Strips the `YYYY/MM/DD HH:MM:SS ` timestamp after checking its shape.
    fn strip_time(line: &str) -> &str {
        let (ts, rest) = line.split_at(20);
        let b = ts.as_bytes();
        for (i, c) in b.iter().enumerate() {
            match i {
                4 | 7 => assert_eq!(*c, b'/', "{line}"),
                10 | 19 => assert_eq!(*c, b' ', "{line}"),
                13 | 16 => assert_eq!(*c, b':', "{line}"),
                _ => assert!(c.is_ascii_digit(), "{line}"),
            }
        }
        rest
    }

    #[test]
    fn plain_line_with_component_and_object_prefixes() {
        let out = capture(Level::Info, false, || {
            let server = tracing::info_span!("server", component = "RTSP");
            let _g = server.enter();
            tracing::info!("started with listener on :8554 (TCP/RTSP)");
            let conn = tracing::info_span!("conn", conn = "1.2.3.4:5678");
            let _c = conn.enter();
            tracing::warn!("closed: {}", "EOF");
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(
            strip_time(lines[0]),
            "INF [RTSP] started with listener on :8554 (TCP/RTSP)"
        );
        assert_eq!(
            strip_time(lines[1]),
            "WAR [RTSP] [conn 1.2.3.4:5678] closed: EOF"
        );
    }

    #[test]
    fn level_filter_honours_log_level() {
        let out = capture(Level::Warn, false, || {
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        });
        let levels: Vec<&str> = out.lines().map(|l| &strip_time(l)[..3]).collect();
        assert_eq!(levels, ["WAR", "ERR"]);

        let out = capture(Level::Debug, false, || {
            tracing::trace!("t");
            tracing::debug!("d");
        });
        assert_eq!(out.lines().count(), 1);
        assert!(strip_time(out.lines().next().unwrap()).starts_with("DEB d"));
    }

    #[test]
    fn dependency_events_only_when_debugging() {
        let out = capture(Level::Info, false, || {
            tracing::warn!(target: "hyper::proto", "noise");
            tracing::info!("ours");
        });
        assert_eq!(out.lines().count(), 1);
        let out = capture(Level::Debug, false, || {
            tracing::warn!(target: "hyper::proto", "noise");
            tracing::debug!(target: "hyper::proto", "more noise");
        });
        assert_eq!(out.lines().count(), 1);
    }

    #[test]
    fn structured_lines_are_json_objects() {
        let out = capture(Level::Info, true, || {
            let s = tracing::info_span!("path", path = "cam1");
            let _g = s.enter();
            tracing::info!("say \"hi\"\nbye");
        });
        let v: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(v["level"], "INF");
        assert_eq!(v["message"], "[path cam1] say \"hi\"\nbye");
        let ts = v["timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(out.lines().count(), 1);
    }

    #[test]
    fn extra_fields_are_kept() {
        let out = capture(Level::Info, false, || {
            tracing::warn!(error = "boom", "request failed");
        });
        assert_eq!(
            strip_time(out.lines().next().unwrap()),
            "WAR request failed error=boom"
        );
    }

    #[test]
    fn file_destination_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mediamtx.log");
        std::fs::write(&path, "previous line\n").unwrap();
        let settings = Settings {
            level: Level::Info,
            structured: false,
            destinations: vec![Destination::File(path.clone())],
        };
        let (layer, _h) = LogLayer::new(&settings).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || tracing::info!("hello"));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "previous line");
        assert_eq!(strip_time(lines[1]), "INF hello");
    }

    #[test]
    fn unopenable_file_is_an_error_naming_it() {
        let settings = Settings {
            level: Level::Info,
            structured: false,
            destinations: vec![Destination::File("/nonexistent-dir/x.log".into())],
        };
        let err = LogLayer::new(&settings).err().unwrap();
        assert!(err.to_string().contains("/nonexistent-dir/x.log"), "{err}");
    }

    #[test]
    fn handle_changes_level_at_run_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let mut settings = Settings {
            level: Level::Warn,
            structured: false,
            destinations: vec![Destination::File(path.clone())],
        };
        let (layer, handle) = LogLayer::new(&settings).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("hidden");
            settings.level = Level::Info;
            handle.apply(&settings).unwrap();
            tracing::info!("shown");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert_eq!(strip_time(text.lines().next().unwrap()), "INF shown");
    }
}

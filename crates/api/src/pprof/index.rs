//! `/debug/pprof/`: the HTML index of the available profiles, as Go serves it, and the
//! answers for profile names this server does not have.

use std::fmt::Write as _;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tokio::runtime::Handle;

use super::PprofError;

/// One row of the index: link, name and description.
struct Entry {
    href: &'static str,
    name: &'static str,
    description: &'static str,
}

const ENTRIES: [Entry; 6] = [
    Entry {
        href: "allocs",
        name: "allocs",
        description: "Sampled memory allocations (jemalloc). Same data as heap: jemalloc \
                      keeps only allocations that are still live.",
    },
    Entry {
        href: "cmdline",
        name: "cmdline",
        description: "The command line of the running program, arguments separated by NUL bytes.",
    },
    Entry {
        href: "goroutine?debug=1",
        name: "goroutine",
        description: "Live tokio tasks (the async equivalent of goroutines), with runtime \
                      metrics per worker and the OS threads in the debug=1 form.",
    },
    Entry {
        href: "heap",
        name: "heap",
        description: "A sampling of memory allocations of live objects (jemalloc). Add \
                      debug=1 for jemalloc's text dump.",
    },
    Entry {
        href: "profile",
        name: "profile",
        description: "CPU profile. Specify the duration in the seconds GET parameter \
                      (default 30). Download the file, then run go tool pprof on it.",
    },
    Entry {
        href: "symbol",
        name: "symbol",
        description: "Maps program counters (0x-prefixed, joined by +) to function names.",
    },
];

/// Go profile names that this server does not produce.
const UNSUPPORTED: [&str; 4] = ["block", "mutex", "threadcreate", "trace"];

/// Renders the index; `tasks` is shown as the goroutine count.
pub(crate) fn render(tasks: Option<usize>) -> String {
    let mut html = String::from(
        "<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n\
         .profile-name{ display:inline-block; width:6rem; }\n</style>\n</head>\n<body>\n\
         /debug/pprof/\n<br>\n\
         <p>Set debug=1 as a query parameter to export in legacy text format</p>\n<br>\n\
         Types of profiles available:\n<table>\n<thead><td>Count</td><td>Profile</td></thead>\n",
    );
    // Writing to a String cannot fail.
    for entry in &ENTRIES {
        let count = match (entry.name, tasks) {
            ("goroutine", Some(n)) => n.to_string(),
            _ => String::new(),
        };
        let _ = writeln!(
            html,
            "<tr><td>{count}</td><td><a href=\"{}\">{}</a></td></tr>",
            entry.href, entry.name
        );
    }
    html.push_str("</table>\n<br>\n<p>\nProfile Descriptions:\n<ul>\n");
    for entry in &ENTRIES {
        let _ = writeln!(
            html,
            "<li><div class=profile-name>{}: </div> {}</li>",
            entry.name, entry.description
        );
    }
    html.push_str("</ul>\n</p>\n</body>\n</html>\n");
    html
}

pub(super) async fn page() -> Html<String> {
    let tasks = Handle::try_current()
        .ok()
        .map(|h| h.metrics().num_alive_tasks());
    Html(render(tasks))
}

/// `/debug/pprof` → `/debug/pprof/`, as gin's trailing-slash redirect.
pub(super) async fn redirect() -> Response {
    let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/debug/pprof/"));
    response
}

pub(super) async fn other_profile(Path(name): Path<String>) -> PprofError {
    if UNSUPPORTED.contains(&name.as_str()) {
        PprofError::UnsupportedProfile(name)
    } else {
        PprofError::UnknownProfile(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_links_every_profile_and_shows_task_count() {
        let html = render(Some(17));
        for name in [
            "allocs",
            "cmdline",
            "goroutine",
            "heap",
            "profile",
            "symbol",
        ] {
            assert!(html.contains(&format!(">{name}</a>")), "{name} missing");
        }
        assert!(html.contains("<tr><td>17</td><td><a href=\"goroutine?debug=1\">"));
        assert!(html.starts_with("<html>"));
    }
}

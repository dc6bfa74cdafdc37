//! Request-URIs (RFC 2326 3.2) as servers meet them: the path and query of a request,
//! and which media a SETUP names, in the forms FFmpeg and GStreamer build.

use crate::sdp;

/// Splits a request URI into path (no leading or trailing `/`) and query.
pub fn path_and_query(uri: &str) -> Option<(String, Option<String>)> {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let rest = if uri.contains("://") {
        &rest[rest.find('/').unwrap_or(rest.len())..]
    } else {
        rest
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (rest, None),
    };
    let path = path.trim_matches('/');
    (!path.is_empty()).then(|| (path.to_string(), query))
}

/// A reader's SETUP URI taken apart: the stream's path, the query of the request
/// (without the media's control) and the media index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupTarget {
    pub path: String,
    pub query: Option<String>,
    pub track: usize,
}

/// Splits a reader's SETUP URI as gortsplib does: the control `trackID=N` may follow the
/// query (`rtsp://h/cam?token=x/trackID=1`, what FFmpeg sends after a DESCRIBE of a URL
/// with a query) or the path (`rtsp://h/cam/trackID=1?token=x`, GStreamer). Without a
/// control the first media is meant.
pub fn setup_target(uri: &str) -> Option<SetupTarget> {
    let (path, query) = path_and_query(uri)?;
    let track_of = |id: &str| id.parse::<usize>().ok();
    if let Some(q) = &query
        && let Some(i) = q.rfind("/trackID=")
    {
        let track = track_of(&q[i + "/trackID=".len()..])?;
        let rest = &q[..i];
        return Some(SetupTarget {
            path,
            query: (!rest.is_empty()).then(|| rest.to_string()),
            track,
        });
    }
    if let Some(i) = path.rfind("/trackID=") {
        let track = track_of(&path[i + "/trackID=".len()..])?;
        let base = path[..i].trim_end_matches('/');
        return (!base.is_empty()).then(|| SetupTarget {
            path: base.to_string(),
            query,
            track,
        });
    }
    if let Some(rest) = path.strip_prefix("trackID=") {
        // A bare control against a path-less base is not a path.
        track_of(rest)?;
        return None;
    }
    let query = query.map(|q| q.trim_end_matches('/').to_string());
    Some(SetupTarget {
        path,
        query: query.filter(|q| !q.is_empty()),
        track: 0,
    })
}

/// Splits a reader's SETUP URI into path and track index (see [`setup_target`]).
pub fn path_and_track(uri: &str) -> Option<(String, usize)> {
    setup_target(uri).map(|t| (t.path, t.track))
}

/// The control URL of a media as GStreamer builds it when the base has a query: the
/// control goes after the path, the query stays at the end (`rtsp://h/cam/streamid=0?x`).
pub(crate) fn gstreamer_control_url(base: &str, control: Option<&str>) -> String {
    match (base.split_once('?'), control.map(str::trim)) {
        (Some((path, query)), Some(c)) if !c.is_empty() && c != "*" && !c.contains("://") => {
            format!("{}/{c}?{query}", path.trim_end_matches('/'))
        }
        _ => sdp::control_url(base, control),
    }
}

//! RTMP URLs: the path and query a publish or play asks for (from the connect command's
//! `tcUrl` and the stream name, joined as MediaMTX joins them), and a client URL's
//! `tcUrl`, `app` and stream name.

/// A path and query requested by `publish` or `play`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPath {
    /// The URL path after the host, without leading slashes, percent-decoded
    /// (`rtmp://host/live/cam` gives `live/cam`).
    pub path: String,
    /// The raw query, without `?` (kept for hooks; credentials are read from it).
    pub query: String,
}

impl StreamPath {
    /// Joins `tcUrl` and a stream name: the name is appended as a path segment unless it
    /// is empty or only a query (which is then ignored, as MediaMTX does); the result is
    /// split into path and query, a fragment dropped.
    pub fn join(tc_url: &str, stream_name: &str) -> StreamPath {
        let tc_url = tc_url.trim_matches('\'');
        let joined = if !stream_name.is_empty() && !stream_name.starts_with('?') {
            format!("{tc_url}/{stream_name}")
        } else {
            tc_url.to_owned()
        };
        let without_fragment = joined.split('#').next().unwrap_or_default();
        let rest = match without_fragment.find("://") {
            Some(i) => {
                let after = &without_fragment[i + 3..];
                match after.find(['/', '?']) {
                    Some(j) => &after[j..],
                    None => "",
                }
            }
            None => without_fragment,
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, q),
            None => (rest, ""),
        };
        StreamPath {
            path: percent_decode(path.trim_start_matches('/'), false),
            query: query.to_owned(),
        }
    }

    /// The first value of a query parameter, decoded as a form value.
    pub fn query_value(&self, key: &str) -> Option<String> {
        query_value(&self.query, key)
    }
}

/// The first value of `key` in a query string (`a=1&b=2`), percent- and plus-decoded.
pub fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split(['&', ';'])
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| percent_decode(k, true) == key)
        .map(|(_, v)| percent_decode(v, true))
}

/// Decodes `%XX` escapes (invalid ones are kept as they are) and, in form values, `+`.
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where and what a client connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUrl {
    /// `rtmps` rather than `rtmp`.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// The connect command's `tcUrl`.
    pub tc_url: String,
    /// The connect command's `app`.
    pub app: String,
    /// The stream name of `publish`/`play`.
    pub stream: String,
}

impl ClientUrl {
    /// Splits `rtmp[s]://host[:port]/app.../name[?query]` as ffmpeg does: the last path
    /// segment (with the query) is the stream name, the segments before it the
    /// application. A single segment is the application, with the query in `app` and
    /// `tcUrl`, and an empty stream name. Credentials before the host are dropped.
    pub fn parse(url: &str) -> Option<ClientUrl> {
        let (scheme, rest) = url.split_once("://")?;
        let (tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "rtmp" => (false, 1935),
            "rtmps" => (true, 443),
            _ => return None,
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path_query) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let host_port = authority.rsplit('@').next().unwrap_or(authority);
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => match p.parse() {
                Ok(port) => (h, port),
                Err(_) => (host_port, default_port),
            },
            None => (host_port, default_port),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return None;
        }
        let (path, query) = match path_query.split_once('?') {
            Some((p, q)) => (p.trim_matches('/'), Some(q)),
            None => (path_query.trim_matches('/'), None),
        };
        let base = format!("{}://{}", scheme.to_ascii_lowercase(), host_port);
        let with_query = |s: &str| match query {
            Some(q) => format!("{s}?{q}"),
            None => s.to_owned(),
        };
        let (app, stream) = match path.rsplit_once('/') {
            Some((app, name)) => (app.to_owned(), with_query(name)),
            None => (with_query(path), String::new()),
        };
        Some(ClientUrl {
            tls,
            host,
            port,
            tc_url: format!("{base}/{app}"),
            app,
            stream,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(tc: &str, name: &str) -> (String, String) {
        let p = StreamPath::join(tc, name);
        (p.path, p.query)
    }

    #[test]
    fn paths_join_as_mediamtx_does() {
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(join("rtmp://host/live", "cam"), s("live/cam", ""));
        assert_eq!(
            join("rtmp://host:1935/live", "cam?user=a&pass=b"),
            s("live/cam", "user=a&pass=b")
        );
        // MediaMTX's own client: everything in tcUrl, empty stream name.
        assert_eq!(join("rtmp://h/a/b/c?x=1", ""), s("a/b/c", "x=1"));
        // A name that is only a query is ignored.
        assert_eq!(join("rtmp://h/cam", "?user=a"), s("cam", ""));
        // Quotes some clients put around tcUrl, percent escapes, fragments.
        assert_eq!(
            join("'rtmp://h/live'", "my%20cam#frag"),
            s("live/my cam", "")
        );
        assert_eq!(join("rtmp://h", "cam"), s("cam", ""));
        assert_eq!(join("rtmp://h//live", "cam"), s("live/cam", ""));
        assert_eq!(join("live", "cam"), s("live/cam", ""));
        assert_eq!(join("rtmp://h/live?key=1", "cam"), s("live", "key=1/cam"));
    }

    #[test]
    fn query_values_are_decoded() {
        let p = StreamPath::join("rtmp://h/live", "cam?user=my%20user&pass=a+b%26c&flag");
        assert_eq!(p.query_value("user").as_deref(), Some("my user"));
        assert_eq!(p.query_value("pass").as_deref(), Some("a b&c"));
        assert_eq!(p.query_value("flag").as_deref(), Some(""));
        assert_eq!(p.query_value("none"), None);
        assert_eq!(query_value("a=%zz%4", "a").as_deref(), Some("%zz%4"));
    }

    #[test]
    fn client_urls_split_like_ffmpeg() {
        let u = ClientUrl::parse("rtmp://127.0.0.1:1936/live/test?user=a").expect("parses");
        assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 1936, false));
        assert_eq!(u.tc_url, "rtmp://127.0.0.1:1936/live");
        assert_eq!((u.app.as_str(), u.stream.as_str()), ("live", "test?user=a"));
        let u = ClientUrl::parse("rtmps://user:pw@example.com/a/b/c").expect("parses");
        assert_eq!((u.host.as_str(), u.port, u.tls), ("example.com", 443, true));
        assert_eq!((u.app.as_str(), u.stream.as_str()), ("a/b", "c"));
        assert_eq!(u.tc_url, "rtmps://example.com/a/b");
        let u = ClientUrl::parse("rtmp://[::1]:1935/cam?x=1").expect("parses");
        assert_eq!(u.host, "::1");
        assert_eq!((u.app.as_str(), u.stream.as_str()), ("cam?x=1", ""));
        assert_eq!(u.tc_url, "rtmp://[::1]:1935/cam?x=1");
        // What the server makes of them is the path asked for.
        for url in [
            "rtmp://h/live/test?user=a",
            "rtmp://h/cam?x=1",
            "rtmp://h/a/b/c",
        ] {
            let u = ClientUrl::parse(url).expect("parses");
            let p = StreamPath::join(&u.tc_url, &u.stream);
            let want = url.trim_start_matches("rtmp://h/");
            let got = if p.query.is_empty() {
                p.path
            } else {
                format!("{}?{}", p.path, p.query)
            };
            assert_eq!(got, want);
        }
        assert_eq!(ClientUrl::parse("http://h/live"), None);
        assert_eq!(ClientUrl::parse("rtmp:///live"), None);
    }
}

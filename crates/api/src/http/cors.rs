//! `Access-Control-Allow-Origin` from the `*AllowOrigins` settings.

/// Scheme and `host:port` of an origin, with the default port filled in.
fn scheme_host(origin: &str) -> Option<(String, String)> {
    let (scheme, rest) = origin.split_once("://")?;
    if scheme.is_empty() {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let has_port = match host.rfind(':') {
        Some(i) => !host[i..].contains(']'),
        None => false,
    };
    let host = if has_port {
        host.to_owned()
    } else {
        match scheme.as_str() {
            "http" => format!("{host}:80"),
            "https" => format!("{host}:443"),
            _ => host.to_owned(),
        }
    };
    Some((scheme, host.to_ascii_lowercase()))
}

/// Matches `host` against an allowed host with `*` wildcards (`*.example.com`
/// also matches `example.com`).
fn wildcard_match(pattern: &str, host: &str) -> bool {
    let mut re = String::from("^");
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("*.") {
            re.push_str(r"(.*\.)?");
            rest = r;
        } else if let Some(r) = rest.strip_prefix('*') {
            re.push_str(".*");
            rest = r;
        } else {
            let n = rest.find('*').unwrap_or(rest.len());
            re.push_str(&regex::escape(&rest[..n]));
            rest = &rest[n..];
        }
    }
    re.push('$');
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(host))
}

/// The value of `Access-Control-Allow-Origin` for a request with `Origin: origin`
/// (empty when absent), or `None` when the origin is not allowed.
///
/// An exact or wildcard match echoes the origin; a bare `*` entry is used only as
/// a last resort, because it blocks cross-origin requests with cookies.
pub fn allowed_origin(origin: &str, allow_origins: &[String]) -> Option<String> {
    if allow_origins.is_empty() {
        return None;
    }
    if !origin.is_empty()
        && let Some((scheme, host)) = scheme_host(origin)
    {
        for allowed in allow_origins {
            let Some((a_scheme, a_host)) = scheme_host(allowed) else {
                continue;
            };
            if a_scheme != scheme {
                continue;
            }
            if a_host == host || (a_host.contains('*') && wildcard_match(&a_host, &host)) {
                return Some(origin.to_owned());
            }
        }
    }
    allow_origins
        .iter()
        .any(|o| o == "*")
        .then(|| "*".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn star_is_last_resort() {
        assert_eq!(allowed_origin("", &list(&["*"])).as_deref(), Some("*"));
        assert_eq!(
            allowed_origin("http://a.com", &list(&["*", "http://a.com"])).as_deref(),
            Some("http://a.com")
        );
        assert_eq!(allowed_origin("http://a.com", &[]), None);
    }

    #[test]
    fn exact_match_with_default_ports() {
        let allow = list(&["http://example.com", "https://secure.com:8443"]);
        assert_eq!(
            allowed_origin("http://example.com:80", &allow).as_deref(),
            Some("http://example.com:80")
        );
        assert!(allowed_origin("https://example.com", &allow).is_none());
        assert!(allowed_origin("https://secure.com", &allow).is_none());
        assert!(allowed_origin("https://secure.com:8443", &allow).is_some());
    }

    #[test]
    fn wildcard_subdomains() {
        let allow = list(&["https://*.example.com"]);
        assert!(allowed_origin("https://a.example.com", &allow).is_some());
        assert!(allowed_origin("https://a.b.example.com", &allow).is_some());
        assert!(allowed_origin("https://example.com", &allow).is_some());
        assert!(allowed_origin("https://evil.com", &allow).is_none());
        assert!(allowed_origin("https://exampleXcom", &allow).is_none());
    }
}

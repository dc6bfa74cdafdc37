//! Path names, source URLs and redirects: the checks MediaMTX applies.

use crate::ConfError;

/// Checks a path name as MediaMTX does: not empty, no leading or trailing
/// slash, only `[0-9a-zA-Z_-/.]`, no `.` or `..` segments.
pub fn validate_path_name(name: &str) -> Result<(), ConfError> {
    path_name_problem(name).map_or(Ok(()), |reason| {
        Err(ConfError::InvalidPathName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    })
}

pub(crate) fn path_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("cannot be empty");
    }
    if name.starts_with('/') {
        return Some("can't begin with a slash");
    }
    if name.ends_with('/') {
        return Some("can't end with a slash");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/' | b'.'))
    {
        return Some("can contain only alphanumeric characters, underscore, dot, minus, slash");
    }
    if name.split('/').any(|s| s == "." || s == "..") {
        return Some("can't contain dot path segments");
    }
    None
}

/// The parts of a URL the checks need.
#[derive(Debug)]
pub(crate) struct UrlParts {
    pub scheme: String,
    pub host: String,
}

impl UrlParts {
    pub fn as_str(&self) -> &str {
        &self.scheme
    }

    /// Whether the host carries an explicit port.
    pub fn has_port(&self) -> bool {
        let h = &self.host;
        if let Some(rest) = h.strip_prefix('[') {
            return rest.split_once("]:").is_some();
        }
        h.matches(':').count() == 1
    }
}

/// Checks a source or destination URL after replacing `$Gn` placeholders;
/// returns its scheme and host.
pub(crate) fn validate_url(source: &str) -> Result<UrlParts, String> {
    let replaced = replace_placeholders(source);
    parse_url(&replaced).map_err(|e| e.unwrap_or_else(|| format!("'{source}' is not a valid URL")))
}

fn replace_placeholders(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("$G") {
        let digits = rest[i + 2..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            out.push_str(&rest[..i + 2]);
            rest = &rest[i + 2..];
            continue;
        }
        let before = &rest[..i];
        if let Some(b) = before.strip_suffix(':') {
            out.push_str(b);
            out.push_str(":1935");
        } else {
            out.push_str(before);
            out.push_str("abc");
        }
        rest = &rest[i + 2 + digits..];
    }
    out.push_str(rest);
    out
}

/// `Err(None)` is a generic "not a valid URL".
fn parse_url(s: &str) -> Result<UrlParts, Option<String>> {
    let (scheme, rest) = s.split_once("://").ok_or(None)?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return Err(None);
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(None);
    }
    if let Some(port) = port_of(host)
        && !port.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(None);
    }
    if let Some(ui) = userinfo {
        let (user, pass) = ui.split_once(':').unwrap_or((ui, ""));
        if user.is_empty() != pass.is_empty() {
            return Err(Some("username and password must be both provided".into()));
        }
    }
    Ok(UrlParts {
        scheme: scheme.to_ascii_lowercase(),
        host: host.to_string(),
    })
}

fn port_of(host: &str) -> Option<&str> {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once("]:").map(|(_, p)| p);
    }
    host.rsplit_once(':').map(|(_, p)| p)
}

/// A redirect target: `/path` or an RTSP URL.
pub(crate) fn check_redirect(v: &str) -> Result<(), String> {
    if let Some(p) = v.strip_prefix('/') {
        if let Some(reason) = path_name_problem(p) {
            return Err(format!("'{v}': {reason}"));
        }
        return Ok(());
    }
    match parse_url(v) {
        Ok(u) if u.scheme == "rtsp" || u.scheme == "rtsps" => Ok(()),
        _ => Err(format!("'{v}' is not a valid RTSP URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names() {
        assert!(validate_path_name("cam1").is_ok());
        assert!(validate_path_name("a/b.c-d_e").is_ok());
        for bad in ["", "/cam", "cam/", "ca m", "a/../b", "./a", "caméra"] {
            assert!(validate_path_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_path_name("/cam").unwrap_err().to_string(),
            "invalid path name '/cam': can't begin with a slash"
        );
    }

    #[test]
    fn urls() {
        assert_eq!(validate_url("rtsp://h:554/x").unwrap().scheme, "rtsp");
        assert!(validate_url("rtsp://u:p@h/x").is_ok());
        assert!(validate_url("rtsp://h:$G1/$G2").is_ok());
        assert_eq!(
            validate_url("rtsp://u@h/x").unwrap_err(),
            "username and password must be both provided"
        );
        assert_eq!(
            validate_url("rtsp:///x").unwrap_err(),
            "'rtsp:///x' is not a valid URL"
        );
        assert!(validate_url("nourl").is_err());
        assert!(validate_url("udp://239.0.0.1:1234").unwrap().has_port());
        assert!(!validate_url("udp://239.0.0.1").unwrap().has_port());
        assert!(check_redirect("/other").is_ok());
        assert!(check_redirect("rtsp://h/x").is_ok());
        assert!(check_redirect("http://h/x").is_err());
    }
}

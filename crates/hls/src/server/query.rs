//! Query strings as MediaMTX's HLS server rewrites them (Go's `url.Values`): parsed with
//! percent-decoding, encoded again with keys sorted and `QueryEscape`d. The rewritten
//! query is what the playlists append to every URI, so it must match byte for byte.

/// Longest query taken (longer ones are cut at a pair boundary).
const MAX_QUERY: usize = 8 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query(Vec<(String, String)>);

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `QueryUnescape`: `+` is a space, `%XX` a byte; `None` on a bad escape.
fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(*b.get(i + 1)?)?;
                let lo = hex(*b.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `QueryEscape`.
fn escape(s: &str, out: &mut String) {
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(c as char);
            }
            b' ' => out.push('+'),
            c => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(c >> 4)] as char);
                out.push(HEX[usize::from(c & 15)] as char);
            }
        }
    }
}

impl Query {
    /// Parses a raw query (without `?`); pairs with bad escapes are left out, as Go does.
    pub(crate) fn parse(raw: &str) -> Query {
        let mut pairs = Vec::new();
        let mut len = 0;
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            len += pair.len() + 1;
            if len > MAX_QUERY {
                break;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if let (Some(k), Some(v)) = (unescape(k), unescape(v)) {
                pairs.push((k, v));
            }
        }
        Query(pairs)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every value of `key` with `value`.
    pub(crate) fn set(&mut self, key: &str, value: &str) {
        self.del(key);
        self.0.push((key.to_owned(), value.to_owned()));
    }

    pub(crate) fn del(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }

    /// `url.Values.Encode`: sorted by key (values of one key in order).
    pub(crate) fn encode(&self) -> String {
        let mut pairs: Vec<&(String, String)> = self.0.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::new();
        for (k, v) in pairs {
            if !out.is_empty() {
                out.push('&');
            }
            escape(k, &mut out);
            out.push('=');
            escape(v, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_go_url_values() {
        let mut q = Query::parse("token=a%2Fb&cookieCheck=1&z=x+y&flag&bad=%zz");
        assert_eq!(q.get("token"), Some("a/b"));
        assert_eq!(q.get("bad"), None);
        q.del("cookieCheck");
        q.set("session", "0b5e");
        assert_eq!(q.encode(), "flag=&session=0b5e&token=a%2Fb&z=x+y");
        assert_eq!(Query::parse("").encode(), "");
        let mut q = Query::parse("");
        q.set("cookieCheck", "1");
        assert_eq!(q.encode(), "cookieCheck=1");
    }
}

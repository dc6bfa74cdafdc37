//! The SRT stream id as MediaMTX reads it: `action:path[:query]`,
//! `action:path:user:pass[:query]` (action `read` or `publish`), or libsrt's access-control
//! syntax `#!::r=path,m=publish,u=user,s=pass` (`m=request` reads). Error texts are
//! MediaMTX's, since they end up in its `closed: invalid stream ID '...': ...` line.

/// What the caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Read,
    Publish,
}

/// A parsed stream id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamId {
    pub mode: Mode,
    pub path: String,
    pub query: String,
    pub user: String,
    pub pass: String,
}

/// Why a stream id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamIdError {
    #[error(
        "stream ID must be 'action:pathname[:query]' or 'action:pathname:user:pass[:query]', \
         where action is either read or publish, pathname is the path name, user and pass are \
         the credentials, query is an optional token containing additional information"
    )]
    Syntax,
    #[error("invalid value")]
    InvalidValue,
    #[error("unsupported mode '{0}'")]
    UnsupportedMode(String),
}

const ACCESS_CONTROL_PREFIX: &str = "#!::";

impl StreamId {
    pub fn parse(raw: &str) -> Result<StreamId, StreamIdError> {
        match raw.strip_prefix(ACCESS_CONTROL_PREFIX) {
            Some(rest) => Self::parse_access_control(rest),
            None => Self::parse_plain(raw),
        }
    }

    fn parse_access_control(rest: &str) -> Result<StreamId, StreamIdError> {
        let mut id = StreamId::default();
        for kv in rest.split(',') {
            let (key, value) = kv.split_once('=').ok_or(StreamIdError::InvalidValue)?;
            match key {
                "u" => id.user = value.to_owned(),
                "r" => id.path = value.to_owned(),
                "s" => id.pass = value.to_owned(),
                "m" => {
                    id.mode = match value {
                        "request" => Mode::Read,
                        "publish" => Mode::Publish,
                        other => return Err(StreamIdError::UnsupportedMode(other.to_owned())),
                    }
                }
                // `h` (host), `t` (type) and unknown keys are ignored, as MediaMTX does.
                _ => {}
            }
        }
        Ok(id)
    }

    fn parse_plain(raw: &str) -> Result<StreamId, StreamIdError> {
        let mut parts: Vec<&str> = raw.split(':').collect();
        if !(2..=5).contains(&parts.len()) {
            return Err(StreamIdError::Syntax);
        }
        // OBS appends `#feedbackplay` to some stream ids.
        if let Some(last) = parts.last_mut() {
            *last = last.strip_suffix("#feedbackplay").unwrap_or(last);
        }
        let mode = match parts[0] {
            "read" => Mode::Read,
            "publish" => Mode::Publish,
            _ => return Err(StreamIdError::Syntax),
        };
        let mut id = StreamId {
            mode,
            path: parts[1].to_owned(),
            ..StreamId::default()
        };
        match parts.len() {
            3 => id.query = parts[2].to_owned(),
            4 | 5 => {
                id.user = parts[2].to_owned();
                id.pass = parts[3].to_owned();
                if let Some(q) = parts.get(4) {
                    id.query = (*q).to_owned();
                }
            }
            _ => {}
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> StreamId {
        StreamId::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn plain_forms() {
        assert_eq!(
            ok("publish:cam"),
            StreamId {
                mode: Mode::Publish,
                path: "cam".into(),
                ..StreamId::default()
            }
        );
        let id = ok("read:cam:key=1");
        assert_eq!(
            (id.mode, id.path.as_str(), id.query.as_str()),
            (Mode::Read, "cam", "key=1")
        );
        let id = ok("read:a/b:user:pass");
        assert_eq!(
            (
                id.path.as_str(),
                id.user.as_str(),
                id.pass.as_str(),
                id.query.as_str()
            ),
            ("a/b", "user", "pass", "")
        );
        let id = ok("publish:cam:user:pass:q=2#feedbackplay");
        assert_eq!(
            (
                id.mode,
                id.user.as_str(),
                id.pass.as_str(),
                id.query.as_str()
            ),
            (Mode::Publish, "user", "pass", "q=2")
        );
        assert_eq!(ok("read:cam#feedbackplay").path, "cam");
    }

    #[test]
    fn access_control_form() {
        let id = ok("#!::r=live/cam,m=publish,u=me,s=secret,h=example.com,t=stream");
        assert_eq!(
            id,
            StreamId {
                mode: Mode::Publish,
                path: "live/cam".into(),
                query: String::new(),
                user: "me".into(),
                pass: "secret".into(),
            }
        );
        assert_eq!(ok("#!::m=request,r=cam").mode, Mode::Read);
        assert_eq!(ok("#!::r=cam").mode, Mode::Read);
        assert_eq!(
            StreamId::parse("#!::r=cam,m=bidirectional"),
            Err(StreamIdError::UnsupportedMode("bidirectional".into()))
        );
        assert_eq!(StreamId::parse("#!::r"), Err(StreamIdError::InvalidValue));
    }

    #[test]
    fn malformed_ids_get_mediamtx_text() {
        for raw in ["", "cam", "write:cam", "publish:a:b:c:d:e", "read"] {
            let e = StreamId::parse(raw).expect_err(raw);
            assert_eq!(e, StreamIdError::Syntax, "{raw}");
            assert!(e.to_string().starts_with(
                "stream ID must be 'action:pathname[:query]' or 'action:pathname:user:pass[:query]', where action"
            ));
        }
    }
}

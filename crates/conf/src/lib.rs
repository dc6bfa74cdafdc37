//! MediaMTX's `mediamtx.yml`: the model, loading (file lookup, `MTX_*`
//! environment overrides, deprecated keys) and validation, with the same
//! keys, defaults and messages as MediaMTX v1.20.

mod auth;
mod confkey;
mod deprecated;
mod duration;
mod env;
mod forward;
mod global;
mod json;
mod load;
mod log;
mod matching;
mod node;
mod path;
mod path_validate;
mod protocol;
mod schema;
mod size;
mod source;
mod validate;
mod value;

pub use auth::{
    AuthAction, AuthInternalUser, AuthInternalUserPermission, AuthMethod, IpNetwork,
    networks_contain, proxy_trust,
};
pub use duration::{format_duration, parse_duration};
pub use forward::{AlwaysAvailableTrack, ForwardDest, WebRtcIceServer};
pub use global::Conf;
pub use load::{
    DEFAULT_CONF_PATHS, Loaded, load, load_from_str, load_from_str_with_vars, load_with_vars,
};
pub use log::{LogDestination, LogLevel};
pub use matching::PathMatch;
pub use path::{PathConf, PathRegex};
pub use protocol::{
    Encryption, HlsVariant, MoqTransport, RecordFormat, RtspAuthMethod, RtspRangeType,
    RtspTransport, RtspTransports,
};
pub use size::{ByteSize, format_size, parse_size};
pub use source::validate_path_name;

use value::{FieldError, FieldErrorKind};

/// Why a configuration could not be loaded, patched or validated.
/// `Display` is one line naming the key and, for files, the line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfError {
    #[error("{message}{}", at(*line))]
    Yaml { message: String, line: u64 },
    #[error("duplicate key '{key}'{}", at(*line))]
    DuplicateKey { key: String, line: u64 },
    #[error("unknown parameter '{key}'{}", at(*line))]
    UnknownKey { key: String, line: u64 },
    #[error("invalid value for '{key}': {message}{}", at(*line))]
    InvalidValue {
        key: String,
        message: String,
        line: u64,
    },
    #[error("invalid duration '{value}' for '{key}'{}", at(*line))]
    InvalidDuration {
        key: String,
        value: String,
        line: u64,
    },
    #[error("invalid regular expression in path '{name}': {message}")]
    InvalidRegex { name: String, message: String },
    #[error("invalid path name '{name}': {reason}")]
    InvalidPathName { name: String, reason: String },
    #[error("path '{0}' is not configured")]
    PathNotFound(String),
    #[error("path '{0}' already exists")]
    PathExists(String),
    /// A rule of MediaMTX's validation, with MediaMTX's message.
    #[error("{0}")]
    Invalid(String),
    #[error("invalid value for environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// ` (line N)` for lines from a file, nothing otherwise.
fn at(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" (line {line})")
    }
}

/// Name a field error after its full key.
pub(crate) fn field_error(key: &str, line: u64, err: FieldError) -> ConfError {
    let key = format!("{key}{}", err.path);
    let line = if err.line == 0 { line } else { err.line };
    match err.kind {
        FieldErrorKind::Unknown => ConfError::UnknownKey { key, line },
        FieldErrorKind::Invalid(message) => {
            let message = message.lines().next().unwrap_or("").to_string();
            ConfError::InvalidValue { key, message, line }
        }
        FieldErrorKind::Duration(value) => ConfError::InvalidDuration { key, value, line },
    }
}

//! The `Public` header of an OPTIONS reply (RFC 2326 12.28): the methods a server supports.

use crate::message::Method;

/// The methods MediaMTX announces, in its order.
pub const SERVER_METHODS: [Method; 8] = [
    Method::Describe,
    Method::Announce,
    Method::Setup,
    Method::Play,
    Method::Record,
    Method::Pause,
    Method::GetParameter,
    Method::Teardown,
];

/// Formats a `Public` value: `DESCRIBE, ANNOUNCE, ...`.
pub fn format(methods: &[Method]) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a `Public` value; empty items are skipped.
pub fn parse(value: &str) -> Vec<Method> {
    value
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(Method::from_token)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_methods_match_mediamtx() {
        assert_eq!(
            format(&SERVER_METHODS),
            "DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, PAUSE, GET_PARAMETER, TEARDOWN"
        );
    }

    #[test]
    fn round_trip_and_lenient_parse() {
        assert_eq!(parse(&format(&SERVER_METHODS)), SERVER_METHODS.to_vec());
        assert_eq!(
            parse(" OPTIONS,,DESCRIBE ,X-FOO"),
            vec![
                Method::Options,
                Method::Describe,
                Method::Extension("X-FOO".into())
            ]
        );
        assert!(parse("").is_empty());
    }
}

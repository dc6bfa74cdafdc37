//! `/debug/pprof/cmdline`: the command line, arguments separated by NUL bytes, as Go.

use std::os::unix::ffi::OsStringExt;

use axum::response::Response;

use super::text_response;

/// The process arguments joined with `\0` (no trailing separator).
pub(crate) fn command_line() -> Vec<u8> {
    let args: Vec<Vec<u8>> = std::env::args_os().map(OsStringExt::into_vec).collect();
    args.join(&0u8)
}

pub(super) async fn handler() -> Response {
    text_response(command_line())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_nul_separated_argv() {
        let expected: Vec<Vec<u8>> = std::env::args_os().map(OsStringExt::into_vec).collect();
        let got = command_line();
        let parts: Vec<&[u8]> = got.split(|&b| b == 0).collect();
        assert_eq!(parts.len(), expected.len());
        for (part, arg) in parts.iter().zip(&expected) {
            assert_eq!(*part, arg.as_slice());
        }
        assert_ne!(got.last(), Some(&0));
    }
}

//! PROXY protocol headers: any bytes give absent, need-more, a header no longer than the
//! input, or an error; never a panic.

use ferromtx_net::proxy::{Parsed, parse};

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(Parsed::Header { len, .. }) = parse(data) {
        assert!(len <= data.len());
    }
}

//! PROXY protocol headers: any bytes give absent, need-more, a header no longer than the
//! input, or an error; never a panic.
#![no_main]

use ferromtx_net::proxy::{Parsed, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Parsed::Header { len, .. }) = parse(data) {
        assert!(len <= data.len());
    }
});

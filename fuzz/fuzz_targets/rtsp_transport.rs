//! Transport header parsing: any text gives alternatives or an error, and formatting
//! parsed alternatives never panics and parses again.
#![no_main]

use ferromtx_rtsp::transport;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(alternatives) = transport::parse(&text) {
        let formatted = transport::format(&alternatives);
        let _ = transport::parse(&formatted);
    }
});

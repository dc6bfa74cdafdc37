//! Transport header parsing: any text gives alternatives or an error; formatted alternatives
//! parse again into the very same alternatives (every field, in order). A Transport header
//! a server echoes in its reply must mean what the client's meant.

use ferromtx_rtsp::transport;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(alternatives) = transport::parse(&text) {
        let formatted = transport::format(&alternatives);
        let again = transport::parse(&formatted)
            .unwrap_or_else(|e| panic!("{formatted:?} (from {text:?}) does not parse: {e}"));
        assert_eq!(again, alternatives, "{formatted:?} from {text:?}");
    }
}

//! RTCP compound parsing: any bytes give packets or an error; parsed packets survive
//! marshal and parse unchanged.

use ferromtx_rtsp::rtcp::{marshal_compound, parse_compound};

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(pkts) = parse_compound(data) {
        let wire = marshal_compound(&pkts).expect("marshal of parsed RTCP");
        assert_eq!(
            parse_compound(&wire).expect("re-parse of marshalled RTCP"),
            pkts
        );
    }
}

//! SDP parsing: any text gives a description or an error; a parsed description
//! survives marshal and parse with the same medias.

use ferromtx_rtsp::sdp::SessionDescription;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(desc) = SessionDescription::parse(&text) {
        let again = SessionDescription::parse(&desc.marshal()).expect("re-parse of marshalled SDP");
        assert_eq!(again.medias.len(), desc.medias.len());
    }
}

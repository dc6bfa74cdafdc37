//! HLS playlists as the pull source reads them from a remote server: any text never panics,
//! and what is read stays within the parser's bounds and is consistent (segment numbers
//! follow the media sequence, parts belong to listed or next segments).

use ferromtx_hls::source::playlist::{Playlist, parse};

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(Playlist::Media(m)) => {
            for (i, s) in m.segments.iter().enumerate() {
                assert_eq!(s.msn, m.media_sequence + i as u64);
                assert!(s.duration.is_finite() && s.duration >= 0.0);
            }
            for p in &m.parts {
                assert!(p.msn <= m.next_msn());
            }
            if let Some(last) = m.last_msn() {
                assert!(m.segment(last).is_some());
            }
        }
        Ok(Playlist::Multivariant(mv)) => {
            assert!(!mv.variants.is_empty());
            let _ = mv.choose();
        }
        Err(_) => {}
    }
}

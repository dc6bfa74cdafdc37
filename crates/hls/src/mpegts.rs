//! The seam for the MPEG-TS variant: the muxer cuts segments and keeps playlists; the TS
//! packets of each access unit come from a writer given at construction (the codec crate's
//! MPEG-TS muxer, through a small adapter in the glue).

use bytes::Bytes;

/// Why a TS writer could not write a unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MPEG-TS writer: {0}")]
pub struct TsError(pub String);

/// Writes access units as MPEG-TS packets.
pub trait TsWriter: Send + Sync {
    /// Appends the 188-byte packets of one access unit to `out`. `track` is the index of the
    /// track in the list given to [`crate::Muxer::new`]; `pts`/`dts` are in that track's
    /// clock rate, as given to [`crate::Muxer::write_unit`]; `parts` follow
    /// `ferromtx_codec::Frame` (NAL units without start codes, AAC access units).
    fn write(
        &mut self,
        track: usize,
        pts: i64,
        dts: i64,
        random_access: bool,
        parts: &[Bytes],
        out: &mut Vec<u8>,
    ) -> Result<(), TsError>;

    /// A new segment starts with the next unit: the writer should put PAT/PMT first.
    fn segment_started(&mut self) {}
}

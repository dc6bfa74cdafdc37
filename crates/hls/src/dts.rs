//! Decoding timestamps for video that arrives without them (RTP carries only the PTS).
//!
//! Frames come in decoding order; with B-frames their PTS are out of order, by at most
//! `reorder` frames (the SPS's `max_num_reorder_frames`). Then the frames before frame `i`
//! in decoding order hold every PTS smaller than the `(i - reorder)`-th smallest one, so
//! that value is known when frame `i` arrives, is never above frame `i`'s PTS, and grows
//! with `i`: it is frame `i`'s DTS. No look-ahead (no added latency) and no slice-header
//! parsing; the first `reorder` frames get DTS just below the first PTS.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use bytes::Bytes;
use ferromtx_codec::{Format, h264};

/// Largest reorder depth assumed (H264 allows up to 16; encoders use 0 to 4).
const MAX_REORDER: usize = 16;
/// Reorder depth assumed for H265 (its SPS is not parsed for it) and for H264 without
/// `max_num_reorder_frames` in its SPS but a profile that allows B-frames.
const DEFAULT_REORDER: usize = 4;

/// Derives DTS from PTS for one video track.
#[derive(Debug)]
pub struct DtsExtractor {
    reorder: usize,
    /// PTS seen and not yet used as a DTS.
    pending: BinaryHeap<Reverse<i64>>,
    seen: usize,
    first_pts: Option<i64>,
    last_dts: Option<i64>,
}

impl DtsExtractor {
    /// An extractor for frames reordered by at most `reorder` positions.
    pub fn new(reorder: usize) -> DtsExtractor {
        DtsExtractor {
            reorder: reorder.min(MAX_REORDER),
            pending: BinaryHeap::new(),
            seen: 0,
            first_pts: None,
            last_dts: None,
        }
    }

    /// The extractor a track needs, or `None` when its DTS equals its PTS (audio, and
    /// video codecs without frame reordering).
    pub fn for_format(format: &Format) -> Option<DtsExtractor> {
        match format {
            Format::H264 { sps, .. } => Some(DtsExtractor::new(h264_reorder(sps.as_ref()))),
            Format::H265 { .. } => Some(DtsExtractor::new(DEFAULT_REORDER)),
            _ => None,
        }
    }

    /// Learns the reorder depth from an SPS carried in-band (before the first frame).
    pub fn learn_sps(&mut self, sps: &Bytes) {
        if self.seen == 0 {
            self.reorder = h264_reorder(Some(sps)).min(MAX_REORDER);
        }
    }

    /// The DTS of the next frame in decoding order. Always at most `pts`, and above the
    /// previous DTS unless the stream reorders more than it said.
    pub fn extract(&mut self, pts: i64) -> i64 {
        self.seen += 1;
        let first = *self.first_pts.get_or_insert(pts);
        self.pending.push(Reverse(pts));
        let dts = if self.seen > self.reorder {
            self.pending.pop().map_or(pts, |Reverse(p)| p)
        } else {
            // Before the reorder window is full: just below the first PTS, one tick apart.
            first - (self.reorder + 1 - self.seen) as i64
        };
        // Bound the heap if the stream misbehaves (repeated PTS, deeper reordering).
        while self.pending.len() > MAX_REORDER + 1 {
            self.pending.pop();
        }
        let dts = dts.min(pts);
        let dts = match self.last_dts {
            Some(last) if dts <= last => (last + 1).min(pts),
            _ => dts,
        };
        self.last_dts = Some(dts);
        dts
    }
}

fn h264_reorder(sps: Option<&Bytes>) -> usize {
    let Some(sps) = sps.and_then(|s| h264::Sps::parse(s).ok()) else {
        return DEFAULT_REORDER;
    };
    match sps.max_num_reorder_frames {
        Some(n) => n as usize,
        None if sps.may_have_b_frames() => DEFAULT_REORDER,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b_frames_get_increasing_dts_never_above_pts() {
        // I0 P3 B1 B2 P6 B4 B5 (40 ms frames at 90 kHz).
        let order = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8];
        let mut x = DtsExtractor::new(2);
        let dts: Vec<i64> = order.iter().map(|p| x.extract(p * 3600)).collect();
        assert_eq!(
            dts,
            vec![-2, -1, 0, 3600, 7200, 10800, 14400, 18000, 21600, 25200]
        );
        for (d, p) in dts.iter().zip(order) {
            assert!(*d <= p * 3600);
        }
    }

    #[test]
    fn no_reordering_gives_the_pts() {
        let mut x = DtsExtractor::new(0);
        assert_eq!(
            (0..5).map(|i| x.extract(i * 3000)).collect::<Vec<_>>(),
            vec![0, 3000, 6000, 9000, 12000]
        );
    }

    #[test]
    fn deeper_reordering_than_announced_stays_monotonic() {
        let mut x = DtsExtractor::new(1);
        let mut last = i64::MIN;
        for pts in [0, 5, 1, 2, 3, 4, 10, 6, 7, 8, 9] {
            let dts = x.extract(pts);
            assert!(dts <= pts && dts > last, "{dts} after {last} for {pts}");
            last = dts;
        }
    }

    #[test]
    fn reorder_depth_comes_from_the_sps() {
        // x264 Constrained Baseline 320x240: no B-frames.
        let baseline = Bytes::from_static(&[
            0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00,
            0x40, 0x00, 0x00, 0x0c, 0xa3, 0xc5, 0x0a, 0xa8,
        ]);
        assert_eq!(h264_reorder(Some(&baseline)), 0);
        // x264 High 320x240 with its default 3 B-frames: a profile that allows them.
        let high = Bytes::from_static(&[
            0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03,
            0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0x99, 0x60,
        ]);
        assert!(h264_reorder(Some(&high)) > 0);
        assert_eq!(h264_reorder(None), DEFAULT_REORDER);
    }
}

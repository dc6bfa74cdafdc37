//! The timeline of a `/get` answer: samples of the covering segments, shifted so that 0 is
//! the requested start, cut at the requested duration and grouped into parts of about a
//! second (fragments of the fMP4 answer, chunks of the MP4 one).
//!
//! The answer starts at a keyframe: the samples of each track since its last
//! random-access sample before the start are kept and put at time 0 (with zero durations,
//! so they are decoded but not shown), the last of them lasting until the first sample
//! inside the window, which is the frame on screen at the start. Samples carry a
//! reference (`P`) to their payload, which is read only when a part is written. What is
//! kept before the start is bounded ([`MAX_PREROLL_BYTES`]); beyond it the answer starts
//! at the next keyframe instead.

/// Most payload bytes kept for one track before the start.
pub const MAX_PREROLL_BYTES: u64 = 64 * 1024 * 1024;

/// A sample of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutSample<P> {
    pub duration: u32,
    pub pts_offset: i32,
    pub non_sync: bool,
    pub size: u32,
    pub payload: P,
}

/// The samples of one track in a part, from `base_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutRun<P> {
    pub id: u32,
    pub base_time: u64,
    pub samples: Vec<OutSample<P>>,
}

#[derive(Debug)]
struct WindowTrack<P> {
    id: u32,
    end: i64,
    part: i64,
    preroll: Vec<OutSample<P>>,
    preroll_bytes: u64,
    pending: Vec<OutSample<P>>,
    /// Time of the first pending sample, once a sample inside the window came.
    base: Option<i64>,
    last_dts: i64,
    wrote: bool,
}

/// The answer's timeline; see the module documentation.
#[derive(Debug)]
pub(crate) struct Window<P> {
    tracks: Vec<WindowTrack<P>>,
}

/// Length of a part, as MediaMTX's playback server cuts them.
pub const PART_DURATION_NS: i64 = 1_000_000_000;

impl<P> Window<P> {
    /// A window of `duration_ns` over tracks given as `(id, timescale)`.
    pub(crate) fn new(tracks: &[(u32, u32)], duration_ns: i64) -> Window<P> {
        Window {
            tracks: tracks
                .iter()
                .map(|(id, timescale)| WindowTrack {
                    id: *id,
                    end: crate::mp4::ns_to_ticks(duration_ns, *timescale),
                    part: crate::mp4::ns_to_ticks(PART_DURATION_NS, *timescale),
                    preroll: Vec::new(),
                    preroll_bytes: 0,
                    pending: Vec::new(),
                    base: None,
                    last_dts: 0,
                    wrote: false,
                })
                .collect(),
        }
    }

    /// The end of the window in the track's timescale (samples at or after it are not
    /// part of the answer).
    pub(crate) fn end(&self, id: u32) -> Option<i64> {
        self.tracks.iter().find(|t| t.id == id).map(|t| t.end)
    }

    /// Adds a sample at `dts` (window time, below [`Window::end`]); returns whether a part
    /// is due.
    pub(crate) fn sample(&mut self, id: u32, dts: i64, mut sample: OutSample<P>) -> bool {
        let Some(t) = self.tracks.iter_mut().find(|t| t.id == id) else {
            return false;
        };
        sample.duration = 0;
        if dts < 0 {
            if !sample.non_sync {
                t.preroll.clear();
                t.preroll_bytes = 0;
            } else if t.preroll.is_empty() {
                // Not decodable without the keyframe it depends on.
                return false;
            }
            t.preroll_bytes += u64::from(sample.size);
            t.preroll.push(sample);
            if t.preroll_bytes > MAX_PREROLL_BYTES {
                t.preroll.clear();
                t.preroll_bytes = 0;
            }
            return false;
        }
        match t.base {
            None => {
                if !sample.non_sync {
                    t.preroll.clear();
                }
                if t.preroll.is_empty() {
                    t.base = Some(dts);
                } else {
                    // The frame on screen at the start lasts until this one.
                    if let Some(last) = t.preroll.last_mut() {
                        last.duration = u32::try_from(dts).unwrap_or(u32::MAX);
                    }
                    t.pending.append(&mut t.preroll);
                    t.base = Some(0);
                }
                t.preroll_bytes = 0;
            }
            Some(_) => {
                if let Some(last) = t.pending.last_mut() {
                    last.duration = u32::try_from((dts - t.last_dts).max(0)).unwrap_or(u32::MAX);
                }
            }
        }
        t.pending.push(sample);
        t.last_dts = dts;
        t.base.is_some_and(|b| dts - b >= t.part)
    }

    /// The end of a run of samples: the last one lasts until `dts`, at most the window's
    /// end.
    pub(crate) fn final_dts(&mut self, id: u32, dts: i64) {
        let Some(t) = self.tracks.iter_mut().find(|t| t.id == id) else {
            return;
        };
        if t.base.is_none() {
            return;
        }
        if let Some(last) = t.pending.last_mut() {
            let d = (dts.min(t.end) - t.last_dts).max(0);
            last.duration = u32::try_from(d).unwrap_or(u32::MAX);
        }
    }

    /// The samples ready to be written: all but the last of each track (whose duration is
    /// not known yet), or everything when `last` is set.
    pub(crate) fn take_part(&mut self, last: bool) -> Vec<OutRun<P>> {
        let mut runs = Vec::new();
        for t in &mut self.tracks {
            let Some(base) = t.base else { continue };
            let n = if last {
                t.pending.len()
            } else {
                t.pending.len().saturating_sub(1)
            };
            if n == 0 {
                continue;
            }
            let samples: Vec<OutSample<P>> = t.pending.drain(..n).collect();
            let elapsed: i64 = samples.iter().map(|s| i64::from(s.duration)).sum();
            runs.push(OutRun {
                id: t.id,
                base_time: base.max(0) as u64,
                samples,
            });
            t.base = Some(base + elapsed);
            t.wrote = true;
        }
        runs
    }

    /// Whether anything was written.
    pub(crate) fn wrote_anything(&self) -> bool {
        self.tracks.iter().any(|t| t.wrote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(non_sync: bool, payload: i64) -> OutSample<i64> {
        OutSample {
            duration: 0,
            pts_offset: 0,
            non_sync,
            size: 10,
            payload,
        }
    }

    #[test]
    fn starts_at_the_keyframe_before_the_window_and_ends_with_it() {
        // 25 fps (3600 ticks), keyframes at frames -15, -5, 5..., window [0, 1 s); frame 0
        // is 1000 ticks before the start.
        let mut w = Window::new(&[(1, 90_000)], 1_000_000_000);
        for f in -20i64..40 {
            let dts = f * 3600 - 1000;
            if dts >= w.end(1).expect("track") {
                w.final_dts(1, dts);
                break;
            }
            // A second of samples is never reached: no part is due before the end.
            assert!(!w.sample(1, dts, s((f + 5).rem_euclid(10) != 0, f)));
        }
        let runs = w.take_part(true);
        assert_eq!(runs.len(), 1);
        let r = &runs[0];
        assert_eq!(r.base_time, 0);
        // From the keyframe at frame -5.
        assert_eq!(r.samples[0].payload, -5);
        assert!(!r.samples[0].non_sync);
        // Frames before the start take no time except the one on screen at the start.
        let durations: Vec<u32> = r.samples.iter().map(|s| s.duration).collect();
        assert!(durations[..5].iter().all(|d| *d == 0), "{durations:?}");
        assert_eq!(durations[5], 2600);
        // The window is exactly one second long.
        let total: u64 = durations.iter().map(|d| u64::from(*d)).sum();
        assert_eq!(total, 90_000);
        assert!(w.wrote_anything());
    }

    #[test]
    fn parts_keep_the_last_sample_until_its_duration_is_known() {
        let mut w = Window::new(&[(1, 1000), (2, 1000)], 10_000_000_000);
        for i in 0..15i64 {
            w.sample(1, i * 100, s(false, i));
        }
        w.sample(2, 0, s(false, 0));
        let runs = w.take_part(false);
        assert_eq!(runs.len(), 1, "track 2 has only its last sample");
        assert_eq!(runs[0].samples.len(), 14);
        assert_eq!(runs[0].samples[13].duration, 100);
        let next = w.take_part(true);
        assert_eq!(next[0].base_time, 1400);
        assert_eq!(next.len(), 2);
        // Nothing in the window: nothing written.
        let mut empty: Window<i64> = Window::new(&[(1, 1000)], 1_000_000_000);
        empty.sample(1, -5, s(false, 0));
        assert!(empty.take_part(true).is_empty());
        assert!(!empty.wrote_anything());
    }
}

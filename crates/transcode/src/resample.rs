//! Sample-rate conversion to Opus's 48 kHz: cubic (Catmull-Rom) interpolation between input
//! samples, streaming (the fractional position and the few samples it needs carry from one
//! block to the next, so block boundaries are inaudible).
//!
//! Cheap and good for speech and camera audio; it has no anti-aliasing filter, so content
//! above the output's Nyquist frequency folds back when downsampling (only 88.2/96 kHz
//! inputs, rare on cameras).

/// A resampler of planar audio from one rate to another.
#[derive(Debug, Clone)]
pub struct Resampler {
    step: f64,
    passthrough: bool,
    /// Position of the next output sample, in input samples from the start of `history`.
    pos: f64,
    /// Per channel: input samples still needed by the next output samples.
    history: Vec<Vec<f32>>,
}

/// Samples kept before the first input sample (the interpolation looks one back).
const LEAD: usize = 1;

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz for `channels` channels. Both rates non-zero.
    pub fn new(from: u32, to: u32, channels: usize) -> Resampler {
        let mut r = Resampler {
            step: f64::from(from.max(1)) / f64::from(to.max(1)),
            passthrough: from == to,
            pos: 0.0,
            history: vec![Vec::new(); channels],
        };
        r.reset();
        r
    }

    /// Starts over, as after a gap: nothing of the earlier input is interpolated with the next.
    pub fn reset(&mut self) {
        for h in &mut self.history {
            h.clear();
            h.resize(LEAD, 0.0);
        }
        self.pos = LEAD as f64;
    }

    /// Converts a block (one slice per channel, all the same length) and appends the output
    /// to `out` (one vector per channel). Returns the number of output frames appended.
    pub fn process(&mut self, input: &[Vec<f32>], out: &mut [Vec<f32>]) -> usize {
        if self.passthrough {
            let mut n = 0;
            for (dst, src) in out.iter_mut().zip(input) {
                dst.extend_from_slice(src);
                n = src.len();
            }
            return n;
        }
        for (h, src) in self.history.iter_mut().zip(input) {
            h.extend_from_slice(src);
        }
        let len = self.history.first().map_or(0, Vec::len);
        // Output positions whose four neighbours (i-1 ..= i+2) are all known.
        let mut positions = Vec::new();
        let mut pos = self.pos;
        while (pos.floor() as usize) + 2 < len {
            positions.push(pos);
            pos += self.step;
        }
        for (h, dst) in self.history.iter().zip(out.iter_mut()) {
            dst.extend(positions.iter().map(|p| catmull_rom(h, *p)));
        }
        // Keep what the next output sample needs: from one sample before its position.
        let keep_from = (pos.floor() as usize).saturating_sub(1).min(len);
        for h in &mut self.history {
            h.drain(..keep_from);
        }
        self.pos = pos - keep_from as f64;
        positions.len()
    }
}

/// Catmull-Rom interpolation of `s` at `pos` (needs `s[i-1..=i+2]`, `i = floor(pos)`).
fn catmull_rom(s: &[f32], pos: f64) -> f32 {
    let i = pos.floor() as usize;
    let t = (pos - pos.floor()) as f32;
    let at = |k: usize| s.get(k).copied().unwrap_or(0.0);
    let (p0, p1, p2, p3) = (at(i.wrapping_sub(1)), at(i), at(i + 1), at(i + 2));
    let a = -0.5 * p0 + 1.5 * p1 - 1.5 * p2 + 0.5 * p3;
    let b = p0 - 2.5 * p1 + 2.0 * p2 - 0.5 * p3;
    let c = -0.5 * p0 + 0.5 * p2;
    ((a * t + b) * t + c) * t + p1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f32, n: usize, start: usize) -> Vec<f32> {
        (start..start + n)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    #[test]
    fn output_count_follows_the_ratio_across_blocks() {
        let mut r = Resampler::new(44_100, 48_000, 1);
        let mut out = vec![Vec::new()];
        let mut total_in = 0;
        for block in [1024, 1024, 7, 1, 4000, 1024] {
            r.process(&[vec![0.1; block]], &mut out);
            total_in += block;
        }
        let expected = total_in as f64 * 48_000.0 / 44_100.0;
        // Two input samples of latency at most.
        assert!(
            (out[0].len() as f64 - expected).abs() < 3.0,
            "{}",
            out[0].len()
        );
    }

    #[test]
    fn a_tone_keeps_its_pitch_and_blocks_join_smoothly() {
        // 440 Hz at 44.1 kHz in AAC-sized blocks; the output must be the same 440 Hz sine,
        // sampled at 48 kHz from the same instant (output k is input time k / 48000).
        let mut r = Resampler::new(44_100, 48_000, 2);
        let mut out = vec![Vec::new(), Vec::new()];
        for k in 0..10 {
            let block = sine(44_100, 440.0, 1024, k * 1024);
            r.process(&[block.clone(), block], &mut out);
        }
        assert!(out[0].len() > 11_000, "{}", out[0].len());
        let worst = out[0]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let t = i as f32 / 48_000.0;
                let want = (2.0 * std::f32::consts::PI * 440.0 * t).sin() * 0.5;
                (v - want).abs()
            })
            .fold(0.0f32, f32::max);
        assert!(worst < 0.01, "worst error {worst}");
        assert_eq!(out[0], out[1]);
    }

    #[test]
    fn same_rate_passes_through_and_reset_restarts() {
        let mut r = Resampler::new(48_000, 48_000, 1);
        let mut out = vec![Vec::new()];
        assert_eq!(r.process(&[vec![0.25, -0.25]], &mut out), 2);
        assert_eq!(out[0], vec![0.25, -0.25]);
        let mut r = Resampler::new(8_000, 48_000, 1);
        let mut out = vec![Vec::new()];
        r.process(&[vec![0.5; 100]], &mut out);
        r.reset();
        out[0].clear();
        // After a reset, the first output sample is the first input sample (no history).
        r.process(&[vec![0.75; 10]], &mut out);
        assert_eq!(out[0].first().copied(), Some(0.75));
    }
}

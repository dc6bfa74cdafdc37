//! Deterministic mutations of corpus inputs, for the stable corpus test: a small xorshift
//! generator and the usual byte-level edits (bit flips, interesting values, length fields,
//! truncation, insertion, removal, splicing with another input).

/// xorshift64* (Vigna); never zero.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `seed` (any value; 0 is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// A generator seeded from a name (FNV-1a), so each target has its own sequence.
    pub fn from_name(name: &str) -> Self {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng::new(h)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Byte values that parsers treat specially.
const INTERESTING_8: [u8; 9] = [0, 1, 0x7f, 0x80, 0xff, b'\r', b'\n', b'$', b';'];
/// 16-bit values written big-endian over length and count fields.
const INTERESTING_16: [u16; 6] = [0, 1, 0x7fff, 0x8000, 0xffff, 0x0100];

/// At most this many bytes in a mutant (inputs are small; this bounds insertion).
pub const MAX_LEN: usize = 64 * 1024;

/// One to four edits of `input`, splicing from `other` when it picks that edit.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        edit(rng, &mut out, other);
    }
    out.truncate(MAX_LEN);
    out
}

fn edit(rng: &mut Rng, out: &mut Vec<u8>, other: &[u8]) {
    let len = out.len();
    match rng.below(9) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            out[i] ^= 1 << rng.below(8);
        }
        // One interesting byte.
        1 if len > 0 => {
            let i = rng.below(len);
            out[i] = INTERESTING_8[rng.below(INTERESTING_8.len())];
        }
        // A 16-bit length field: an interesting value, or the input's length off by one.
        2 if len > 1 => {
            let i = rng.below(len - 1);
            let v = match rng.below(3) {
                0 => INTERESTING_16[rng.below(INTERESTING_16.len())],
                1 => (len as u16).wrapping_add(1),
                _ => (len as u16).wrapping_sub(1),
            };
            out[i..i + 2].copy_from_slice(&v.to_be_bytes());
        }
        // Truncate.
        3 if len > 0 => out.truncate(rng.below(len)),
        // Remove a run.
        4 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(16));
            out.drain(at..at + n);
        }
        // Insert random bytes.
        5 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            out.splice(at..at, bytes);
        }
        // Duplicate a run of the input in place.
        6 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(64));
            let run = out[at..at + n].to_vec();
            out.splice(at..at, run);
        }
        // Splice: this input's head, the other's tail.
        7 if !other.is_empty() => {
            let head = rng.below(len + 1);
            let tail = rng.below(other.len());
            out.truncate(head);
            out.extend_from_slice(&other[tail..]);
        }
        // A random byte.
        _ if len > 0 => {
            let i = rng.below(len);
            out[i] = rng.next_u64() as u8;
        }
        _ => out.push(rng.next_u64() as u8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutants() {
        let input = b"RTP/AVP;unicast;client_port=8000-8001";
        let mut a = Rng::from_name("rtsp_transport");
        let mut b = Rng::from_name("rtsp_transport");
        let mut c = Rng::from_name("rtcp");
        let ma: Vec<Vec<u8>> = (0..50).map(|_| mutate(&mut a, input, b"x")).collect();
        let mb: Vec<Vec<u8>> = (0..50).map(|_| mutate(&mut b, input, b"x")).collect();
        let mc: Vec<Vec<u8>> = (0..50).map(|_| mutate(&mut c, input, b"x")).collect();
        assert_eq!(ma, mb);
        assert_ne!(ma, mc);
        assert!(ma.iter().any(|m| m[..] != input[..]));
    }

    #[test]
    fn mutants_of_empty_inputs_and_long_inputs_stay_bounded() {
        let mut rng = Rng::new(0);
        let long = vec![7u8; MAX_LEN];
        for _ in 0..200 {
            assert!(mutate(&mut rng, &[], &[]).len() <= 4 * 16);
            assert!(mutate(&mut rng, &long, &long).len() <= MAX_LEN);
        }
    }
}

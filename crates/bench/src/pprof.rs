//! Reads pprof profiles as Go's `net/http/pprof` serves them (`/debug/pprof/profile`,
//! `/debug/pprof/heap`): gzipped `perftools.profiles.Profile` protobuf. Only the fields
//! needed here are decoded (prost skips the others): samples, locations, functions,
//! strings, sample types.

use std::collections::HashMap;
use std::io::Read;

use flate2::read::GzDecoder;
use prost::Message;

/// `perftools.profiles.Profile` (subset).
#[derive(Clone, PartialEq, Message)]
pub struct Profile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub period: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct ValueType {
    /// Index into the string table.
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    /// Leaf first.
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    /// One per sample type.
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Location {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "3")]
    pub address: u64,
    /// Inlined functions first, the function they were inlined into last.
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    #[prost(int64, tag = "2")]
    pub line: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Index into the string table.
    #[prost(int64, tag = "2")]
    pub name: i64,
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    #[prost(int64, tag = "4")]
    pub filename: i64,
}

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PprofError {
    #[error("decompressing the profile: {0}")]
    Gzip(std::io::Error),
    #[error("decoding the profile: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the profile has no sample type {0}")]
    NoSampleType(String),
}

/// Decodes a profile, gzipped or not.
pub fn decode(data: &[u8]) -> Result<Profile, PprofError> {
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut raw = Vec::new();
        GzDecoder::new(data)
            .read_to_end(&mut raw)
            .map_err(PprofError::Gzip)?;
        Ok(Profile::decode(raw.as_slice())?)
    } else {
        Ok(Profile::decode(data)?)
    }
}

/// One function's share of a sample type.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub function: String,
    /// Summed over samples whose leaf is this function.
    pub flat: i64,
    /// Of the whole profile, in percent.
    pub flat_percent: f64,
}

impl Profile {
    pub fn string(&self, i: i64) -> &str {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.string_table.get(i))
            .map_or("", String::as_str)
    }

    /// `(type, unit)` of each sample value.
    pub fn sample_types(&self) -> Vec<(&str, &str)> {
        self.sample_type
            .iter()
            .map(|t| (self.string(t.r#type), self.string(t.unit)))
            .collect()
    }

    /// Index of the first sample type that `wanted` accepts.
    pub fn sample_index(&self, wanted: impl Fn(&str, &str) -> bool) -> Option<usize> {
        self.sample_types().iter().position(|(t, u)| wanted(t, u))
    }

    /// Sum of sample value `index` over all samples.
    pub fn total(&self, index: usize) -> i64 {
        self.sample.iter().filter_map(|s| s.value.get(index)).sum()
    }

    /// Functions by flat value of sample type `index`, largest first (ties by name). A
    /// sample's flat value goes to the innermost function of its leaf location; a leaf
    /// without a function is named by its address, as pprof does.
    pub fn top_flat(&self, index: usize) -> Vec<Entry> {
        let functions: HashMap<u64, &Function> = self.function.iter().map(|f| (f.id, f)).collect();
        let locations: HashMap<u64, &Location> = self.location.iter().map(|l| (l.id, l)).collect();
        let mut flat: HashMap<String, i64> = HashMap::new();
        for s in &self.sample {
            let Some(&v) = s.value.get(index) else {
                continue;
            };
            let Some(leaf) = s.location_id.first() else {
                continue;
            };
            let name = match locations.get(leaf) {
                Some(l) => match l
                    .line
                    .first()
                    .and_then(|line| functions.get(&line.function_id))
                {
                    Some(f) => self.string(f.name).to_string(),
                    None => format!("{:#x}", l.address),
                },
                None => format!("location {leaf}"),
            };
            *flat.entry(name).or_default() += v;
        }
        let total = self.total(index);
        let mut entries: Vec<Entry> = flat
            .into_iter()
            .map(|(function, flat)| Entry {
                flat_percent: if total == 0 {
                    0.0
                } else {
                    flat as f64 * 100.0 / total as f64
                },
                function,
                flat,
            })
            .collect();
        entries.sort_by(|a, b| {
            b.flat
                .cmp(&a.flat)
                .then_with(|| a.function.cmp(&b.function))
        });
        entries
    }

    /// Index of the CPU sample count (`samples/count`), else the first sample type.
    pub fn cpu_index(&self) -> usize {
        self.sample_index(|t, u| t == "samples" && u == "count")
            .unwrap_or(0)
    }

    /// Bytes in use in a heap profile: `inuse_space`, else the first type in bytes.
    pub fn heap_inuse_bytes(&self) -> Result<i64, PprofError> {
        let i = self
            .sample_index(|t, u| t == "inuse_space" && u == "bytes")
            .or_else(|| self.sample_index(|_, u| u == "bytes"))
            .ok_or_else(|| PprofError::NoSampleType("inuse_space/bytes".into()))?;
        Ok(self.total(i))
    }
}

/// Whether a function name looks like loss recovery (NACK, RTX, resend, retransmission).
pub fn is_retransmission_function(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["nack", "rtx", "resend", "retransmi"]
        .iter()
        .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use pprof::protos::Message as _;
    use std::io::Write;

    /// A CPU profile written with the `pprof` crate's own protobuf types: 3 functions, one
    /// inlined into another, samples of (count, nanoseconds).
    fn cpu_profile() -> Vec<u8> {
        use pprof::protos as p;
        let strings: Vec<String> = [
            "",
            "samples",
            "count",
            "cpu",
            "nanoseconds",
            "str0m::streams::send::StreamTx::poll_packet",
            "ferromtx_webrtc::session::Session::handle_nack",
            "aws_lc_0_x_aes_gcm_encrypt",
            "main",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let func = |id: u64, name: i64| p::Function {
            id,
            name,
            system_name: name,
            ..Default::default()
        };
        let loc = |id: u64, functions: &[u64]| p::Location {
            id,
            line: functions
                .iter()
                .map(|&f| p::Line {
                    function_id: f,
                    line: 10,
                })
                .collect(),
            ..Default::default()
        };
        let sample = |locs: &[u64], n: i64| p::Sample {
            location_id: locs.to_vec(),
            value: vec![n, n * 10_000_000],
            ..Default::default()
        };
        let profile = p::Profile {
            sample_type: vec![
                p::ValueType { ty: 1, unit: 2 },
                p::ValueType { ty: 3, unit: 4 },
            ],
            sample: vec![
                sample(&[1, 4], 30),
                sample(&[2, 4], 50),
                sample(&[3, 4], 15),
                sample(&[1, 2, 4], 5),
                sample(&[5, 4], 7),
            ],
            location: vec![
                loc(1, &[1]),
                // handle_nack inlined into poll_packet: the innermost comes first.
                loc(2, &[2, 1]),
                loc(3, &[3]),
                loc(4, &[4]),
                p::Location {
                    id: 5,
                    address: 0xdead,
                    ..Default::default()
                },
            ],
            function: vec![func(1, 5), func(2, 6), func(3, 7), func(4, 8)],
            string_table: strings,
            period_type: Some(p::ValueType { ty: 3, unit: 4 }),
            period: 10_000_000,
            duration_nanos: 1_000_000_000,
            ..Default::default()
        };
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&profile.encode_to_vec()).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn cpu_profile_top_by_flat_samples() {
        let p = decode(&cpu_profile()).unwrap();
        assert_eq!(
            p.sample_types(),
            vec![("samples", "count"), ("cpu", "nanoseconds")]
        );
        assert_eq!(p.cpu_index(), 0);
        assert_eq!(p.total(0), 107);
        let top = p.top_flat(p.cpu_index());
        let names: Vec<(&str, i64)> = top.iter().map(|e| (e.function.as_str(), e.flat)).collect();
        assert_eq!(
            names,
            vec![
                ("ferromtx_webrtc::session::Session::handle_nack", 50),
                ("str0m::streams::send::StreamTx::poll_packet", 35),
                ("aws_lc_0_x_aes_gcm_encrypt", 15),
                ("0xdead", 7),
            ]
        );
        assert!((top[0].flat_percent - 50.0 * 100.0 / 107.0).abs() < 1e-9);
        // The nanosecond values rank the same.
        assert_eq!(p.top_flat(1)[0].flat, 500_000_000);
        assert_eq!(p.duration_nanos, 1_000_000_000);
    }

    #[test]
    fn heap_profile_in_use_bytes() {
        use pprof::protos as p;
        let profile = p::Profile {
            sample_type: vec![
                p::ValueType { ty: 1, unit: 2 },
                p::ValueType { ty: 3, unit: 4 },
            ],
            sample: vec![
                p::Sample {
                    location_id: vec![1],
                    value: vec![3, 3000],
                    ..Default::default()
                },
                p::Sample {
                    location_id: vec![1],
                    value: vec![1, 1096],
                    ..Default::default()
                },
            ],
            string_table: ["", "inuse_objects", "count", "inuse_space", "bytes"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ..Default::default()
        };
        let p = decode(&profile.encode_to_vec()).unwrap();
        assert_eq!(p.heap_inuse_bytes().unwrap(), 4096);
        let no_bytes = Profile {
            sample_type: vec![ValueType { r#type: 1, unit: 2 }],
            string_table: vec!["".into(), "samples".into(), "count".into()],
            ..Default::default()
        };
        assert!(no_bytes.heap_inuse_bytes().is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode(&[0x1f, 0x8b, 0, 1, 2]).is_err());
        assert!(decode(&[0xff, 0xff, 0xff]).is_err());
        // Out-of-range string indices read as empty.
        let p = Profile::default();
        assert_eq!(p.string(5), "");
        assert_eq!(p.string(-1), "");
    }

    #[test]
    fn retransmission_names() {
        for n in [
            "ferromtx_webrtc::session::Session::handle_nack",
            "str0m::streams::rtx_cache::RtxCache::get",
            "pion::Resend",
            "github.com/pion/interceptor/pkg/nack.(*ResponderInterceptor).resendPackets",
            "RetransmitBuffer",
        ] {
            assert!(is_retransmission_function(n), "{n}");
        }
        assert!(!is_retransmission_function("aes_gcm_encrypt"));
        assert!(!is_retransmission_function("tokio::runtime::park"));
    }
}

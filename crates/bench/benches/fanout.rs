//! Fan-out cost: per unit per reader, and memory per added reader.
//!
//! `cargo bench -p ferromtx-bench --bench fanout`. Memory figures are printed to stderr
//! before the timing benchmarks (a counting global allocator measures them).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use ferromtx_codec::{Format, rtp};
use ferromtx_core::{Stream, Track, TryNext, Unit};
use ferromtx_net::sys::CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::new();

const READER_COUNTS: [usize; 3] = [1, 64, 1000];
const RING: usize = 1024;

fn tracks() -> Vec<Track> {
    vec![Track {
        format: Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        },
    }]
}

fn unit(payload: &Bytes, seq: u16) -> Unit {
    Unit {
        track: 0,
        pts: i64::from(seq),
        random_access: seq.is_multiple_of(50),
        rtp_packets: vec![rtp::Packet {
            marker: true,
            payload_type: 96,
            sequence_number: seq,
            timestamp: u32::from(seq) * 3600,
            ssrc: 1,
            csrc: Vec::new(),
            extension: None,
            payload: payload.clone(),
        }],
        ..Unit::default()
    }
}

/// Heap bytes per added reader, and allocations per unit per reader in steady state.
fn report_memory() {
    let stream = Stream::new("bench", tracks(), RING);
    let payload = Bytes::from(vec![0u8; 1200]);
    let n = 1000;
    let mut readers = Vec::with_capacity(n);
    let before = GLOBAL.live_bytes() as usize;
    for _ in 0..n {
        readers.push(stream.reader());
    }
    let after = GLOBAL.live_bytes() as usize;
    let heap_per_reader = (after - before) as f64 / n as f64;
    eprintln!(
        "fanout/memory: heap bytes per added reader = {heap_per_reader:.1}, \
         Reader struct = {} bytes",
        std::mem::size_of::<ferromtx_core::Reader>()
    );

    let units = 500u16;
    let allocs_before = GLOBAL.calls();
    let now = tokio::time::Instant::now();
    for i in 0..units {
        stream.write(unit(&payload, i)).ok();
        for r in &mut readers {
            black_box(r.try_next(now));
        }
    }
    let allocs = GLOBAL.calls() - allocs_before;
    eprintln!(
        "fanout/memory: allocations per written unit = {:.2} (with {n} readers reading)",
        allocs as f64 / f64::from(units)
    );
}

/// One unit written, then every reader takes it: cost per unit per reader, no wake-ups.
fn sync_fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout/try_next");
    let payload = Bytes::from(vec![0u8; 1200]);
    for &n in &READER_COUNTS {
        let stream = Stream::new("bench", tracks(), RING);
        let mut readers: Vec<_> = (0..n).map(|_| stream.reader()).collect();
        let now = tokio::time::Instant::now();
        let mut seq = 0u16;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                stream.write(unit(&payload, seq)).ok();
                for r in &mut readers {
                    match r.try_next(now) {
                        TryNext::Unit(u) => {
                            black_box(&u);
                        }
                        other => panic!("reader fell behind: {other:?}"),
                    }
                }
            });
        });
    }
    group.finish();
}

/// Readers as tokio tasks on a 2-worker runtime, woken by the writer: cost per unit per
/// reader including wake-ups.
fn async_fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout/async_next");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    let payload = Bytes::from(vec![0u8; 1200]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for &n in &READER_COUNTS {
        let stream = Stream::new("bench", tracks(), RING);
        let consumed = Arc::new(AtomicU64::new(0));
        for _ in 0..n {
            let mut r = stream.reader();
            let consumed = Arc::clone(&consumed);
            rt.spawn(async move {
                while let Some(u) = r.next().await {
                    black_box(&u);
                    consumed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let mut seq = 0u16;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let target = consumed.load(Ordering::Relaxed) + iters * n as u64;
                for i in 0..iters {
                    seq = seq.wrapping_add(1);
                    stream.write(unit(&payload, seq)).ok();
                    // keep the writer within the ring so the benchmark measures delivery
                    if i % 256 == 255 {
                        let part = target - (iters - i - 1) * n as u64;
                        while consumed.load(Ordering::Relaxed) < part {
                            std::thread::yield_now();
                        }
                    }
                }
                while consumed.load(Ordering::Relaxed) < target {
                    std::thread::yield_now();
                }
                start.elapsed()
            });
        });
        stream.close();
    }
    group.finish();
}

criterion_group!(benches, sync_fanout, async_fanout);

fn main() {
    report_memory();
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}

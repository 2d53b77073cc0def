//! This machine's measured peaks, the ceilings of the roofline account (issue #16, BENCHMARKS.md):
//! f32 GEMM through the engine's own `linalg::gemm` (faer, one thread per product, as the engine
//! runs them: threads work on separate batch slices), on one thread and on every thread at once,
//! and memory bandwidth (STREAM-style copy and triad over arrays far larger than the caches).
//!
//! ```text
//! cargo run --release -p spikeflux-core --example peaks [-- THREADS]
//! ```
//!
//! Prints one JSON object. GEMM FLOPs are 2·m·k·n; bandwidth counts the bytes STREAM counts
//! (copy 8, triad 12 per f32 element; no write-allocate traffic).

use std::time::Instant;

use spikeflux_core::linalg::gemm;

/// Best time of `reps` runs of `f`, in seconds.
fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// GFLOP/s of `threads` concurrent m×k·k×n products (each thread its own matrices).
fn gemm_gflops(threads: usize, m: usize, k: usize, n: usize) -> f64 {
    let reps = (2e10 / (2.0 * (m * k * n) as f64)).clamp(3.0, 200.0) as usize;
    let secs = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|i| {
                s.spawn(move || {
                    let a: Vec<f32> = (0..m * k).map(|j| ((i + j) % 7) as f32 * 0.1).collect();
                    let b: Vec<f32> = (0..k * n).map(|j| ((i + j) % 5) as f32 * 0.1).collect();
                    let mut c = vec![0f32; m * n];
                    gemm(&mut c, false, &a, &b, m, k, n); // warm-up
                    best(reps, || gemm(&mut c, false, &a, &b, m, k, n))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(f64::INFINITY)).fold(0.0, f64::max)
    });
    threads as f64 * 2.0 * (m * k * n) as f64 / secs / 1e9
}

/// GB/s of copy and triad over `len` f32 per array, split over `threads`.
fn stream(threads: usize, len: usize) -> (f64, f64) {
    let mut a = vec![1f32; len];
    let b = vec![2f32; len];
    let c = vec![3f32; len];
    let chunk = len.div_ceil(threads);
    let copy = best(5, || {
        std::thread::scope(|s| {
            for (ac, bc) in a.chunks_mut(chunk).zip(b.chunks(chunk)) {
                s.spawn(move || ac.copy_from_slice(bc));
            }
        })
    });
    let triad = best(5, || {
        std::thread::scope(|s| {
            for ((ac, bc), cc) in a.chunks_mut(chunk).zip(b.chunks(chunk)).zip(c.chunks(chunk)) {
                s.spawn(move || {
                    for ((x, y), z) in ac.iter_mut().zip(bc).zip(cc) {
                        *x = y + 3.0 * z;
                    }
                });
            }
        })
    });
    std::hint::black_box(&a);
    let bytes = len as f64 * 4.0;
    (2.0 * bytes / copy / 1e9, 3.0 * bytes / triad / 1e9)
}

fn main() {
    let threads: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|w| w == f);
    let mut out = serde_json::Map::new();
    out.insert("threads".into(), threads.into());
    out.insert(
        "cpu_flags".into(),
        serde_json::json!({"avx512f": has("avx512f"), "avx512_bf16": has("avx512_bf16"), "amx_bf16": has("amx_bf16"), "amx_tile": has("amx_tile")}),
    );
    // square, and the shapes the RCSNN's products take per slice (rows = T·b for b = 2 samples)
    for (name, m, k, n) in [("square_1024", 1024, 1024, 1024), ("rows700_k700_n128", 700, 700, 128), ("rows700_k128_n128", 700, 128, 128)] {
        let one = gemm_gflops(1, m, k, n);
        let all = gemm_gflops(threads, m, k, n);
        out.insert(format!("gemm_f32_{name}_gflops"), serde_json::json!({"one_thread": one, "all_threads": all}));
    }
    let len = 64 << 20; // 256 MiB per array
    let (c1, t1) = stream(1, len);
    let (ca, ta) = stream(threads, len);
    out.insert("stream_gbps".into(), serde_json::json!({"copy_one_thread": c1, "triad_one_thread": t1, "copy_all_threads": ca, "triad_all_threads": ta}));
    println!("{}", serde_json::Value::Object(out));
}

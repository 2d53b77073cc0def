//! Spike statistics of the stochastic stages against the reference package (spec §3 acceptance
//! table, binomial-sampler column), over 12 seeds on the FSDD clip, plus the ANF and bushy-cell
//! stages against their closed forms.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use spikeflux_cochlea::{anf, audio, bm, bushy, spikes_from_probabilities, Clip, Transfer};

fn per_unit_reference() -> Vec<f64> {
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(common::data_dir().join("seed_stats_fsdd48k.json")).unwrap()).unwrap();
    s["numpy_order"]["per_unit_mean_counts"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn spike_statistics_match_the_reference_over_seeds() {
    let a = audio::read_wav(&common::data_dir().join("3_jackson_0_48k.wav")).unwrap();
    let mut x = a.samples;
    audio::normalize(&mut x).unwrap();
    let clip = Clip::new(&x, 48_000, &Transfer::Table(Arc::new(bm::Table::new(24_000))));
    let p = clip.probabilities();
    // the batched, lane-interleaved path gives exactly the per-channel path's spikes
    let direct = spikes_from_probabilities(&p, 24_000.0, 5);
    assert_eq!(clip.spikes(5), direct);
    let other = Clip::new(&x[..20_001], 48_000, &Transfer::Exact);
    let both = spikeflux_cochlea::spikes_batch(&[other, clip], &[9, 5]);
    assert_eq!(both[1], direct);
    let seeds = 12;
    let (mut total, mut active, mut t50) = (0.0, 0.0, 0.0);
    let mut bands = [0.0f64; 7];
    let mut per_unit = vec![0.0f64; 700];
    for seed in 0..seeds {
        let s = spikes_from_probabilities(&p, 24_000.0, seed);
        total += s.samples.len() as f64;
        let mut counts = vec![0usize; 700];
        let mut last = vec![None::<u32>; 700];
        for (&n, &u) in s.samples.iter().zip(&s.units) {
            let u = usize::from(u);
            counts[u] += 1;
            if let Some(l) = last[u] {
                assert!(n - l >= 25, "unit {u}: ISI {} samples", n - l);
            }
            last[u] = Some(n);
        }
        // sorted by sample, then unit
        assert!(s.samples.windows(2).zip(s.units.windows(2)).all(|(n, u)| n[0] < n[1] || (n[0] == n[1] && u[0] < u[1])));
        active += counts.iter().filter(|&&c| c > 0).count() as f64;
        for (u, c) in counts.iter().enumerate() {
            bands[u / 100] += *c as f64;
            per_unit[u] += *c as f64;
        }
        t50 += f64::from(s.samples[s.samples.len() / 2]) / 24_000.0;
    }
    let k = seeds as f64;
    let (total, active, t50) = (total / k, active / k, t50 / k * 1e3);
    bands.iter_mut().for_each(|b| *b /= k);
    per_unit.iter_mut().for_each(|c| *c /= k);
    let corr = pearson(&per_unit, &per_unit_reference());
    eprintln!("mean over {seeds} seeds: total {total:.1}, active {active:.1}, t50 {t50:.1} ms, bands {bands:.1?}, per-unit corr {corr:.4}");
    assert!((total / 5425.0 - 1.0).abs() < 0.02, "total spikes {total}");
    for (b, want) in [(3, 321.2), (4, 1319.0), (5, 2270.2), (6, 1378.6)] {
        assert!((bands[b] / want - 1.0).abs() < 0.05, "band {b}00–{b}99: {} vs {want}", bands[b]);
    }
    assert!((active - 498.0).abs() <= 15.0, "active units {active}");
    assert!((t50 - 196.2).abs() <= 3.0, "t50 {t50} ms");
    assert!(corr > 0.99, "per-unit correlation {corr}");
}

/// Constant probability: each fibre fires at p/(1 + p·(D − 1)) per sample (dead time D − 1 samples
/// after a spike, then a geometric wait), and no D-sample window holds more than 40 spikes.
#[test]
fn fibres_follow_the_dead_time_rate() {
    use rand::SeedableRng;
    let f = 24_000.0;
    let d = anf::window(f);
    assert_eq!(d, 24);
    for p0 in [2.69865e-3, 0.018, 0.3] {
        let p = vec![p0; 240_000];
        let mut counts = vec![0u32; p.len()];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        anf::sample(&p, d, &mut rng, &mut counts);
        let mean = counts.iter().map(|&c| f64::from(c)).sum::<f64>() / p.len() as f64;
        let want = 40.0 * p0 / (1.0 + p0 * (d as f64 - 1.0));
        assert!((mean / want - 1.0).abs() < 0.02, "p = {p0}: {mean} per sample, theory {want}");
        let max_window = counts.windows(d).map(|w| w.iter().sum::<u32>()).max().unwrap();
        assert!(max_window <= 40, "{max_window} spikes in one dead-time window");
    }
    // the inverse-CDF binomial has the right mean and variance
    let (n, p0) = (40u32, 0.05);
    let draws: Vec<f64> = (0..200_000).map(|i| f64::from(anf::binomial(n, p0, (f64::from(i) + 0.5) / 200_000.0))).collect();
    let m = draws.iter().sum::<f64>() / draws.len() as f64;
    let v = draws.iter().map(|x| (x - m).powi(2)).sum::<f64>() / draws.len() as f64;
    assert!((m - 2.0).abs() < 1e-3 && (v - 1.9).abs() < 1e-2, "mean {m}, var {v}");
}

/// Saturating input (40 fibre spikes every sample): the membrane reaches threshold at sample 1
/// (0.54 after sample 0), the spike is emitted when sample 2 is processed, and then exactly every
/// ceil(R) + 1 = 25 samples; the crossing at sample 101 of a 102-sample input is never emitted. Spontaneous fibre
/// input gives a slow spontaneous rate (spec: about 0.6–1.0 spikes/s).
#[test]
fn bushy_cell_order_and_spontaneous_rate() {
    let mut out = Vec::new();
    bushy::run(&[40; 102], 24_000.0, &mut out);
    assert_eq!(out, vec![1, 26, 51, 76]);
    // silence through the whole chain after the BM: hair cell at rest, fibres, bushy cells
    let p = vec![vec![2.69865e-3; 240_000]; 700];
    let s = spikes_from_probabilities(&p, 24_000.0, 3);
    let rate = s.samples.len() as f64 / 700.0 / 10.0;
    eprintln!("spontaneous bushy rate {rate:.3} spikes/s per channel");
    assert!((0.3..2.0).contains(&rate), "spontaneous rate {rate} /s");
}

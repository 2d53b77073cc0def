//! The deterministic stages against the spec's analytic values and lauscher's stage outputs.
#![allow(clippy::unwrap_used)]

mod common;

use num_complex::Complex64 as C64;
use spikeflux_cochlea::{audio, bm, haircell, Clip, Transfer};

#[test]
fn transfer_function_matches_the_spec_vectors() {
    let table: [(f64, usize, f64, f64); 9] = [
        (1.0, 0, 1.653616259339147e-06, 7.945491875999691e-06),
        (100.0, 699, 1.643949136381739e+02, -1.505213533757934e+02),
        (1000.0, 0, 1.118424011755138e+00, 7.018821018062421e-01),
        (1000.0, 400, 7.636686223357072e+00, -1.701886625553757e+02),
        (1000.0, 699, 7.066657954118305e-11, -8.414318460788371e-10),
        (4479.9, 200, -9.102130902264331e+01, 3.793338819198436e+01),
        (10000.0, 100, 1.686360004448503e+01, 6.869016865744112e+01),
        (22508.7, 0, -1.008905108925511e+01, 2.661033052113057e+02),
        (24000.0, 350, -4.798937140202146e-12, -3.759364953898934e-11),
    ];
    for (f, j, re, im) in table {
        let v = bm::transfer(2.0 * std::f64::consts::PI * f, bm::place(j));
        let want = C64::new(re, im);
        let rel = (v - want).norm() / want.norm();
        assert!(rel < 1e-12, "V({f} Hz, ch {j}) = {v}, want {want} (rel {rel:e})");
    }
    let b = bm::beta(2.0 * std::f64::consts::PI * 1000.0);
    assert!((b - 0.5923843917544488).abs() < 1e-15, "{b}");
}

/// The place map: the peak of |V| over frequency for a channel sits at the spec's CF, and a pure
/// tone excites most strongly the channel whose CF it is.
#[test]
fn place_map_and_pure_tone() {
    for (j, cf) in [(100usize, 9545.0), (300, 2116.0), (400, 1001.0), (600, 221.0)] {
        let x = bm::place(j);
        // search CF on a 0.5 % grid around the expected value
        let (mut best, mut arg) = (0.0, 0.0);
        for i in -40..=40 {
            let f = cf * (1.0 + 0.0025 * f64::from(i));
            let m = bm::transfer(2.0 * std::f64::consts::PI * f, x).norm();
            if m > best {
                best = m;
                arg = f;
            }
        }
        assert!((arg / cf - 1.0).abs() < 0.01, "channel {j}: peak at {arg} Hz, spec {cf} Hz");
    }
    // a 1001 Hz tone, 0.25 s at 48 kHz: the most excited channel is within 5 of channel 400
    let sr = 48_000u32;
    let mut x: Vec<f64> = (0..12_000).map(|n| (2.0 * std::f64::consts::PI * 1001.0 * f64::from(n) / f64::from(sr)).sin()).collect();
    audio::normalize(&mut x).unwrap();
    let clip = Clip::new(&x, sr, &Transfer::Exact);
    let mut buf = spikeflux_cochlea::Scratch::default();
    let mut y = vec![0.0; clip.len];
    let rms: Vec<f64> = (300..500)
        .map(|j| {
            clip.basilar(j, &mut buf, &mut y);
            (y.iter().map(|v| v * v).sum::<f64>() / y.len() as f64).sqrt()
        })
        .collect();
    let top = 300 + rms.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert!((395..=405).contains(&top), "1 kHz tone peaks at channel {top}");
}

#[test]
fn hair_cell_initial_and_steady_state() {
    let (q, c, w) = haircell::steady_state(0.0);
    assert!((c / 1.295354e-3 - 1.0).abs() < 1e-6, "c0 {c}");
    assert!((q / 0.3587354 - 1.0).abs() < 1e-6, "q0 {q}");
    assert!((w / 0.1285586 - 1.0).abs() < 1e-6, "w0 {w}");
    let f = 24_000.0;
    // silence: the probability stays at the spontaneous value h·c0/F = 2.69865e-3 (64.77 spikes/s)
    let mut y = vec![0.0; 2400];
    haircell::run(&mut y, f);
    for p in &y {
        assert!((p / 2.69865e-3 - 1.0).abs() < 1e-5, "{p}");
    }
    // constant input: the Euler scheme settles at the closed-form steady state
    for s in [3.0, 40.0, 250.0, -2.0] {
        let mut y = vec![s; 5 * 24_000];
        haircell::run(&mut y, f);
        let (_, c, _) = haircell::steady_state(s);
        let want = haircell::H * c / f;
        let got = *y.last().unwrap();
        assert!((got - want).abs() <= 1e-9 * want.max(1e-12), "s = {s}: p = {got}, closed form {want}");
    }
}

/// Normalisation, window, BM and hair cell against lauscher's outputs for the FSDD clip: exact V to
/// 1e-9 of each channel's peak, and the 1-Hz table within the spec's 1e-3 on the BM.
#[test]
fn stages_match_lauscher_on_the_fsdd_clip() {
    let a = audio::read_wav(&common::data_dir().join("3_jackson_0_48k.wav")).unwrap();
    assert_eq!((a.rate, a.samples.len()), (48_000, 23_316));
    let mut x = a.samples.clone();
    audio::normalize(&mut x).unwrap();
    let (norm, _) = common::npz("stages_fsdd48k.npz", "norm_wave");
    let max = norm.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (a, b) in x.iter().zip(&norm) {
        assert!((a - b).abs() <= 1e-12 * max, "{a} vs {b}");
    }
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt();
    assert!((rms - 0.238898).abs() < 1e-6, "{rms}");

    let (sel, _) = common::npz("stages_fsdd48k.npz", "sel");
    let (bm_ref, shape) = common::npz("stages_fsdd48k.npz", "bm");
    let (p_ref, _) = common::npz("stages_fsdd48k.npz", "p");
    let k = shape[1] as usize;
    let exact = Clip::new(&x, 48_000, &Transfer::Exact);
    assert_eq!(exact.len, k);
    let table = Clip::new(&x, 48_000, &Transfer::Table(std::sync::Arc::new(bm::Table::new(24_000))));
    let mut buf = spikeflux_cochlea::Scratch::default();
    let (mut y, mut p) = (vec![0.0; k], vec![0.0; k]);
    let mut worst_table = 0.0f64;
    for (row, &j) in sel.iter().enumerate() {
        let j = j as usize;
        let want_y = &bm_ref[row * k..(row + 1) * k];
        let want_p = &p_ref[row * k..(row + 1) * k];
        exact.basilar(j, &mut buf, &mut y);
        let peak = want_y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in y.iter().zip(want_y) {
            assert!((a - b).abs() <= 1e-9 * peak, "bm ch {j}: {a} vs {b}");
        }
        exact.probability(j, &mut buf, &mut p);
        let pk = want_p.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in p.iter().zip(want_p) {
            assert!((a - b).abs() <= 1e-9 * pk, "p ch {j}: {a} vs {b}");
        }
        // the two-channels-per-FFT path agrees with the single-channel one
        let mut y2 = vec![0.0; k];
        exact.basilar_pair([j, 699 - j], &mut buf, [&mut p, &mut y2]);
        for (a, b) in p.iter().zip(want_y) {
            assert!((a - b).abs() <= 1e-9 * peak, "paired bm ch {j}: {a} vs {b}");
        }
        table.basilar(j, &mut buf, &mut y);
        for (a, b) in y.iter().zip(want_y) {
            worst_table = worst_table.max((a - b).abs() / peak);
        }
    }
    assert!(worst_table < 1e-3, "table BM error {worst_table:e} of the channel peak");
    eprintln!("1-Hz table: worst BM error {worst_table:.2e} of the channel peak");
    assert_eq!(p_ref[0], 0.002698664607609883);
}

/// FLAC input (a lossless re-encoding of an FSDD recording, `tools/make_flac_fixture.py`) decodes
/// to exactly the WAV's samples; unreadable and empty files are clear errors naming the file.
#[test]
fn flac_decodes_to_the_same_samples_as_the_wav() {
    let flac = common::fixtures().join("0_george_0.flac");
    let wav = common::fixtures().join("fsdd/0_george_0.wav");
    let (a, b) = (audio::read(&flac).unwrap(), audio::read(&wav).unwrap());
    assert_eq!((a.rate, a.samples.len()), (8000, b.samples.len()));
    assert_eq!(a.samples, b.samples);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("x.flac");
    std::fs::write(&bad, b"fLaC but not really").unwrap();
    let e = audio::read(&bad).unwrap_err().to_string();
    assert!(e.contains("x.flac") && e.contains("FLAC"), "{e}");
    // resampling 8 kHz → 48 kHz keeps the length ratio and the tone
    let r = audio::resample(&b, 48_000).unwrap();
    assert_eq!(r.len(), (b.samples.len() * 6));
    let mut x = vec![0.0; 100];
    assert!(matches!(audio::normalize(&mut x), Err(spikeflux_cochlea::Error::Silent)));
}

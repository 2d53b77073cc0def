//! The front-end options that are not SHD's: channel places (`bm::Places`: SHD's by default,
//! unchanged; `Places::up_to(f)` puts channel 0 where `f` resonates, so the channels' best
//! frequencies span the band of the recording) and short ramps instead of the whole-clip window.

use spikeflux_cochlea::bm::{self, Places};

/// Frequency (Hz, 5-Hz grid from 20 Hz to 24 kHz) of the largest |V| at place `x`.
fn best_frequency(x: f64) -> f64 {
    let mut best = (0.0, 0.0);
    let mut f = 20.0;
    while f <= 24_000.0 {
        let v = bm::transfer(2.0 * std::f64::consts::PI * f, x).norm();
        if v > best.1 {
            best = (f, v);
        }
        f += 5.0;
    }
    best.0
}

#[test]
fn full_places_are_shds_bit_for_bit() {
    for j in 0..bm::CHANNELS {
        assert_eq!(Places::FULL.at(j).to_bits(), bm::place(j).to_bits());
    }
    assert_eq!(Places::up_to(1e6), Places { lo: 0.0, hi: bm::LENGTH });
}

#[test]
fn up_to_puts_channel_0_at_the_top_frequency_and_keeps_the_apex() {
    for top in [4_000.0, 8_000.0] {
        let p = Places::up_to(top);
        assert!((bm::resonance_hz(p.lo) - top).abs() < 1e-6 * top);
        assert_eq!(p.at(bm::CHANNELS - 1), bm::LENGTH);
        let b0 = best_frequency(p.at(0));
        println!("top {top} Hz: channel 0 at {:.4} cm, best frequency {b0} Hz", p.lo);
        assert!((b0 - top).abs() < 0.25 * top, "channel 0's best frequency {b0} Hz for a top of {top} Hz");
        // best frequencies fall from base to apex
        let bf: Vec<f64> = [0, 100, 300, 500, 699].iter().map(|&j| best_frequency(p.at(j))).collect();
        assert!(bf.windows(2).all(|w| w[0] > w[1]), "{bf:?}");
    }
}

/// Short ramps: the whole-clip window when not asked (bit for bit), else only the first and last
/// `r` samples are tapered and the rest keeps the RMS gain.
#[test]
fn ramps_of_a_given_length_taper_only_the_ends() {
    use spikeflux_cochlea::audio::{normalize, normalize_with_ramp};
    let x: Vec<f64> = (0..1001).map(|i| ((i as f64) * 0.37).sin() + 0.1).collect();
    let (mut a, mut b) = (x.clone(), x.clone());
    normalize(&mut a).unwrap();
    normalize_with_ramp(&mut b, None).unwrap();
    assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
    let mut c = x.clone();
    normalize_with_ramp(&mut c, Some(50)).unwrap();
    let g = c[500] / x[500];
    assert!(g > 0.0);
    for i in 50..951 {
        assert!((c[i] - g * x[i]).abs() < 1e-12, "sample {i} is tapered");
    }
    assert_eq!(c[0], 0.0);
    assert!((c[25] / (g * x[25])) < 0.6 && (c[975] / (g * x[975])) < 0.6);
    // a ramp longer than half the clip is the whole-clip window
    let mut d = x.clone();
    normalize_with_ramp(&mut d, Some(10_000)).unwrap();
    assert!(a.iter().zip(&d).all(|(p, q)| p.to_bits() == q.to_bits()));
}

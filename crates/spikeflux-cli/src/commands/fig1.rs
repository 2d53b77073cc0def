//! `spikeflux fig1`: the setting of the paper's Fig. 1 (spec §4.1), simulated and compared with the
//! theory.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;
use spikeflux_core::data::files::write_atomic;
use spikeflux_core::Error;

use crate::plots;

/// Arguments of `spikeflux fig1` (as given; validated by the command).
#[derive(clap::Args)]
pub struct Fig1Args {
    /// Output directory.
    #[arg(long, default_value = "fig1")]
    pub out: PathBuf,
    /// Neurons simulated per ξ (statistics are pooled over them).
    #[arg(long, default_value_t = 256)]
    pub neurons: usize,
    /// Simulated time in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Seed of the inputs and weights.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
}

/// What `spikeflux fig1` computes: the figure's panels and the summary written as `fig1.json`.
pub struct Fig1Run {
    /// The panels (input raster, weights, a membrane trace, histograms per ξ).
    pub figure: plots::Fig1,
    /// `n_inputs`, `nu_hz`, `dt`, `seconds`, `neurons`, `seed` and per ξ the measured statistics
    /// against the theory (`xi`: a list).
    pub summary: serde_json::Value,
}

/// Most simulated seconds (the data layer's 65 536 steps of 1 ms).
pub const MAX_SECONDS: f64 = 65.0;
/// Most neurons per ξ (their membranes are kept: 4 bytes per neuron and step).
pub const MAX_NEURONS: usize = 4096;

/// Simulates the Fig. 1 setting: `neurons` LIF neurons per ξ ∈ {1, 2, 3}, FD-initialized for
/// μ_U = 0 on 5000 Poisson inputs at 3 Hz, for `seconds` (dt = 1 ms), with and without reset.
pub fn simulate(neurons: usize, seconds: f64, seed: u64) -> Result<Fig1Run> {
    use spikeflux_core::init::fig1::{fd_group, membrane, MembraneStats};
    use spikeflux_core::init::FdTarget;
    use spikeflux_core::neuron::SpikeMode;
    if !(seconds > 0.5 && seconds <= MAX_SECONDS) {
        return Err(Error::config_found("seconds", format!("more than 0.5 and at most {MAX_SECONDS} (65 536 steps of 1 ms)"), seconds).into());
    }
    if !(1..=MAX_NEURONS).contains(&neurons) {
        return Err(Error::config_found("neurons", format!("1 to {MAX_NEURONS}"), neurons).into());
    }
    let (n, nu, dt) = (5000usize, 3.0, 1e-3);
    let t = (seconds / dt) as usize;
    let burn = 200.min(t / 4);
    let data = spikeflux_core::data::poisson_sample(n, nu, dt, t, seed);
    let show = ((2.0 / dt) as usize).min(t);
    let raster: Vec<(f64, f64)> =
        data.events(0).filter(|&(s, u)| (s as usize) < show && u < 100).map(|(s, u)| (s as f64 * dt, u as f64)).collect();
    let mut hists = Vec::new();
    let mut weights = (Vec::new(), 0.0, 0.0);
    let mut trace = (Vec::new(), 0.0);
    let mut rows = Vec::new();
    for xi in [1.0, 2.0, 3.0] {
        let target = FdTarget { mu_u: 0.0, xi, nu };
        let (net, m) = fd_group(&data, neurons, target, seed)?;
        let free = membrane(&net, &data, SpikeMode::NoReset, burn);
        let reset = membrane(&net, &data, SpikeMode::Spiking, burn);
        let MembraneStats { mean, sd, above_threshold: above_free } = MembraneStats::of(&free, neurons);
        let above_reset = MembraneStats::of(&reset, neurons).above_threshold;
        rows.push(json!({ "xi": xi, "sigma_w": m.std, "theory_sd": 1.0 / xi, "free_mean": mean, "free_sd": sd,
                          "fraction_above_threshold_free": above_free, "fraction_above_threshold_reset": above_reset }));
        say!("ξ = {xi}: σ_w = {:.5}, free membrane mean {mean:+.4}, s.d. {sd:.4} (theory {:.4}); above θ: free {:.2} %, with reset {:.2} %",
                 m.std, 1.0 / xi, 100.0 * above_free, 100.0 * above_reset);
        if xi == 2.0 {
            weights = (net.params[net.layout.ff[0].clone()].to_vec(), m.mean, m.std);
            trace = ((0..show.saturating_sub(burn)).map(|s| ((s + burn) as f64 * dt, free[s * neurons] as f64)).collect(), 0.0);
        }
        let stride = (free.len() / 200_000).max(1);
        hists.push((xi, free.iter().step_by(stride).copied().collect(), reset.iter().step_by(stride).copied().collect(), 0.0, 1.0 / xi));
    }
    let summary = json!({ "n_inputs": n, "nu_hz": nu, "dt": dt, "seconds": seconds, "neurons": neurons, "seed": seed, "xi": rows });
    Ok(Fig1Run { figure: plots::Fig1 { raster, weights, trace, hists }, summary })
}

/// Runs `spikeflux fig1`.
pub fn run(args: Fig1Args) -> Result<()> {
    let Fig1Args { out, neurons, seconds, seed } = args;
    let r = simulate(neurons, seconds, seed).map_err(|e| match e.downcast::<Error>() {
        Ok(Error::Config { field, expected, found }) => Error::Config { field: format!("--{field}"), expected, found }.into(),
        Ok(e) => e.into(),
        Err(e) => e,
    })?;
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    plots::fig1(
        &r.figure,
        &format!("Fig. 1 setting: N = 5000 Poisson inputs at 3 Hz, dt = 1 ms, τ = 20/10 ms, μ_U = 0 ({neurons} neurons, {seconds} s)"),
        &out.join("fig1.png"),
    )?;
    write_atomic(&out.join("fig1.json"), serde_json::to_string_pretty(&r.summary).context("formatting")?.as_bytes())?;
    note!("wrote {}/fig1.png and fig1.json", out.display());
    Ok(())
}

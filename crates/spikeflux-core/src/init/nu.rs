//! ν from the data (issue #4): instead of one hand-set presynaptic rate for the whole network,
//! measure each layer's input rate on the training data after initializing the layers below it.

use std::sync::Arc;

use super::network::{ConnectionInit, InitSpec};
use crate::data::SpikeDataset;
use crate::engine::EngineOptions;
use crate::error::{ensure, Result};
use crate::network::{Network, NetworkSpec};
use crate::train::loss::Objective;
use crate::train::{evaluate_in, Group, Solo};

/// Fluctuation-driven initialization with ν taken from the data, layer by layer (instead of stork's
/// one hand-set ν for the whole network): layer 1 uses the measured input rate of `ds`; each further
/// layer (and the readout) uses the firing rate measured on the first `samples` samples after
/// initializing the layers below it. Returns the network, the moments per connection and the rates
/// used (`[ν_input, ν_1, …, ν_L]`, Hz).
///
/// # Errors
/// As [`Network::initialize_with_rates`]; [`Error::Config`](crate::Error::Config) when a layer is silent (rate 0), since the
/// FD theory then has no fluctuations to scale.
pub fn init_from_data(
    spec: NetworkSpec,
    init: &InitSpec,
    seed: u64,
    ds: &SpikeDataset,
    samples: usize,
    opts: &EngineOptions,
    objective: &Objective,
) -> Result<(Network, Vec<ConnectionInit>, Vec<f64>)> {
    init_from_data_in(Arc::new(Solo), spec, init, seed, ds, samples, opts, objective)
}

/// [`init_from_data`] with the rate measurements spread over the ranks of `group` (every rank
/// gets the single-process rates and network).
///
/// # Errors
/// As [`init_from_data`]; [`Error::Distributed`](crate::Error::Distributed) when the exchange fails.
#[allow(clippy::too_many_arguments)]
pub fn init_from_data_in(
    group: Arc<dyn Group>,
    spec: NetworkSpec,
    init: &InitSpec,
    seed: u64,
    ds: &SpikeDataset,
    samples: usize,
    opts: &EngineOptions,
    objective: &Objective,
) -> Result<(Network, Vec<ConnectionInit>, Vec<f64>)> {
    let mut net = Network::zeros(spec)?;
    let mut rates = vec![ds.mean_rate_hz()];
    let sub = ds.subset(&(0..samples.min(ds.len())).collect::<Vec<_>>());
    let layers = net.spec.hidden.len();
    for l in 0..layers {
        ensure!(
            rates[l] > 0.0,
            "nu",
            format!("the data-driven rate for layer {} is 0 Hz (the layer below is silent); give a fixed rate instead", l + 1)
        );
        net.initialize_with_rates(init, seed, Some(&rates))?;
        let m = evaluate_in(group.clone(), &net, opts, objective, &sub, 64)?;
        rates.push(m.rates_hz[l]);
    }
    ensure!(rates[layers] > 0.0, "nu", "the last hidden layer is silent at initialization; give a fixed rate instead");
    let report = net.initialize_with_rates(init, seed, Some(&rates))?;
    Ok((net, report, rates))
}


//! # spikeflux-core
//!
//! Spiking neural networks of leaky integrate-and-fire neurons, trained with surrogate gradients
//! through time and initialized in the fluctuation-driven regime (Rossbroich, Gygax & Zenke 2022).
//!
//! A tour, in the order data flows:
//!
//! - [`data`]: spike data sets (Randman generator, SHD-layout HDF5 reader), binned to `(T, dt)`.
//! - [`neuron`]: LIF / adaptive LIF / readout parameters and the SuperSpike surrogate.
//! - [`network`]: architecture, flat parameters and their initialization.
//! - [`init`]: the fluctuation-driven theory (ε̄, ε̂, σ_w) and baseline initializers.
//! - [`engine`]: fused forward and hand-written backward passes over time for a batch slice.
//! - [`train`]: batch-parallel training loop, metrics; [`optim`]: SMORMS3 and Adam.
//! - [`checkpoint`]: weights as safetensors.
//!
//! ```
//! use spikeflux_core::data::randman::{generate, RandmanParams};
//! use spikeflux_core::init::{EpsilonMode, FdTarget};
//! use spikeflux_core::network::*;
//! use spikeflux_core::neuron::*;
//! use spikeflux_core::train::evaluate;
//!
//! let data = generate(&RandmanParams { samples_per_class: 10, ..Default::default() }, 2e-3).unwrap();
//! let spec = NetworkSpec {
//!     input: spikeflux_core::layer::Shape::flat(20), n_out: 10, dt: 2e-3,
//!     hidden: vec![LayerSpec::dense(32, false, LifParams::default())],
//!     readout: ReadoutParams::default(), surrogate: Surrogate::default(),
//! };
//! let target = FdTarget::centered(1.0, 5.0);
//! let init = InitSpec {
//!     hidden: HiddenInit::FluctuationDriven { target, alpha: 0.9, epsilon: EpsilonMode::Numerical, layerwise: false },
//!     readout: ReadoutInit::FluctuationDriven { target, epsilon: EpsilonMode::Numerical },
//!     dale: Default::default(),
//! };
//! let (net, _) = Network::initialized(spec, &init, 7).unwrap();
//! let m = evaluate(&net, &Default::default(), &data, 50);
//! assert!(m.acc >= 0.0 && m.rates_hz[0] > 0.0);
//! ```
#![deny(missing_docs)]

pub mod checkpoint;
pub mod data;
pub mod engine;
pub mod error;
pub mod init;
pub mod layer;
pub mod linalg;
pub mod network;
pub mod neuron;
pub mod optim;
pub mod report;
pub mod rng;
pub mod train;

pub use error::{Error, Result};

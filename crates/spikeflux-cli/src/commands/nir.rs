//! `spikeflux nir export | import`: trained networks to and from NIR graphs (docs/nir.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use spikeflux_core::data::files::write_atomic;
use spikeflux_core::network::{Network, NetworkSpec};
use spikeflux_core::neuron::StepOrder;
use spikeflux_core::nir::{self, Discretization, ExportOptions, ImportOptions};
use spikeflux_core::train::checkpoint;
use spikeflux_core::Error;

use super::{load_config, Overrides};
use crate::config::{HiddenConfig, ModelConfig, PerAxis, ReadoutConfig, RunConfig};

/// Arguments of `spikeflux nir`.
#[derive(clap::Args)]
pub struct NirArgs {
    #[command(subcommand)]
    pub cmd: NirCmd,
}

#[derive(clap::Subcommand)]
pub enum NirCmd {
    /// Write a config's network with trained weights as a NIR graph (HDF5), which `nir.read`,
    /// Norse, snnTorch and the other NIR tools load. Refused, naming the layer, where NIR cannot
    /// express the network (max pooling, adaptation).
    Export(ExportArgs),
    /// Read a NIR graph into a config and weights (DIR/config.toml, DIR/weights.safetensors) that
    /// `spikeflux train --init-weights`, `eval` and `nir export` take.
    Import(ImportArgs),
    /// Print what a NIR file holds: its nodes (type, shapes of their arrays), edges and metadata, and
    /// whether spikeflux can import it (else the node and the reason).
    Info(InfoArgs),
}

/// Arguments of `spikeflux nir info`.
#[derive(clap::Args)]
pub struct InfoArgs {
    /// NIR file.
    pub file: PathBuf,
    /// Simulation step in seconds for the import check (as `nir import --dt`).
    #[arg(long)]
    pub dt: Option<f64>,
}

/// Arguments of `spikeflux nir export` (as given; validated by the command).
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Config the weights were trained with (default: the embedded default).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Weights file (safetensors) written by `spikeflux train`.
    #[arg(long)]
    pub weights: PathBuf,
    /// Output NIR file.
    #[arg(long)]
    pub out: PathBuf,
    /// How the reader will step the equations: `exact` (β = exp(−dt/τ); spikeflux's own time
    /// constants) or `euler` (β = 1 − dt/τ, as snnTorch and Norse read NIR).
    #[arg(long, default_value = "exact")]
    pub discretization: String,
    /// The reader's step in seconds under `euler` (default: the config's dt; snnTorch assumes 1e-4).
    #[arg(long)]
    pub reader_dt: Option<f64>,
}

/// Arguments of `spikeflux nir import` (as given; validated by the command).
#[derive(clap::Args)]
pub struct ImportArgs {
    /// NIR file.
    pub file: PathBuf,
    /// Output directory (config.toml, weights.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// The config whose data, init and train sections the imported network is given (default: the
    /// embedded default); its model section is replaced by the graph's.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Simulation step in seconds (default: the graph's metadata; snnTorch exports assume 1e-4).
    #[arg(long)]
    pub dt: Option<f64>,
    /// How the graph's time constants are read: `exact` or `euler` (default: the metadata's, else
    /// `euler`, as snnTorch and Norse write them).
    #[arg(long)]
    pub discretization: Option<String>,
    /// Read a final spiking CubaLIF (snnTorch classifiers end in one) as the non-spiking readout.
    #[arg(long)]
    pub last_as_readout: bool,
    /// The imported network's step order: `reference` (stork's), `nir` (Norse's) or `snntorch`
    /// (snnTorch's, its reset one step late; default: the metadata's `spikeflux_step_order`, else
    /// `reference`).
    #[arg(long)]
    pub step_order: Option<String>,
}

fn step_order(s: &str, flag: &str) -> Result<StepOrder> {
    StepOrder::parse(s).ok_or_else(|| Error::config_found(flag, "must be `reference`, `nir` or `snntorch`", s).into())
}

fn discretization(s: &str, flag: &str) -> Result<Discretization> {
    Discretization::parse(s).ok_or_else(|| Error::config_found(flag, "must be `exact` or `euler`", s).into())
}

/// Runs `spikeflux nir …`.
pub fn run(args: NirArgs) -> Result<()> {
    match args.cmd {
        NirCmd::Export(a) => export(a),
        NirCmd::Import(a) => import(a),
        NirCmd::Info(a) => info(a),
    }
}

fn describe(g: &nir::Graph, indent: &str, lines: &mut Vec<String>) {
    use spikeflux_core::nir::tree::Value;
    for (name, node) in &g.nodes {
        match node {
            nir::Node::Graph(sub) => {
                lines.push(format!("{indent}{name}: NIRGraph ({} nodes, {} edges)", sub.nodes.len(), sub.edges.len()));
                describe(sub, &format!("{indent}  "), lines);
            }
            nir::Node::Leaf { kind, fields } => {
                let parts: Vec<String> = fields
                    .iter()
                    .filter(|(k, _)| k.as_str() != "metadata")
                    .map(|(k, v)| match v {
                        Value::Array(a) if a.len() == 1 => match a.as_f64() {
                            Some(x) => format!("{k} {}", x[0]),
                            None => format!("{k} {:?}", a.as_strs().unwrap_or_default()),
                        },
                        Value::Array(a) => format!("{k} {:?}", a.shape),
                        Value::Group(_) => format!("{k} {{…}}"),
                    })
                    .collect();
                lines.push(format!("{indent}{name}: {kind} ({})", parts.join(", ")));
            }
        }
    }
    for (a, b) in &g.edges {
        lines.push(format!("{indent}  {a} -> {b}"));
    }
}

fn info(a: InfoArgs) -> Result<()> {
    use spikeflux_core::nir::tree::Value;
    let g = nir::read(&a.file)?;
    let mut lines = vec![format!("{}: {} nodes, {} edges", a.file.display(), g.nodes.len(), g.edges.len())];
    describe(&g, "  ", &mut lines);
    for (k, v) in &g.metadata {
        if let Value::Array(x) = v {
            let text = match (x.as_f64(), x.as_strs()) {
                (Some(f), _) if f.len() == 1 => f[0].to_string(),
                (_, Some(s)) if s.len() == 1 => s[0].clone(),
                _ => format!("{:?}", x.shape),
            };
            lines.push(format!("  metadata {k}: {text}"));
        }
    }
    match nir::from_graph(&g, &ImportOptions { dt: a.dt, ..Default::default() }) {
        Ok(net) => lines.push(format!(
            "spikeflux can import it: {} inputs, {} hidden layers, {} classes, dt = {} s",
            net.spec.input.n(),
            net.spec.hidden.len(),
            net.spec.n_out,
            net.spec.dt
        )),
        Err(e) => lines.push(format!("spikeflux cannot import it as is: {e}")),
    }
    for l in lines {
        say!("{l}");
    }
    Ok(())
}

/// The network of `cfg` with the weights of `weights`, sized from the config or, where it does not
/// say, from its test data.
pub fn load_network(cfg: &RunConfig, base: &Path, weights: &Path) -> Result<Network> {
    let (n_in, n_out) = match cfg.sizes() {
        (Some(i), Some(o)) => (i, o),
        _ => {
            let d = cfg.load_data(base)?;
            (d.test.n_in, d.test.n_classes)
        }
    };
    let spec = cfg.checked_network_spec(n_in, n_out, super::memory_limit(cfg))?;
    let mut net = Network::zeros(spec)?;
    checkpoint::load(&mut net, weights)?;
    Ok(net)
}

fn export(a: ExportArgs) -> Result<()> {
    let disc = discretization(&a.discretization, "--discretization")?;
    let (cfg, base) = load_config(a.config.as_deref(), &Overrides::default())?;
    let net = load_network(&cfg, &base, &a.weights)?;
    let g = nir::to_graph(&net, &ExportOptions { discretization: disc, reader_dt: a.reader_dt })?;
    nir::write(&g, &a.out)?;
    say!(
        "wrote {} ({} nodes, {} discretization, dt = {} s{})",
        a.out.display(),
        g.nodes.len(),
        disc.name(),
        net.spec.dt,
        a.reader_dt.map_or(String::new(), |r| format!(", reader step {r} s"))
    );
    Ok(())
}

/// The config's `ei_ratio` for a Dale layer of `n_exc` E and `n_inh` I neurons (the config gives
/// `n_inh = size / ei_ratio`), if one gives these sizes.
fn ei_ratio(n_exc: usize, n_inh: usize) -> Option<usize> {
    (1..=n_exc).find(|r| n_exc / r == n_inh)
}

/// `cfg` with its model section describing `spec` (everything else kept).
///
/// # Errors
/// A Dale layer whose inhibitory population no `ei_ratio` gives (`size / ei_ratio` rounds down).
pub fn config_for(mut cfg: RunConfig, spec: &NetworkSpec) -> Result<RunConfig> {
    let spikeflux_core::neuron::Surrogate::SuperSpike { beta } = spec.surrogate;
    for (l, h) in spec.hidden.iter().enumerate() {
        if let Some(d) = h.dale {
            if ei_ratio(h.size, d.n_inh).is_none() {
                return Err(Error::nir(
                    format!("lif{l}i"),
                    format!("{} E and {} I neurons: a config gives a Dale layer size / ei_ratio I neurons, and no ei_ratio gives {}", h.size, d.n_inh, d.n_inh),
                )
                .into());
            }
        }
    }
    cfg.model = ModelConfig {
        dt: spec.dt,
        input_shape: (spec.input.positions() > 1).then(|| spec.input.dims()),
        surrogate_beta: beta,
        step_order: spec.step_order,
        hidden: spec
            .hidden
            .iter()
            .map(|h| HiddenConfig {
                size: h.size,
                recurrent: h.recurrent,
                tau_mem: h.lif.tau_mem,
                tau_syn: h.lif.tau_syn,
                adaptation: h.lif.adaptation,
                kernel: h.conv.map(|c| PerAxis::All(c.kernel[1])),
                stride: PerAxis::All(h.conv.map_or(1, |c| c.stride[1])),
                padding: PerAxis::All(h.conv.map_or(0, |c| c.padding[1])),
                rec_kernel: h.conv.map_or(5, |c| c.rec_kernel),
                pool: h.pool,
                ei_ratio: h.dale.and_then(|d| ei_ratio(h.size, d.n_inh)),
                tau_inh: h.dale.map(|d| d.tau_inh),
            })
            .collect(),
        readout: ReadoutConfig { tau_mem: spec.readout.tau_mem, tau_syn: spec.readout.tau_syn, initial_state: spec.readout.initial_state },
    };
    Ok(cfg)
}

fn import(a: ImportArgs) -> Result<()> {
    let disc = a.discretization.as_deref().map(|s| discretization(s, "--discretization")).transpose()?;
    let (base_cfg, _) = load_config(a.config.as_deref(), &Overrides::default())?;
    let g = nir::read(&a.file)?;
    let order = a.step_order.as_deref().map(|s| step_order(s, "--step-order")).transpose()?;
    let net = nir::from_graph(&g, &ImportOptions { dt: a.dt, discretization: disc, last_as_readout: a.last_as_readout, step_order: order })?;
    let cfg = config_for(base_cfg, &net.spec)?;
    cfg.validate().context("the imported network does not make a valid config")?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let text = toml::to_string(&cfg).context("serializing the config")?;
    let header = format!("# imported by spikeflux {} from {}\n", env!("CARGO_PKG_VERSION"), a.file.display());
    write_atomic(&a.out.join("config.toml"), format!("{header}{text}").as_bytes())?;
    let meta = [("source".to_string(), a.file.display().to_string())].into_iter().collect();
    checkpoint::save(&net, &a.out.join("weights.safetensors"), meta)?;
    let sizes: Vec<String> = net.spec.hidden.iter().map(|h| format!("{}{}", h.size, if h.recurrent { "r" } else { "" })).collect();
    say!(
        "wrote {}/config.toml and weights.safetensors: {} inputs → [{}] → {} classes, dt = {} s",
        a.out.display(),
        net.spec.input.n(),
        sizes.join(", "),
        net.spec.n_out,
        net.spec.dt
    );
    Ok(())
}

//! `spikeflux`: train and evaluate spiking neural networks from TOML configs.
//!
//! This file parses the command line, dispatches to one module per subcommand
//! ([`spikeflux_cli::commands`]) and maps errors to exit codes.

use clap::{Parser, Subcommand};
use spikeflux_cli::{commands, config, io};
use spikeflux_core::Error;

#[derive(Parser)]
#[command(name = "spikeflux", version, about = "Train spiking neural networks with surrogate gradients and fluctuation-driven initialization")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a network. Without --config, runs the paper's shallow Randman experiment.
    Train(commands::train::TrainArgs),
    /// Evaluate saved weights on the config's test set.
    Eval(commands::eval::EvalArgs),
    /// Initialization report: per layer, the membrane mean and s.d. the FD theory predicts against
    /// those measured on data (free membrane and with reset), firing rates, silent neurons, σ_w per
    /// connection; a table on stdout, init_report.json and PNG figures in --out.
    InitReport(commands::init_report::InitReportArgs),
    /// Reproduce the panels of the paper's Fig. 1 (spec §4.1): N = 5000 Poisson inputs at 3 Hz,
    /// dt = 1 ms, τ 20/10 ms, FD weights with μ_U = 0 and ξ = 1, 2, 3; free and reset membrane
    /// histograms against the theory. Writes fig1.png and fig1.json.
    Fig1(commands::fig1::Fig1Args),
    /// Train every combination of a grid of config values (separate processes) and collect the test
    /// accuracies: sweep.jsonl (one line per run) and sweep.png (lines over the last parameter, or a
    /// heatmap for two numeric parameters).
    Sweep(commands::sweep::SweepArgs),
    /// Convert audio recordings (mono WAV 8–192 kHz, 8–32-bit integer or float; FLAC) into one spike
    /// file in the SHD layout through the cochlea model behind SHD (basilar membrane, hair cells,
    /// auditory-nerve fibres, bushy cells; 700 channels). Audio is resampled to 48 kHz first.
    /// Labels, speakers and recording indices come from the file names (see --pattern).
    Audio2spikes(commands::audio2spikes::Audio2spikesArgs),
    /// Data utilities.
    Data(commands::data::DataArgs),
    /// Export a trained network as a NIR graph, or import one (docs/nir.md).
    Nir(commands::nir::NirArgs),
}

/// The exit code of an error (README, "Exit codes"): 2 config or command-line value, 3 data file
/// (spike, image, audio or event file), shape or NIR graph, 4 non-finite numbers in training, 5 I/O or weights file, 6 a
/// data-parallel run that lost a rank, 1
/// anything else; 130 after an interrupt and 141 after a closed output pipe are set where they happen.
fn exit_code(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<spikeflux_cochlea::Error>().is_some() {
        return 3; // an audio file the cochlea cannot use is a data file
    }
    match e.downcast_ref::<spikeflux_events::Error>() {
        Some(spikeflux_events::Error::Io { .. }) => return 5,
        Some(_) => return 3, // an event file that cannot be read is a data file
        None => {}
    }
    match e.downcast_ref::<Error>() {
        Some(Error::Config { .. }) => 2,
        Some(Error::DataFile { .. } | Error::Shape { .. } | Error::Nir { .. }) => 3,
        Some(Error::NonFinite { .. } | Error::Saturated { .. }) => 4,
        Some(Error::Io { .. } | Error::Weights { .. }) => 5,
        Some(Error::Distributed { .. }) => 6,
        None => 1,
    }
}

fn main() {
    let cmd = Cli::parse().cmd;
    // only train, eval and sweep spread over MPI ranks; K copies of another command would write
    // the same files at once
    let k = spikeflux_cli::parallel::launcher_size();
    if k > 1 && !matches!(cmd, Cmd::Train(_) | Cmd::Eval(_) | Cmd::Sweep(_)) {
        let e = anyhow::Error::new(Error::config("mpirun", format!("started as one of {k} MPI processes, but only train, eval and sweep run over several processes; run this command without mpirun")));
        io::error(format_args!("{e:#}"));
        std::process::exit(exit_code(&e));
    }
    let r = match cmd {
        Cmd::Train(a) => commands::train::run(a),
        Cmd::Eval(a) => commands::eval::run(a),
        Cmd::InitReport(a) => commands::init_report::run(a),
        Cmd::Fig1(a) => commands::fig1::run(a),
        Cmd::Sweep(a) => commands::sweep::run(a),
        Cmd::Audio2spikes(a) => commands::audio2spikes::run(a),
        Cmd::Data(a) => commands::data::run(a),
        Cmd::Nir(a) => commands::nir::run(a),
    };
    if let Err(e) = r.map_err(config::with_toml_keys) {
        io::error(format_args!("{e:#}"));
        std::process::exit(exit_code(&e));
    }
    if io::stdout_closed() {
        std::process::exit(io::CLOSED_PIPE_STATUS);
    }
}

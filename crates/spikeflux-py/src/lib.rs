//! `spikeflux._native`: the Python package's native module (PyO3). The Python side
//! (`python/spikeflux/__init__.py`) re-exports it with docstrings and type stubs.
//!
//! Everything runs the same Rust code as the command line: configs are parsed and validated by
//! `spikeflux_cli::config`, training is `spikeflux train` (`commands::train::run_with`), so the same
//! config and seed give the same weights bit for bit. The GIL is released while training; Ctrl-C is
//! seen after the current batch (Python's own handler, asked between batches), a checkpoint is
//! written and `KeyboardInterrupt` raised.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray3};
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use spikeflux_cli::commands::train::{Hooks, Outcome, TrainArgs};
use spikeflux_cli::commands::Overrides;
use spikeflux_cli::config::{with_toml_keys, RunConfig, DEFAULT_CONFIG};
use spikeflux_core::data::SpikeDataset;
use spikeflux_core::engine::EngineOptions;
use spikeflux_core::train::{SlicePool, Tape};
use spikeflux_core::train::checkpoint;
use spikeflux_core::Error;

pyo3::create_exception!(_native, SpikefluxError, PyException, "Base class of every spikeflux error.");
pyo3::create_exception!(_native, ConfigError, SpikefluxError, "A config value out of range, unknown or inconsistent; `field` names it.");
pyo3::create_exception!(_native, DataFileError, SpikefluxError, "A data file that cannot be read or has the wrong layout; `path` names it.");
pyo3::create_exception!(_native, ShapeError, SpikefluxError, "Arrays or data of the wrong shape.");
pyo3::create_exception!(_native, NonFiniteError, SpikefluxError, "NaN, infinity or a saturated readout in training; `epoch`, `batch`, `field`.");
pyo3::create_exception!(_native, NirError, SpikefluxError, "A NIR graph spikeflux cannot express, or a network NIR cannot; `node` names the node or layer.");
pyo3::create_exception!(_native, SpikefluxIOError, SpikefluxError, "An I/O error on a path, or a weights file that does not fit the network.");

/// The Python exception for an error of the core or the CLI library, with the core's details as
/// attributes (`field`, `path`, `epoch`, `batch`).
fn to_py(e: anyhow::Error) -> PyErr {
    let e = with_toml_keys(e);
    let msg = format!("{e:#}");
    Python::attach(|py| {
        let (err, attrs): (PyErr, Vec<(&str, Py<PyAny>)>) = match e.downcast_ref::<Error>() {
            Some(Error::Config { field, .. }) => (ConfigError::new_err(msg), vec![("field", field.clone().into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None()))]),
            Some(Error::DataFile { path, .. }) => (DataFileError::new_err(msg), vec![("path", path.display().to_string().into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None()))]),
            Some(Error::Shape { .. }) => (ShapeError::new_err(msg), vec![]),
            Some(Error::Nir { node, .. }) => (NirError::new_err(msg), vec![("node", node.clone().into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None()))]),
            Some(Error::NonFinite { epoch, batch, field, .. }) => (
                NonFiniteError::new_err(msg),
                vec![
                    ("epoch", epoch.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                    ("batch", batch.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                    ("field", field.clone().into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                ],
            ),
            Some(Error::Saturated { epoch, batch, .. }) => (
                NonFiniteError::new_err(msg),
                vec![
                    ("epoch", epoch.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                    ("batch", batch.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                ],
            ),
            Some(Error::Io { path, .. } | Error::Weights { path, .. }) => {
                (SpikefluxIOError::new_err(msg), vec![("path", path.display().to_string().into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None()))])
            }
            Some(Error::Distributed { .. }) | None => (SpikefluxError::new_err(msg), vec![]),
        };
        let value = err.value(py);
        for (k, v) in attrs {
            let _ = value.setattr(k, v);
        }
        err
    })
}

fn core_err(e: Error) -> PyErr {
    to_py(e.into())
}

/// A TOML value from a Python value (bool, int, float, str, list, dict).
fn to_toml(v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    if let Ok(b) = v.extract::<bool>() {
        if v.is_instance_of::<pyo3::types::PyBool>() {
            return Ok(toml::Value::Boolean(b));
        }
    }
    if v.is_instance_of::<pyo3::types::PyInt>() {
        return Ok(toml::Value::Integer(v.extract::<i64>()?));
    }
    if let Ok(x) = v.extract::<f64>() {
        return Ok(toml::Value::Float(x));
    }
    if let Ok(s) = v.extract::<String>() {
        return Ok(toml::Value::String(s));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, x) in d.iter() {
            t.insert(k.extract::<String>()?, to_toml(&x)?);
        }
        return Ok(toml::Value::Table(t));
    }
    if let Ok(l) = v.cast::<PyList>() {
        return Ok(toml::Value::Array(l.iter().map(|x| to_toml(&x)).collect::<PyResult<_>>()?));
    }
    Err(PyTypeError::new_err(format!("a config value must be a bool, int, float, str, list or dict, not {}", v.get_type().name()?)))
}

/// A Python value from a TOML value.
fn from_toml(py: Python<'_>, v: &toml::Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        toml::Value::Boolean(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        toml::Value::Integer(i) => i.into_pyobject(py)?.into_any().unbind(),
        toml::Value::Float(x) => x.into_pyobject(py)?.into_any().unbind(),
        toml::Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        toml::Value::Datetime(d) => d.to_string().into_pyobject(py)?.into_any().unbind(),
        toml::Value::Array(a) => PyList::new(py, a.iter().map(|x| from_toml(py, x)).collect::<PyResult<Vec<_>>>()?)?.into_any().unbind(),
        toml::Value::Table(t) => {
            let d = PyDict::new(py);
            for (k, x) in t {
                d.set_item(k, from_toml(py, x)?)?;
            }
            d.into_any().unbind()
        }
    })
}

/// The parts of a dotted key: `model.hidden[0].size` or `model.hidden.0.size`.
enum Part {
    Key(String),
    Index(usize),
}

fn parse_key(key: &str) -> PyResult<Vec<Part>> {
    let mut parts = Vec::new();
    for seg in key.split('.') {
        let (name, rest) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !name.is_empty() {
            match name.parse::<usize>() {
                Ok(i) => parts.push(Part::Index(i)),
                Err(_) => parts.push(Part::Key(name.to_string())),
            }
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            let i = idx.strip_suffix(']').and_then(|s| s.parse().ok()).ok_or_else(|| PyKeyError::new_err(format!("`{key}`: bad index `[{idx}`")))?;
            parts.push(Part::Index(i));
        }
    }
    if parts.is_empty() {
        return Err(PyKeyError::new_err("an empty key"));
    }
    Ok(parts)
}

/// A run configuration: the TOML tree a config file holds, validated as `spikeflux train` does.
/// Read and set fields by dotted key (`cfg["train.lr"]`, `cfg["model.hidden[0].size"] = 64`); every
/// change is validated at once and refused (the config unchanged) with the CLI's message.
#[pyclass(module = "spikeflux", skip_from_py_object)]
#[derive(Clone)]
struct Config {
    table: toml::Table,
    /// The folder relative data paths start from.
    base: PathBuf,
    origin: String,
}

impl Config {
    fn new(text: &str, origin: &str, base: PathBuf) -> PyResult<Self> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::new_err(format!("{origin}: {e}")))?;
        let c = Config { table, base, origin: origin.to_string() };
        c.parsed()?;
        Ok(c)
    }

    fn text(&self) -> String {
        toml::to_string(&self.table).unwrap_or_default()
    }

    fn parsed(&self) -> PyResult<RunConfig> {
        let cfg = RunConfig::parse(&self.text(), &self.origin).map_err(to_py)?;
        cfg.check_resources(spikeflux_cli::commands::memory_limit(&cfg)).map_err(to_py)?;
        Ok(cfg)
    }

    /// The tree with relative data paths made absolute from `base` (for a config written elsewhere).
    fn absolute(&self) -> toml::Table {
        let mut t = self.table.clone();
        for (section, keys) in [("hdf5", &["train_file", "test_file", "valid_file"][..]), ("fashion_mnist", &["dir"]), ("digits", &["file"])] {
            if let Some(toml::Value::Table(s)) = t.get_mut("data").and_then(|d| d.get_mut(section)) {
                for k in keys {
                    if let Some(toml::Value::String(p)) = s.get_mut(*k) {
                        if Path::new(p.as_str()).is_relative() {
                            *p = self.base.join(&*p).display().to_string();
                        }
                    }
                }
            }
        }
        t
    }
}

#[pymethods]
impl Config {
    /// Reads and validates a TOML config file; relative data paths start from its folder.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        let cfg = RunConfig::load(&path).map_err(to_py)?;
        drop(cfg);
        let text = std::fs::read_to_string(&path).map_err(|e| core_err(Error::io(&path, e)))?;
        Config::new(&text, &path.display().to_string(), path.parent().map(Path::to_path_buf).unwrap_or_default())
    }

    /// The embedded default experiment (`configs/randman-shallow.toml`: the paper's shallow
    /// Randman network, no download).
    #[staticmethod]
    fn default() -> PyResult<Self> {
        Config::new(DEFAULT_CONFIG, "<embedded randman-shallow.toml>", PathBuf::from("."))
    }

    /// Parses and validates TOML text; relative data paths start from the working directory.
    #[staticmethod]
    fn from_toml(text: &str) -> PyResult<Self> {
        Config::new(text, "<string>", PathBuf::from("."))
    }

    /// `base` (default: the embedded default) with its model section replaced by the network a NIR
    /// graph describes (a path or an `nir.NIRGraph`), as `spikeflux nir import` writes it: train it
    /// from `Network.from_nir(...)`'s weights, or from scratch.
    #[staticmethod]
    #[pyo3(signature = (source, base=None, dt=None, discretization=None, last_as_readout=false, step_order=None))]
    fn from_nir(py: Python<'_>, source: &Bound<'_, PyAny>, base: Option<&Config>, dt: Option<f64>, discretization: Option<&str>, last_as_readout: bool, step_order: Option<&str>) -> PyResult<Self> {
        let opts = import_options(dt, discretization, last_as_readout, step_order)?;
        let net = network_from_nir(py, source, &opts)?;
        let (cfg, base_dir) = match base {
            Some(c) => (c.parsed()?, c.base.clone()),
            None => (RunConfig::parse(DEFAULT_CONFIG, "<embedded>").map_err(to_py)?, PathBuf::from(".")),
        };
        let cfg = spikeflux_cli::commands::nir::config_for(cfg, &net.spec).map_err(to_py)?;
        let text = toml::to_string(&cfg).map_err(|e| SpikefluxError::new_err(e.to_string()))?;
        Config::new(&text, "<nir import>", base_dir)
    }

    fn __getitem__(&self, py: Python<'_>, key: &str) -> PyResult<Py<PyAny>> {
        let mut v: Option<&toml::Value> = None;
        let mut table = Some(&self.table);
        for p in parse_key(key)? {
            let next = match (&p, table, v) {
                (Part::Key(k), Some(t), _) => t.get(k),
                (Part::Key(k), None, Some(toml::Value::Table(t))) => t.get(k),
                (Part::Index(i), None, Some(toml::Value::Array(a))) => a.get(*i),
                _ => None,
            };
            let Some(n) = next else {
                return Err(PyKeyError::new_err(format!("the config has no `{key}` (unset fields take their defaults; the README lists them)")));
            };
            v = Some(n);
            table = None;
        }
        match v {
            Some(v) => from_toml(py, v),
            None => Err(PyKeyError::new_err(key.to_string())),
        }
    }

    fn __setitem__(&mut self, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut root = toml::Value::Table(self.table.clone());
        set_path(&mut root, &parse_key(key)?, to_toml(value)?, key)?;
        let toml::Value::Table(table) = root else { return Err(PyKeyError::new_err(key.to_string())) };
        let candidate = Config { table, base: self.base.clone(), origin: self.origin.clone() };
        candidate.parsed()?;
        *self = candidate;
        Ok(())
    }

    fn __contains__(&self, py: Python<'_>, key: &str) -> bool {
        self.__getitem__(py, key).is_ok()
    }

    /// Sets several fields at once from a dict of dotted keys (validated together).
    fn update(&mut self, values: &Bound<'_, PyDict>) -> PyResult<()> {
        let mut root = toml::Value::Table(self.table.clone());
        for (k, v) in values.iter() {
            let key: String = k.extract()?;
            set_path(&mut root, &parse_key(&key)?, to_toml(&v)?, &key)?;
        }
        let toml::Value::Table(table) = root else { return Err(PyKeyError::new_err("update")) };
        let candidate = Config { table, base: self.base.clone(), origin: self.origin.clone() };
        candidate.parsed()?;
        *self = candidate;
        Ok(())
    }

    /// Validates again (the memory check reads the memory available now).
    fn validate(&self) -> PyResult<()> {
        self.parsed().map(|_| ())
    }

    /// The config as TOML text (what `spikeflux train --config` reads).
    fn to_toml(&self) -> String {
        self.text()
    }

    /// The config as nested dicts and lists.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        from_toml(py, &toml::Value::Table(self.table.clone()))
    }

    /// Writes the config as a TOML file (data paths made absolute, so it runs from anywhere).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        let text = toml::to_string(&self.absolute()).map_err(|e| SpikefluxError::new_err(e.to_string()))?;
        spikeflux_core::data::files::write_atomic(&path, text.as_bytes()).map_err(core_err)
    }

    /// The data this config trains on, loaded or generated exactly as `spikeflux train` does
    /// (same seed, same splits): `{"train": {...}, "valid": {...} or None, "test": {...}}`, each
    /// with `inputs` (uint8 `[B, T, n_in]`, 1 = a spike), `labels` (int64 `[B]`) and `dt` (s).
    /// The dense arrays take B·T·n_in bytes each (SHD's training set: 2 GB).
    fn load_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let cfg = self.parsed()?;
        let base = self.base.clone();
        let splits = py.detach(|| cfg.load_data(&base)).map_err(to_py)?;
        let d = PyDict::new(py);
        d.set_item("train", dense(py, &splits.train)?)?;
        match &splits.valid {
            Some(v) => d.set_item("valid", dense(py, v)?)?,
            None => d.set_item("valid", py.None())?,
        }
        d.set_item("test", dense(py, &splits.test)?)?;
        Ok(d)
    }

    /// The initialization report (`spikeflux init-report`): the network initialized as `spikeflux
    /// train` does, run on the first `samples` training samples; per hidden layer the membrane
    /// statistics the FD theory predicts (with the assumed and the measured presynaptic rates)
    /// against those measured (free membrane without threshold, and with reset), the firing rate and
    /// the silent fraction; per connection the weight moments drawn. Returns the dict that
    /// `init_report.json` holds, each layer with `free_sample` (float32, up to 100 000 free-membrane
    /// values, for a histogram).
    #[pyo3(signature = (samples=256))]
    fn init_report<'py>(&self, py: Python<'py>, samples: usize) -> PyResult<Bound<'py, PyAny>> {
        let cfg = self.parsed()?;
        let base = self.base.clone();
        let r = py.detach(|| spikeflux_cli::commands::init_report::report(&cfg, &base, samples)).map_err(to_py)?;
        let d = json_to_py(py, &r.summary)?;
        let layers = d.get_item("layers")?;
        for (i, l) in r.layers.iter().enumerate() {
            layers.get_item(i)?.set_item("free_sample", PyArray1::from_slice(py, &l.free_sample))?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let name = self.table.get("name").and_then(|v| v.as_str()).unwrap_or("run");
        format!("Config(name={name:?}, origin={:?})", self.origin)
    }
}

fn set_path(v: &mut toml::Value, parts: &[Part], new: toml::Value, key: &str) -> PyResult<()> {
    match parts {
        [] => {
            *v = new;
            Ok(())
        }
        [Part::Key(k), rest @ ..] => match v {
            toml::Value::Table(t) => {
                let child = t.entry(k.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                set_path(child, rest, new, key)
            }
            _ => Err(PyKeyError::new_err(format!("`{key}`: `{k}` is inside a value that is not a table"))),
        },
        [Part::Index(i), rest @ ..] => match v {
            toml::Value::Array(a) => {
                let n = a.len();
                let child = a.get_mut(*i).ok_or_else(|| PyKeyError::new_err(format!("`{key}`: index {i}, but the array has {n} entries")))?;
                set_path(child, rest, new, key)
            }
            _ => Err(PyKeyError::new_err(format!("`{key}`: index {i} of a value that is not an array"))),
        },
    }
}

/// A unique file name for the config a training run reads.
fn temp_config_path() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!("spikeflux-py-{}-{}.toml", std::process::id(), N.fetch_add(1, Ordering::SeqCst)))
}

/// Trains as `spikeflux train --config` does, into `out`; returns the log records (JSON text,
/// decoded by the Python side) and the weights file. `callback(record_json)` is called after every
/// epoch and with the final record. Raises KeyboardInterrupt (checkpoint written) on Ctrl-C.
/// `progress`: the terminal progress bar (when stderr is a terminal).
#[pyfunction]
#[pyo3(signature = (config, out=None, epochs=None, seed=None, threads=None, batch_size=None, resume=false, plots=None, callback=None, progress=true))]
#[allow(clippy::too_many_arguments)]
fn train_run(
    py: Python<'_>,
    config: &Config,
    out: Option<PathBuf>,
    epochs: Option<usize>,
    seed: Option<u64>,
    threads: Option<usize>,
    batch_size: Option<usize>,
    resume: bool,
    plots: Option<PathBuf>,
    callback: Option<Py<PyAny>>,
    progress: bool,
) -> PyResult<(Vec<String>, PathBuf)> {
    let cfg = config.parsed()?;
    let seed_used = seed.unwrap_or(cfg.train.seed);
    let out = out.unwrap_or_else(|| PathBuf::from(format!("runs/{}-seed{seed_used}", cfg.name)));
    let path = temp_config_path();
    config.save(path.clone())?;
    let args = TrainArgs {
        config: Some(path.clone()),
        ov: Overrides { epochs, seed, threads, batch_size },
        log: None,
        out: Some(out.clone()),
        resume,
        dry_run: false,
        plots,
        init_weights: None,
    };
    let mut records = Vec::new();
    let mut callback_error: Option<PyErr> = None;
    let interrupted = std::sync::atomic::AtomicBool::new(false);
    let callback_failed = std::sync::atomic::AtomicBool::new(false);
    let result = py.detach(|| {
        // Python's SIGINT handler runs when asked; asking needs the GIL for a moment per batch.
        // A callback that raised stops the run the same way (checkpoint first), then re-raises.
        let stop = || {
            if !interrupted.load(Ordering::SeqCst) && Python::attach(|py| py.check_signals().is_err()) {
                interrupted.store(true, Ordering::SeqCst);
            }
            interrupted.load(Ordering::SeqCst) || callback_failed.load(Ordering::SeqCst)
        };
        let mut on_record = |r: &serde_json::Value| {
            let text = r.to_string();
            if let (Some(cb), None) = (&callback, &callback_error) {
                if let Err(e) = Python::attach(|py| cb.call1(py, (text.clone(),)).map(|_| ())) {
                    callback_error = Some(e);
                    callback_failed.store(true, Ordering::SeqCst);
                }
            }
            records.push(text);
        };
        spikeflux_cli::commands::train::run_with(args, Hooks { install_interrupt: false, progress, stop: &stop, on_record: &mut on_record })
    });
    let _ = std::fs::remove_file(&path);
    if let Some(e) = callback_error {
        return Err(e);
    }
    match result.map_err(to_py)? {
        Outcome::Finished { out } => Ok((records, out.join("weights.safetensors"))),
        Outcome::Interrupted { out, at } => Err(PyKeyboardInterrupt::new_err(format!(
            "stopped after {at}; the checkpoint is in {}: spikeflux.train(config, out={:?}, resume=True) continues it exactly",
            out.display(),
            out.display().to_string()
        ))),
    }
}

/// A network: its config, shape and weights. Built from a config (initialized as training
/// initializes it) or loaded from a weights file.
#[pyclass(module = "spikeflux")]
struct Network {
    net: spikeflux_core::network::Network,
    /// What `loss_and_grad` minimizes: the config's loss and regularizers.
    objective: spikeflux_core::train::loss::Objective,
    /// The workspaces of `run`, `forward_tape` and its tapes' backward passes, kept between calls
    /// (a training loop then allocates no fresh buffers per batch).
    pool: Pool,
    /// The rates `init.nu = "data"` measured (input, then each hidden layer), if it did.
    init_rates: Option<Vec<f64>>,
}

type Pool = std::sync::Arc<std::sync::Mutex<Option<SlicePool>>>;

/// Runs `f` with `pool`'s slice pool, made anew when it does not fit `net` and `t` steps (call it
/// with the GIL released: it may wait for another thread's pass).
fn with_pool<R>(pool: &Pool, net: &spikeflux_core::network::Network, t: usize, b: usize, f: impl FnOnce(&mut SlicePool) -> R) -> R {
    let mut guard = pool.lock().unwrap_or_else(|e| e.into_inner());
    if !guard.as_ref().is_some_and(|p| p.fits(net, t)) {
        *guard = None;
    }
    f(guard.get_or_insert_with(|| SlicePool::new(net, t, b)))
}

fn network_for(cfg: &RunConfig, n_out_hint: Option<usize>) -> PyResult<spikeflux_core::network::NetworkSpec> {
    let (n_in, n_out) = cfg.sizes();
    let n_in = n_in.ok_or_else(|| ConfigError::new_err("the config's data section does not fix the number of inputs"))?;
    let n_out = n_out.or(n_out_hint).ok_or_else(|| ConfigError::new_err("data.hdf5.n_classes: the config does not fix the number of classes; set it"))?;
    cfg.checked_network_spec(n_in, n_out, spikeflux_cli::commands::memory_limit(cfg)).map_err(to_py)
}

/// A NIR graph given as a path (str or os.PathLike) or as an `nir.NIRGraph` (written to memory
/// with `nir.write`).
enum NirSource {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

fn nir_source(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<NirSource> {
    if let Ok(path) = source.extract::<PathBuf>() {
        return Ok(NirSource::Path(path));
    }
    let nir = py.import("nir").map_err(|_| PyTypeError::new_err("give a path to a .nir file, or an nir.NIRGraph (pip install nir)"))?;
    if !source.is_instance(&nir.getattr("NIRNode")?)? {
        return Err(PyTypeError::new_err(format!("give a path to a .nir file or an nir.NIRGraph, not {}", source.get_type().name()?)));
    }
    let buf = py.import("io")?.getattr("BytesIO")?.call0()?;
    nir.getattr("write")?.call1((&buf, source))?;
    Ok(NirSource::Bytes(buf.call_method0("getvalue")?.extract()?))
}

fn import_options(dt: Option<f64>, discretization: Option<&str>, last_as_readout: bool, step_order: Option<&str>) -> PyResult<spikeflux_core::nir::ImportOptions> {
    use spikeflux_core::neuron::StepOrder;
    let discretization = discretization
        .map(|d| spikeflux_core::nir::Discretization::parse(d).ok_or_else(|| PyValueError::new_err(format!("discretization must be \"exact\" or \"euler\", not {d:?}"))))
        .transpose()?;
    let step_order = step_order
        .map(|s| StepOrder::parse(s).ok_or_else(|| PyValueError::new_err(format!("step_order must be \"reference\", \"nir\" or \"snntorch\", not {s:?}"))))
        .transpose()?;
    Ok(spikeflux_core::nir::ImportOptions { dt, discretization, last_as_readout, step_order })
}

fn network_from_nir(py: Python<'_>, source: &Bound<'_, PyAny>, opts: &spikeflux_core::nir::ImportOptions) -> PyResult<spikeflux_core::network::Network> {
    // a path goes through the core's reader (its size limit), an nir.NIRGraph through memory
    let g = match nir_source(py, source)? {
        NirSource::Path(p) => spikeflux_core::nir::read(&p),
        NirSource::Bytes(b) => spikeflux_core::nir::read_bytes(&b, Path::new("<nir.NIRGraph>")),
    }
    .map_err(core_err)?;
    spikeflux_core::nir::from_graph(&g, opts).map_err(core_err)
}

#[pymethods]
impl Network {
    /// The network of `config`, initialized as `spikeflux train` initializes it with `seed`
    /// (default: the config's): the same weights. With `init.nu = "data"` the presynaptic rates are
    /// measured on the config's training data (loaded here) as training measures them; the rates are
    /// then in `init_rates_hz` (input, then each hidden layer).
    #[staticmethod]
    #[pyo3(signature = (config, seed=None))]
    fn from_config(py: Python<'_>, config: &Config, seed: Option<u64>) -> PyResult<Self> {
        let cfg = config.parsed()?;
        let seed = seed.unwrap_or(cfg.train.seed);
        let (net, rates) = if cfg.nu_from_data() {
            let base = config.base.clone();
            let (net, _, rates) = py
                .detach(|| -> anyhow::Result<_> {
                    let data = cfg.load_data(&base)?;
                    let spec = cfg.checked_network_spec(data.train.n_in, data.train.n_classes, spikeflux_cli::commands::memory_limit(&cfg))?;
                    spikeflux_cli::commands::initialized_network(&cfg, spec, &data.train, seed, std::sync::Arc::new(spikeflux_core::train::Solo))
                })
                .map_err(to_py)?;
            (net, rates)
        } else {
            let spec = network_for(&cfg, None)?;
            let init = cfg.init_spec().map_err(to_py)?;
            (spikeflux_core::network::Network::initialized(spec, &init, seed).map_err(core_err)?.0, None)
        };
        Ok(Network { net, objective: cfg.objective(), pool: Pool::default(), init_rates: rates })
    }

    /// The network of `config` with the weights of a safetensors file (as `spikeflux eval`).
    #[staticmethod]
    fn load(config: &Config, path: PathBuf) -> PyResult<Self> {
        let cfg = config.parsed()?;
        let bytes = std::fs::read(&path).map_err(|e| core_err(Error::io(&path, e)))?;
        let hint = readout_rows(&bytes);
        let mut net = spikeflux_core::network::Network::zeros(network_for(&cfg, hint)?).map_err(core_err)?;
        checkpoint::load_bytes(&mut net, &bytes, &path).map_err(core_err)?;
        Ok(Network { net, objective: cfg.objective(), pool: Pool::default(), init_rates: None })
    }

    /// The weights as `{name: array}` in PyTorch's layout (README, "Weights file"): float32
    /// arrays of shape `[out, in]` (dense) or `[filters, in_channels, kernel]` (convolution).
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        torch_dict(py, &self.net, &self.net.params)
    }

    /// Replaces weights from `{name: array}` (PyTorch layout, any float dtype); every name and
    /// shape is checked, and NaN or infinite values refused. Names not given keep their values.
    fn set_weights(&mut self, py: Python<'_>, weights: &Bound<'_, PyDict>) -> PyResult<()> {
        let infos = self.net.tensors();
        let mut params = self.net.params.clone();
        for (k, v) in weights.iter() {
            let name: String = k.extract()?;
            let info = infos.iter().find(|i| i.name == name).ok_or_else(|| {
                let names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
                PyKeyError::new_err(format!("this network has no tensor `{name}`; it has {}", names.join(", ")))
            })?;
            read_torch_tensor(py, info, &v, &mut params)?;
        }
        if params.iter().any(|x| !x.is_finite()) {
            return Err(SpikefluxError::new_err("the weights contain NaN or infinite values: give finite numbers"));
        }
        self.net.params = params;
        Ok(())
    }

    /// Restores the constraints of Dale layers after an update of your own, as training does after
    /// every optimizer step: structurally absent connections back to 0, every other Dale weight
    /// clamped at ≥ 0. Other layers are untouched.
    fn constrain(&mut self) {
        self.net.constrain();
    }

    /// Saves the weights as a safetensors file (`spikeflux eval` reads it with the same config).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        checkpoint::save(&self.net, &path, Default::default()).map_err(core_err)
    }

    /// The network as a NIR graph (docs/nir.md): written to `path` if given, else returned as an
    /// `nir.NIRGraph` (needs `pip install nir`). `discretization`: "exact" (β = exp(−dt/τ); the
    /// default) or "euler" (β = 1 − reader_dt/τ, as snnTorch and Norse read NIR; `reader_dt`
    /// defaults to the network's dt, snnTorch assumes 1e-4). Raises `NirError` naming the layer
    /// where NIR cannot express the network (max pooling, adaptation).
    #[pyo3(signature = (path=None, discretization="exact", reader_dt=None))]
    fn to_nir(&self, py: Python<'_>, path: Option<PathBuf>, discretization: &str, reader_dt: Option<f64>) -> PyResult<Py<PyAny>> {
        let d = spikeflux_core::nir::Discretization::parse(discretization)
            .ok_or_else(|| PyValueError::new_err(format!("discretization must be \"exact\" or \"euler\", not {discretization:?}")))?;
        let g = spikeflux_core::nir::to_graph(&self.net, &spikeflux_core::nir::ExportOptions { discretization: d, reader_dt }).map_err(core_err)?;
        if let Some(p) = path {
            spikeflux_core::nir::write(&g, &p).map_err(core_err)?;
            return Ok(py.None());
        }
        let nir = py.import("nir").map_err(|_| pyo3::exceptions::PyImportError::new_err("to_nir() without a path returns an nir.NIRGraph: pip install nir (or give a path)"))?;
        let bytes = spikeflux_core::nir::to_bytes(&g, Path::new("<memory>")).map_err(core_err)?;
        let buf = py.import("io")?.getattr("BytesIO")?.call1((pyo3::types::PyBytes::new(py, &bytes),))?;
        Ok(nir.getattr("read")?.call1((buf,))?.unbind())
    }

    /// The network a NIR graph describes (a path or an `nir.NIRGraph`; docs/nir.md). `config`
    /// supplies the loss and regularizers (default: the embedded default's); `dt`,
    /// `discretization`, `last_as_readout` and `step_order` (`"reference"`, `"nir"`, `"snntorch"`;
    /// default: the graph's metadata, else `"reference"`) as `spikeflux nir import`. A graph spikeflux exported
    /// comes back bit for bit. Raises `NirError` naming the node spikeflux cannot express.
    #[staticmethod]
    #[pyo3(signature = (source, config=None, dt=None, discretization=None, last_as_readout=false, step_order=None))]
    fn from_nir(py: Python<'_>, source: &Bound<'_, PyAny>, config: Option<&Config>, dt: Option<f64>, discretization: Option<&str>, last_as_readout: bool, step_order: Option<&str>) -> PyResult<Self> {
        let opts = import_options(dt, discretization, last_as_readout, step_order)?;
        let net = network_from_nir(py, source, &opts)?;
        let objective = match config {
            Some(c) => c.parsed()?.objective(),
            None => RunConfig::parse(DEFAULT_CONFIG, "<embedded>").map_err(to_py)?.objective(),
        };
        Ok(Network { net, objective, pool: Pool::default(), init_rates: None })
    }

    /// Runs a batch of spike trains `inputs[B, T, n_in]` (0/1; bool, uint8 or float; or a list of
    /// per-sample `(times, units)` event arrays, times in s, binned onto `n_steps` steps; with
    /// `counts=True` the values are event counts, whole numbers 0 to 255, and events that repeat
    /// in a step each count, as an event camera's frames are fed) and returns
    /// the readout's membrane traces `[B, T, n_out]` (float32), what the loss reads. With
    /// `record=True` returns a dict: `readout` (that array), and per hidden layer `spikes[l]` and
    /// `membranes[l]` `[B, T, n_l]` (the membrane U_t with the step's reset applied, as the spec's
    /// step order defines it) and `counts[l]` `[B, n_l]` (spikes per sample and neuron).
    #[pyo3(signature = (inputs, record=false, n_steps=None, counts=false))]
    fn run<'py>(&self, py: Python<'py>, inputs: &Bound<'py, PyAny>, record: bool, n_steps: Option<usize>, counts: bool) -> PyResult<Bound<'py, PyAny>> {
        let ds = spike_inputs(py, &self.net, inputs, None, n_steps, counts)?;
        let (b, t, n_out) = (ds.len(), ds.t_steps, self.net.spec.n_out);
        check_tape_memory(&self.net, t, b, record)?;
        let sizes: Vec<usize> = self.net.plan.geoms.iter().map(|g| g.n()).collect();
        let (net, pool) = (&self.net, &self.pool);
        let (readout, spikes, membranes, counts) = py
            .detach(|| {
                with_pool(pool, net, t, b, |pool| {
                    let tape = Tape::forward(net, &EngineOptions::default(), ds, record, pool)?;
                    let layers = 0..if record { sizes.len() } else { 0 };
                    let spikes: Vec<Vec<f32>> = layers.clone().map(|l| tape.spikes(l).to_vec()).collect();
                    let membranes: Vec<Vec<f32>> = layers.clone().map(|l| tape.membranes(l).to_vec()).collect();
                    let counts: Vec<Vec<f32>> = layers.map(|l| tape.counts(l).to_vec()).collect();
                    Ok::<_, Error>((tape.readout().to_vec(), spikes, membranes, counts))
                })
            })
            .map_err(core_err)?;
        let readout = PyArray1::from_vec(py, readout).reshape([b, t, n_out])?;
        if !record {
            return Ok(readout.into_any());
        }
        let d = PyDict::new(py);
        d.set_item("readout", readout)?;
        let arrays = |v: Vec<Vec<f32>>| -> PyResult<Vec<Bound<'py, numpy::PyArray3<f32>>>> {
            v.into_iter().zip(&sizes).map(|(a, &m)| PyArray1::from_vec(py, a).reshape([b, t, m])).collect()
        };
        d.set_item("spikes", arrays(spikes)?)?;
        d.set_item("membranes", arrays(membranes)?)?;
        let counts: Vec<Bound<'py, numpy::PyArray2<f32>>> =
            counts.into_iter().zip(&sizes).map(|(a, &m)| PyArray1::from_vec(py, a).reshape([b, m])).collect::<PyResult<_>>()?;
        d.set_item("counts", counts)?;
        Ok(d.into_any())
    }

    /// Runs a batch forward and keeps its state for a backward pass from a loss of your own (what
    /// `spikeflux.torch` builds on): `inputs[B, T, n_in]` of 0/1 (or counts, as in `run`), and optionally `weights`, a list
    /// of arrays in `tensor_names` order (PyTorch layout) to run with instead of the network's
    /// own. Returns a :class:`Tape`.
    #[pyo3(signature = (inputs, weights=None, n_steps=None, counts=false))]
    fn forward_tape(&self, py: Python<'_>, inputs: &Bound<'_, PyAny>, weights: Option<&Bound<'_, PyList>>, n_steps: Option<usize>, counts: bool) -> PyResult<PyTape> {
        let mut net = self.net.clone();
        if let Some(ws) = weights {
            let infos = net.tensors();
            if ws.len() != infos.len() {
                return Err(ShapeError::new_err(format!("{} weight arrays for the network's {} tensors ({})", ws.len(), infos.len(), self.tensor_names().join(", "))));
            }
            for (info, w) in infos.iter().zip(ws.iter()) {
                read_torch_tensor(py, info, &w, &mut net.params)?;
            }
        }
        let ds = spike_inputs(py, &net, inputs, None, n_steps, counts)?;
        let (t, b) = (ds.t_steps, ds.len());
        check_tape_memory(&net, t, b, false)?;
        let pool = &self.pool;
        let tape = py.detach(|| with_pool(pool, &net, t, b, |pool| Tape::forward(&net, &EngineOptions::default(), ds, false, pool))).map_err(core_err)?;
        let mut tape = tape;
        let (readout, counts) = tape.take_outputs();
        let readout = PyArray1::from_vec(py, readout).reshape([b, t, net.spec.n_out])?.unbind();
        let counts = counts
            .into_iter()
            .zip(&net.plan.geoms)
            .map(|(c, g)| Ok(PyArray1::from_vec(py, c).reshape([b, g.n()])?.unbind()))
            .collect::<PyResult<_>>()?;
        Ok(PyTape { tape, readout, counts, net, pool: self.pool.clone() })
    }

    /// The training loss of a batch (`inputs[B, T, n_in]` of 0/1 or counts as in `run`, integer `labels[B]`) and its
    /// gradient, as one training step computes them (the config's loss and regularizers, batch
    /// mean, surrogate gradient through the spikes): returns `(loss, {name: grad})` with the
    /// gradients in the weights' PyTorch layout, for users' own optimizers.
    #[pyo3(signature = (inputs, labels, n_steps=None, counts=false))]
    fn loss_and_grad<'py>(&self, py: Python<'py>, inputs: &Bound<'py, PyAny>, labels: Vec<i64>, n_steps: Option<usize>, counts: bool) -> PyResult<(f64, Bound<'py, PyDict>)> {
        let n_out = self.net.spec.n_out;
        if let Some(l) = labels.iter().find(|&&l| l < 0 || l as usize >= n_out) {
            return Err(bad_label(*l, n_out));
        }
        let ds = spike_inputs(py, &self.net, inputs, Some(labels.iter().map(|&l| l as usize).collect()), n_steps, counts)?;
        let (b, t) = (ds.len(), ds.t_steps);
        if b == 0 {
            return Err(ShapeError::new_err("an empty batch"));
        }
        check_tape_memory(&self.net, t, b, false)?;
        let (net, objective, pool) = (&self.net, &self.objective, &self.pool);
        let (loss, grad) = py.detach(|| {
            with_pool(pool, net, t, b, |pool| {
                let mut grad = vec![0f32; net.params.len()];
                let idx: Vec<usize> = (0..b).collect();
                // a one-process pool: the exchange cannot fail
                let stats = spikeflux_core::train::run_batch(net, &EngineOptions::default(), objective, pool, &ds, &idx, Some(&mut grad)).unwrap_or_default();
                (stats.ce_sum / b as f64 + stats.reg_loss, grad)
            })
        });
        Ok((loss, torch_dict(py, &self.net, &grad)?))
    }

    /// The presynaptic rates (Hz; input, then each hidden layer) that `init.nu = "data"` measured
    /// when this network was initialized, or None.
    #[getter]
    fn init_rates_hz(&self) -> Option<Vec<f64>> {
        self.init_rates.clone()
    }

    /// Input channels.
    #[getter]
    fn n_in(&self) -> usize {
        self.net.spec.input.n()
    }

    /// Classes (readout units).
    #[getter]
    fn n_out(&self) -> usize {
        self.net.spec.n_out
    }

    /// Time step (s).
    #[getter]
    fn dt(&self) -> f64 {
        self.net.spec.dt
    }

    /// The tensor names, in file order.
    #[getter]
    fn tensor_names(&self) -> Vec<String> {
        self.net.tensors().into_iter().map(|t| t.name).collect()
    }

    fn __repr__(&self) -> String {
        let hidden: Vec<String> = self.net.plan.geoms.iter().map(|g| g.n().to_string()).collect();
        format!("Network({} -> [{}] -> {}, dt = {} s)", self.n_in(), hidden.join(", "), self.n_out(), self.dt())
    }
}

/// A batch after [`Network::forward_tape`]: its readout and spike counts, and the backward pass
/// from the gradient of a loss of your own.
#[pyclass(name = "Tape", module = "spikeflux")]
struct PyTape {
    tape: Tape,
    /// The readout `[B, T, n_out]` and counts `[B, n_l]`, moved out of the tape into NumPy.
    readout: Py<numpy::PyArray3<f32>>,
    counts: Vec<Py<numpy::PyArray2<f32>>>,
    /// The network (weights) that ran the forward pass.
    net: spikeflux_core::network::Network,
    /// The network's workspace pool.
    pool: Pool,
}

#[pymethods]
impl PyTape {
    /// The readout membrane `[B, T, n_out]` (float32; the tape's own array, not a copy).
    fn readout<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray3<f32>> {
        self.readout.bind(py).clone()
    }

    /// Spike counts per sample and neuron of every hidden layer, `[[B, n_l], ...]` (float32).
    fn counts<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, numpy::PyArray2<f32>>> {
        self.counts.iter().map(|c| c.bind(py).clone()).collect()
    }

    /// The weight gradients of a loss L from `grad_readout` = ∂L/∂readout `[B, T, n_out]` and,
    /// optionally, `grad_counts[l]` = ∂L/∂counts[l] `[B, n_l]` (None where L does not read a
    /// layer's counts), by the surrogate-gradient backward pass: a list in `tensor_names` order
    /// (PyTorch layout, float32). Can be called again with other gradients.
    #[pyo3(signature = (grad_readout, grad_counts=None))]
    fn backward<'py>(&self, py: Python<'py>, grad_readout: &Bound<'py, PyAny>, grad_counts: Option<Vec<Option<Bound<'py, PyAny>>>>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let np = py.import("numpy")?;
        // float32 views of the gradients (a copy only where the dtype or layout differs)
        let as_f32 = |a: &Bound<'py, PyAny>| -> PyResult<numpy::PyReadonlyArray1<'py, f32>> {
            Ok(np.call_method1("ascontiguousarray", (a, "float32"))?.call_method0("ravel")?.extract()?)
        };
        let gv = as_f32(grad_readout)?;
        let gc: Vec<Option<numpy::PyReadonlyArray1<'py, f32>>> =
            grad_counts.unwrap_or_default().iter().map(|g| g.as_ref().map(as_f32).transpose()).collect::<PyResult<_>>()?;
        let gv_s: &[f32] = gv.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
        let refs: Vec<Option<&[f32]>> = gc.iter().map(|g| g.as_ref().map(|a| a.as_slice()).transpose()).collect::<Result<_, _>>().map_err(|e| PyValueError::new_err(e.to_string()))?;
        let (tape, net, pool) = (&self.tape, &self.net, &self.pool);
        let grad = py.detach(|| with_pool(pool, net, tape.steps(), tape.batch(), |pool| tape.backward(net, gv_s, &refs, pool)));
        let grad = grad.map_err(core_err)?;
        net.tensors()
            .iter()
            .map(|info| Ok(PyArray1::from_vec(py, info.to_torch(&grad)).reshape(info.torch_shape.clone())?.into_any()))
            .collect()
    }

    /// Samples in the batch.
    #[getter]
    fn batch(&self) -> usize {
        self.tape.batch()
    }

    /// Steps per sample.
    #[getter]
    fn steps(&self) -> usize {
        self.tape.steps()
    }
}

/// `{name: array}` of the flat parameters (or gradients) `flat` of `net`, in PyTorch's layout.
fn torch_dict<'py>(py: Python<'py>, net: &spikeflux_core::network::Network, flat: &[f32]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for info in net.tensors() {
        d.set_item(&info.name, PyArray1::from_vec(py, info.to_torch(flat)).reshape(info.torch_shape.clone())?)?;
    }
    Ok(d)
}

/// Reads one tensor in PyTorch's layout (any float dtype, shape checked) into the flat `params`.
fn read_torch_tensor(py: Python<'_>, info: &spikeflux_core::network::TensorInfo, v: &Bound<'_, PyAny>, params: &mut [f32]) -> PyResult<()> {
    let a = py.import("numpy")?.call_method1("ascontiguousarray", (v, "float32"))?;
    let shape: Vec<usize> = a.getattr("shape")?.extract()?;
    if shape != info.torch_shape {
        return Err(ShapeError::new_err(format!("`{}` has shape {shape:?}, the network's is {:?}", info.name, info.torch_shape)));
    }
    let a: numpy::PyReadonlyArray1<'_, f32> = a.call_method0("ravel")?.extract()?;
    let x = a.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
    info.from_torch(|k| x[k], params);
    Ok(())
}

/// Refuses a batch whose outputs and workspaces would not fit in memory (checked before allocating).
fn check_tape_memory(net: &spikeflux_core::network::Network, t: usize, b: usize, record: bool) -> PyResult<()> {
    let neurons: usize = net.spec.n_out + if record { net.plan.geoms.iter().map(|g| 2 * g.n()).sum::<usize>() } else { 0 };
    let outputs = 4.0 * b as f64 * t as f64 * neurons as f64;
    let need = spikeflux_core::train::estimate_bytes(net, t, b, rayon::current_num_threads()) as f64 + outputs;
    // (small batches need no look at /proc/meminfo, which costs a file read per call)
    if need < (256u64 << 20) as f64 {
        return Ok(());
    }
    fits_in_memory(need, &format!("a batch of {b} samples of {t} steps"), "pass smaller batches")
}

/// Refuses `need` bytes of `what` beyond the memory available, saying how to `fix` it.
fn fits_in_memory(need: f64, what: &str, fix: &str) -> PyResult<()> {
    match spikeflux_cli::commands::available_memory() {
        Some(limit) if need > limit => Err(ShapeError::new_err(format!(
            "{what} needs {:.1} GiB, more than the {:.1} GiB available: {fix}",
            need / (1u64 << 30) as f64,
            limit / (1u64 << 30) as f64
        ))),
        _ => Ok(()),
    }
}

/// Starts spikeflux's worker pool with `n` threads (0 = one per core, the default). Results do not
/// depend on it. A process starts its pool once, at the first call that needs it: call this before.
#[pyfunction]
fn set_threads(n: usize) -> PyResult<()> {
    spikeflux_cli::commands::set_threads(n).map_err(to_py)
}

/// The number of threads spikeflux's worker pool runs (starting it with one per core if it has
/// not started).
#[pyfunction]
fn threads() -> usize {
    rayon::current_num_threads()
}

fn check_times(tau_mem: f64, tau_syn: f64, dt: f64) -> PyResult<()> {
    for (name, v) in [("tau_mem", tau_mem), ("tau_syn", tau_syn), ("dt", dt)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(ConfigError::new_err(format!("{name} must be a positive number of seconds, got {v}")));
        }
    }
    let steps = tau_mem.max(tau_syn) / dt;
    if steps > spikeflux_core::network::MAX_TAU_STEPS {
        return Err(ConfigError::new_err(format!(
            "a time constant of {steps:.3e} steps of dt; at most {:.0e} (lower the time constants or raise dt)",
            spikeflux_core::network::MAX_TAU_STEPS
        )));
    }
    Ok(())
}

fn epsilon_mode(mode: &str) -> PyResult<spikeflux_core::init::EpsilonMode> {
    match mode {
        "numerical" => Ok(spikeflux_core::init::EpsilonMode::Numerical),
        "analytical" => Ok(spikeflux_core::init::EpsilonMode::Analytical),
        m => Err(ConfigError::new_err(format!("mode `{m}`: give \"numerical\" (the simulation's discrete kernel) or \"analytical\""))),
    }
}

/// ε̄ = ∫ε dt and ε̂ = ∫ε² dt (both in seconds) of a LIF neuron's PSP kernel (spec §2.2), with
/// `tau_mem`, `tau_syn` and `dt` in seconds; `mode` "numerical" (the discrete kernel of the
/// simulation, the reference default) or "analytical" (ε̄ = τ_s, ε̂ = τ_s²/(2(τ_s + τ_m))).
#[pyfunction]
#[pyo3(signature = (tau_mem, tau_syn, dt, mode="numerical"))]
fn epsilon(tau_mem: f64, tau_syn: f64, dt: f64, mode: &str) -> PyResult<(f64, f64)> {
    check_times(tau_mem, tau_syn, dt)?;
    let e = spikeflux_core::init::theory::epsilon(tau_mem, tau_syn, dt, epsilon_mode(mode)?);
    Ok((e.bar, e.hat))
}

/// The fluctuation-driven weight distributions (spec §2.3) of a LIF group with `fan_in`
/// feed-forward inputs (and `recurrent_fan_in` recurrent ones, sharing the variance by `alpha`)
/// firing at `nu` Hz: target either `sigma_u` (centered, μ_U = 0) or both `mu_u` and `xi`.
/// Returns `{"ff": (mean, std)}` and, for a recurrent group, `"rec"`.
#[pyfunction]
#[pyo3(signature = (fan_in, nu, tau_mem=20e-3, tau_syn=10e-3, dt=1e-3, sigma_u=None, mu_u=None, xi=None, recurrent_fan_in=None, alpha=0.9, mode="numerical"))]
#[allow(clippy::too_many_arguments)]
fn fd_weights<'py>(
    py: Python<'py>,
    fan_in: usize,
    nu: f64,
    tau_mem: f64,
    tau_syn: f64,
    dt: f64,
    sigma_u: Option<f64>,
    mu_u: Option<f64>,
    xi: Option<f64>,
    recurrent_fan_in: Option<usize>,
    alpha: f64,
    mode: &str,
) -> PyResult<Bound<'py, PyDict>> {
    use spikeflux_core::init::theory::{fd_normal_layerwise, Afferent, FdTarget};
    check_times(tau_mem, tau_syn, dt)?;
    let target = match (sigma_u, mu_u, xi) {
        (Some(s), None, None) if s.is_finite() && s > 0.0 => FdTarget::centered(s, nu),
        (None, Some(m), Some(x)) if m.is_finite() && m < 1.0 => FdTarget { mu_u: m, xi: x, nu },
        _ => return Err(ConfigError::new_err("give either sigma_u > 0 (centered form) or both mu_u < 1 and xi")),
    };
    if !(0.0..=1.0).contains(&alpha) {
        return Err(ConfigError::new_err(format!("alpha must be in [0, 1], got {alpha}")));
    }
    let eps = spikeflux_core::init::theory::epsilon(tau_mem, tau_syn, dt, epsilon_mode(mode)?);
    let mut aff = vec![Afferent { fan_in, recurrent: false }];
    aff.extend(recurrent_fan_in.map(|n| Afferent { fan_in: n, recurrent: true }));
    let m = fd_normal_layerwise(target, eps, &aff, alpha).map_err(core_err)?;
    let d = PyDict::new(py);
    d.set_item("ff", (m[0].mean, m[0].std))?;
    if let Some(r) = m.get(1) {
        d.set_item("rec", (r.mean, r.std))?;
    }
    Ok(d)
}

/// Dense spike inputs `[B, T, n_in]` (0/1 of any numeric or bool dtype) as a data set for `net`,
/// with `labels` (or zeros). With `counts`, the values are event counts per step and channel
/// (whole numbers 0 to [`MAX_COUNT`]) and per-sample events that repeat in a step all count.
fn spike_inputs(py: Python<'_>, net: &spikeflux_core::network::Network, inputs: &Bound<'_, PyAny>, labels: Option<Vec<usize>>, n_steps: Option<usize>, counts: bool) -> PyResult<SpikeDataset> {
    let n_in = net.spec.input.n();
    if inputs.is_instance_of::<PyList>() || inputs.is_instance_of::<pyo3::types::PyTuple>() {
        // per-sample events: (times in s, units) pairs, binned onto n_steps steps of the network's dt
        let t = n_steps.ok_or_else(|| ShapeError::new_err("inputs as per-sample (times, units) events need n_steps, the steps to bin them onto"))?;
        let mut samples = Vec::new();
        for (i, item) in inputs.try_iter()?.enumerate() {
            let (times, units): (Vec<f32>, Vec<u32>) = item?.extract().map_err(|_| {
                ShapeError::new_err(format!("input {i}: per-sample events are (times, units) pairs of arrays (seconds, channel numbers)"))
            })?;
            if times.len() != units.len() {
                return Err(ShapeError::new_err(format!("input {i}: {} times for {} units", times.len(), units.len())));
            }
            samples.push(spikeflux_core::data::bin_events(&times, &units, net.spec.dt, t, n_in));
        }
        let b = samples.len();
        let labels = labels.unwrap_or_else(|| vec![0; b]);
        if labels.len() != b {
            return Err(ShapeError::new_err(format!("{} labels for {b} samples", labels.len())));
        }
        return dataset(n_in, net.spec.n_out, t, net.spec.dt, samples, labels, counts);
    }
    let np = py.import("numpy")?;
    let a = np.call_method1("asarray", (inputs,))?;
    let ndim: usize = a.getattr("ndim")?.extract()?;
    if ndim != 3 {
        return Err(ShapeError::new_err(format!("inputs must be [batch, steps, channels], got {ndim} dimensions")));
    }
    let shape: Vec<usize> = a.getattr("shape")?.extract()?;
    let (b, t, n) = (shape[0], shape[1], shape[2]);
    if n != n_in {
        return Err(ShapeError::new_err(format!("inputs have {n} channels, the network {n_in}")));
    }
    // bool and uint8 are read as bytes, everything else as float32 (no copy when already so)
    let kind: String = a.getattr("dtype")?.getattr("kind")?.extract()?;
    let itemsize: usize = a.getattr("dtype")?.getattr("itemsize")?.extract()?;
    let bad = |i: usize, v: f64| {
        let (s, step, u) = (i / (t * n), i / n % t, i % n);
        let what = if counts { format!("event counts, whole numbers 0 to {MAX_COUNT}") } else { "spikes, 0 or 1 (pass counts=True for event counts)".into() };
        PyValueError::new_err(format!("inputs are {what}; sample {s}, step {step}, channel {u} holds {v}"))
    };
    let max = if counts { MAX_COUNT } else { 1 };
    // samples in parallel (the GIL released; the arrays stay borrowed)
    let per = t * n;
    let samples: Vec<Vec<(u32, u32)>> = if kind == "b" || (kind == "u" && itemsize == 1) {
        let a = np.call_method1("ascontiguousarray", (a,))?.call_method1("view", ("uint8",))?;
        let a: numpy::PyReadonlyArray3<'_, u8> = a.extract()?;
        let x = a.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
        let all_zero = |c: &[u8]| c.iter().fold(0u8, |a, &v| a | v) == 0;
        py.detach(|| sample_events(x, b, per, n, all_zero, |&v| v == 0, |&v| (u32::from(v) <= max).then_some(u32::from(v)))).map_err(|i| bad(i, f64::from(x[i])))?
    } else {
        let a = np.call_method1("ascontiguousarray", (a, "float32"))?;
        let a: PyReadonlyArray3<'_, f32> = a.extract()?;
        let x = a.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
        // a chunk is all zeros (±0) when its bits OR to nothing but the sign (vectorizes)
        let all_zero = |c: &[f32]| c.iter().fold(0u32, |a, &v| a | v.to_bits()) & 0x7fff_ffff == 0;
        let whole = |&v: &f32| (v >= 1.0 && v <= max as f32 && v.fract() == 0.0).then_some(v as u32);
        py.detach(|| sample_events(x, b, per, n, all_zero, |&v| v == 0.0, whole)).map_err(|i| bad(i, f64::from(x[i])))?
    };
    let labels = labels.unwrap_or_else(|| vec![0; b]);
    if labels.len() != b {
        return Err(ShapeError::new_err(format!("{} labels for {b} samples", labels.len())));
    }
    dataset(n, net.spec.n_out, t, net.spec.dt, samples, labels, counts)
}

/// The largest event count one input channel may hold in one step (`counts=True`).
const MAX_COUNT: u32 = 255;

/// A data set of spikes, or of event counts where `counts` (repeated events all kept).
fn dataset(n: usize, n_out: usize, t: usize, dt: f64, samples: Vec<Vec<(u32, u32)>>, labels: Vec<usize>, counts: bool) -> PyResult<SpikeDataset> {
    if counts { SpikeDataset::from_count_samples(n, n_out, t, dt, samples, labels) } else { SpikeDataset::from_samples(n, n_out, t, dt, samples, labels) }.map_err(core_err)
}

/// Each sample's events `(step, unit)` of a dense `[B, T, n]` array `x` (`b` samples of `per` =
/// T·n values), samples in parallel, skipping 64 values at a time where `all_zero`; a value that is
/// not `zero` gives `count(v)` copies of its event; `Err(i)` at the first flat index whose
/// `count` is `None`.
fn sample_events<T: Sync>(
    x: &[T],
    b: usize,
    per: usize,
    n: usize,
    all_zero: impl Fn(&[T]) -> bool + Sync,
    zero: impl Fn(&T) -> bool + Sync,
    count: impl Fn(&T) -> Option<u32> + Sync,
) -> Result<Vec<Vec<(u32, u32)>>, usize> {
    use rayon::prelude::*;
    if per == 0 {
        return Ok(vec![Vec::new(); b]);
    }
    let per_sample: Vec<Result<Vec<(u32, u32)>, usize>> = x
        .par_chunks(per)
        .enumerate()
        .map(|(s, sample)| {
            let mut ev = Vec::new();
            for (c, chunk) in sample.chunks(64).enumerate() {
                if all_zero(chunk) {
                    continue;
                }
                for (k, v) in chunk.iter().enumerate() {
                    let i = c * 64 + k;
                    if zero(v) {
                        continue;
                    }
                    let k = count(v).ok_or(s * per + i)?;
                    ev.extend(std::iter::repeat_n(((i / n) as u32, (i % n) as u32), k as usize));
                }
            }
            Ok(ev)
        })
        .collect();
    // the first bad value in sample order, whichever thread found one first
    per_sample.into_iter().collect()
}

fn bad_label(l: i64, n_out: usize) -> PyErr {
    PyValueError::new_err(format!("label {l} is not a class of this network (0 to {})", n_out - 1))
}

/// A data set as dense arrays: `inputs` uint8 `[B, T, n_in]`, `labels` int64 `[B]`, `dt`.
fn dense<'py>(py: Python<'py>, ds: &SpikeDataset) -> PyResult<Bound<'py, PyDict>> {
    let (b, t, n) = (ds.len(), ds.t_steps, ds.n_in);
    let bytes = b.checked_mul(t).and_then(|x| x.checked_mul(n)).ok_or_else(|| ShapeError::new_err("the data set is too large for one dense array"))?;
    fits_in_memory(bytes as f64, &format!("{b} samples of {t} steps and {n} channels as one dense array"), "use fewer samples at a time")?;
    let mut x = vec![0u8; bytes];
    for i in 0..b {
        for (step, unit) in ds.events(i) {
            x[(i * t + step as usize) * n + unit as usize] = 1;
        }
    }
    let d = PyDict::new(py);
    d.set_item("inputs", PyArray1::from_vec(py, x).reshape([b, t, n])?)?;
    d.set_item("labels", PyArray1::from_vec(py, ds.labels.iter().map(|&l| l as i64).collect::<Vec<i64>>()))?;
    d.set_item("dt", ds.dt)?;
    Ok(d)
}

/// Reads a spike file in the SHD layout (our reader, no libhdf5; the same checks and memory
/// bounds as the CLI): `{"times": [float32 arrays, s], "units": [uint32 arrays], "labels": uint32
/// array}` and, where the file has them, `speakers`, `keys` (class names), `speaker_names`,
/// `index` (recording index).
#[pyfunction]
fn read_spikes<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let f = py.detach(|| spikeflux_core::data::shd::ShdFile::read(&path)).map_err(core_err)?;
    let d = PyDict::new(py);
    let times: Vec<Bound<'py, PyArray1<f32>>> = f.times.into_iter().map(|t| PyArray1::from_vec(py, t)).collect();
    let units: Vec<Bound<'py, PyArray1<u32>>> = f.units.into_iter().map(|u| PyArray1::from_vec(py, u)).collect();
    d.set_item("times", times)?;
    d.set_item("units", units)?;
    d.set_item("labels", PyArray1::from_vec(py, f.labels))?;
    if let Some(s) = f.speakers {
        d.set_item("speakers", PyArray1::from_vec(py, s))?;
    }
    if let Some(k) = f.keys {
        d.set_item("keys", k)?;
    }
    if let Some(k) = f.speaker_names {
        d.set_item("speaker_names", k)?;
    }
    if let Some(k) = f.clip_index {
        d.set_item("index", PyArray1::from_vec(py, k))?;
    }
    Ok(d)
}

/// Writes a spike file in the exact SHD layout (float16 times, uint16 units, labels and speakers;
/// atomically): `times[i]` and `units[i]` are sample i's spike times (s) and channels.
#[pyfunction]
#[pyo3(signature = (path, times, units, labels, speakers=None, keys=None))]
fn write_spikes(
    py: Python<'_>,
    path: PathBuf,
    times: Vec<Vec<f32>>,
    units: Vec<Vec<u32>>,
    labels: Vec<u32>,
    speakers: Option<Vec<u32>>,
    keys: Option<Vec<String>>,
) -> PyResult<()> {
    let f = spikeflux_core::data::shd::ShdFile { times, units, labels, speakers, keys, speaker_names: None, clip_index: None };
    py.detach(|| f.write(&path)).map_err(core_err)
}

/// A JSON value as Python objects (through the `json` module).
fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (v.to_string(),))
}

/// The setting of the paper's Fig. 1 (`spikeflux fig1`): `neurons` LIF neurons per ξ ∈ {1, 2, 3},
/// FD-initialized for μ_U = 0 on 5000 Poisson inputs at 3 Hz, simulated for `seconds` (dt = 1 ms)
/// with and without reset. Returns the dict of `fig1.json` (per ξ: σ_w, the theory's and the
/// measured membrane s.d., the fractions above threshold) plus the panels' data: `raster`
/// (float64 `[k, 2]`: time s, input unit), `weights` (float32, the weights drawn for ξ = 2),
/// `trace` (`[k, 2]`: time s, free membrane of one neuron) and `membranes`, per ξ the free and
/// with-reset membrane values (`{"xi", "free", "reset"}`, float32, subsampled).
#[pyfunction]
#[pyo3(signature = (neurons=256, seconds=10.0, seed=2020))]
fn fig1<'py>(py: Python<'py>, neurons: usize, seconds: f64, seed: u64) -> PyResult<Bound<'py, PyAny>> {
    let r = py.detach(|| spikeflux_cli::commands::fig1::simulate(neurons, seconds, seed)).map_err(to_py)?;
    let d = json_to_py(py, &r.summary)?;
    let pairs = |v: &[(f64, f64)]| -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
        PyArray1::from_vec(py, v.iter().flat_map(|&(a, b)| [a, b]).collect::<Vec<f64>>()).reshape([v.len(), 2])
    };
    d.set_item("raster", pairs(&r.figure.raster)?)?;
    d.set_item("weights", PyArray1::from_slice(py, &r.figure.weights.0))?;
    d.set_item("trace", pairs(&r.figure.trace.0)?)?;
    let mems = PyList::empty(py);
    for (xi, free, reset, _, _) in &r.figure.hists {
        let m = PyDict::new(py);
        m.set_item("xi", xi)?;
        m.set_item("free", PyArray1::from_slice(py, free))?;
        m.set_item("reset", PyArray1::from_slice(py, reset))?;
        mems.append(m)?;
    }
    d.set_item("membranes", mems)?;
    Ok(d)
}

/// Bins spike trains onto a grid of `n_steps` steps of `dt` seconds as the data readers do (step =
/// floor(t/dt); spikes at or after `n_steps·dt`, at negative times or on units ≥ `n_in` dropped):
/// `times[i]` (s) and `units[i]` are sample i's spikes. Returns uint8 `[B, n_steps, n_in]`.
#[pyfunction]
fn bin_spikes<'py>(py: Python<'py>, times: Vec<Vec<f32>>, units: Vec<Vec<u32>>, n_in: usize, n_steps: usize, dt: f64) -> PyResult<Bound<'py, PyAny>> {
    if times.len() != units.len() {
        return Err(ShapeError::new_err(format!("{} time arrays for {} unit arrays", times.len(), units.len())));
    }
    if let Some(i) = (0..times.len()).find(|&i| times[i].len() != units[i].len()) {
        return Err(ShapeError::new_err(format!("sample {i}: {} times for {} units", times[i].len(), units[i].len())));
    }
    if !(dt.is_finite() && dt > 0.0) {
        return Err(ConfigError::new_err(format!("dt must be a positive number of seconds, got {dt}")));
    }
    let b = times.len();
    let samples = times.iter().zip(&units).map(|(t, u)| spikeflux_core::data::bin_events(t, u, dt, n_steps, n_in)).collect();
    let ds = SpikeDataset::from_samples(n_in, 1, n_steps, dt, samples, vec![0; b]).map_err(core_err)?;
    dense(py, &ds)?.get_item("inputs")?.ok_or_else(|| SpikefluxError::new_err("internal: no inputs"))
}

/// Turns mono audio into SHD-like spikes through spikeflux's inner-ear model (cochlea.md: basilar
/// membrane, hair cells, auditory-nerve fibres, bushy cells; 700 channels): `samples` float
/// `[n]` at `rate` Hz (at most 600 s). The fibre noise is seeded by `seed` and `index`, as
/// `spikeflux audio2spikes --seed SEED` seeds its `index`-th file (exact basilar-membrane
/// transfer, as it uses for one file), so one file gives the same spikes both ways. Returns
/// `{"times": float32 [k] (s), "units": uint32 [k] (channel, 0 = base), "duration": s}`.
#[pyfunction]
#[pyo3(signature = (samples, rate, seed=0, index=0))]
fn audio_to_spikes<'py>(py: Python<'py>, samples: Vec<f64>, rate: u32, seed: u64, index: u64) -> PyResult<Bound<'py, PyDict>> {
    use spikeflux_cochlea::audio::{Audio, MAX_SECONDS};
    if rate == 0 {
        return Err(ConfigError::new_err("rate must be a positive sample rate in Hz"));
    }
    if samples.len() as u64 > u64::from(MAX_SECONDS) * u64::from(rate) {
        return Err(ShapeError::new_err(format!(
            "{:.0} s of audio; clips are limited to {MAX_SECONDS} s: cut it into parts",
            samples.len() as f64 / f64::from(rate)
        )));
    }
    if let Some(i) = samples.iter().position(|x| !x.is_finite()) {
        return Err(PyValueError::new_err(format!("sample {i} is {}: audio must be finite", samples[i])));
    }
    let duration = samples.len() as f64 / f64::from(rate);
    let a = Audio { samples, rate };
    let out = py.detach(|| -> Result<spikeflux_cochlea::Spikes, spikeflux_cochlea::Error> {
        let clip = spikeflux_cochlea::prepare(&a, &spikeflux_cochlea::Transfer::Exact)?;
        Ok(spikeflux_cochlea::spikes_batch(&[clip], &[spikeflux_cochlea::file_seed(seed, index)]).remove(0))
    });
    let sp = out.map_err(|e| PyValueError::new_err(e.to_string()))?;
    let d = PyDict::new(py);
    d.set_item("times", PyArray1::from_vec(py, sp.times().map(|t| t as f32).collect::<Vec<f32>>()))?;
    d.set_item("units", PyArray1::from_vec(py, sp.units.iter().map(|&u| u32::from(u)).collect::<Vec<u32>>()))?;
    d.set_item("duration", duration)?;
    Ok(d)
}

/// The rows of `readout.weight` in a safetensors file (its class count), if readable.
fn readout_rows(bytes: &[u8]) -> Option<usize> {
    let st = safetensors::SafeTensors::deserialize(bytes).ok()?;
    st.tensor("readout.weight").ok().and_then(|t| t.shape().first().copied())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Config>()?;
    m.add_class::<Network>()?;
    m.add_class::<PyTape>()?;
    m.add_function(wrap_pyfunction!(train_run, m)?)?;
    m.add_function(wrap_pyfunction!(epsilon, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(threads, m)?)?;
    m.add_function(wrap_pyfunction!(fd_weights, m)?)?;
    m.add_function(wrap_pyfunction!(read_spikes, m)?)?;
    m.add_function(wrap_pyfunction!(bin_spikes, m)?)?;
    m.add_function(wrap_pyfunction!(fig1, m)?)?;
    m.add_function(wrap_pyfunction!(audio_to_spikes, m)?)?;
    m.add_function(wrap_pyfunction!(write_spikes, m)?)?;
    let py = m.py();
    m.add("SpikefluxError", py.get_type::<SpikefluxError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("DataFileError", py.get_type::<DataFileError>())?;
    m.add("ShapeError", py.get_type::<ShapeError>())?;
    m.add("NonFiniteError", py.get_type::<NonFiniteError>())?;
    m.add("IOError", py.get_type::<SpikefluxIOError>())?;
    m.add("NirError", py.get_type::<NirError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

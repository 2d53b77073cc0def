"""spikeflux: spiking neural networks trained with surrogate gradients and the
fluctuation-driven initialization (Rossbroich, Gygax & Zenke 2022), on a Rust engine.

The same code as the ``spikeflux`` command line runs underneath: a config and seed give the
same weights here as ``spikeflux train`` does, bit for bit.

    >>> import spikeflux
    >>> cfg = spikeflux.Config.default()          # the paper's shallow Randman experiment
    >>> cfg["train.epochs"] = 3
    >>> history, net = spikeflux.train(cfg, out="runs/demo")
    >>> history[-1]["test_acc"]

Errors are ``SpikefluxError`` subclasses: ``ConfigError`` (``.field``), ``DataFileError``
(``.path``), ``ShapeError``, ``NonFiniteError`` (``.epoch``, ``.batch``, ``.field``) and
``IOError`` (``.path``), ``NirError`` (``.node``).

NIR (docs/nir.md): ``net.to_nir(path)`` / ``net.to_nir()`` (an ``nir.NIRGraph``),
``Network.from_nir(path_or_graph)``, ``Config.from_nir(path_or_graph, base)``.
"""

import json as _json
import sys as _sys

import numpy as _np

from . import _native
from ._native import (
    Config,
    ConfigError,
    DataFileError,
    IOError,
    Network,
    NirError,
    NonFiniteError,
    ShapeError,
    SpikefluxError,
    Tape,
    __version__,
    audio_to_spikes,
    bin_spikes,
    epsilon,
    fd_weights,
    fig1,
    read_spikes,
    set_threads,
    threads,
    write_spikes,
)

__all__ = [
    "Config",
    "ConfigError",
    "DataFileError",
    "IOError",
    "Network",
    "NirError",
    "NonFiniteError",
    "ShapeError",
    "SpikefluxError",
    "Tape",
    "audio_to_spikes",
    "bin_spikes",
    "epsilon",
    "fig1",
    "from_tonic",
    "from_tonic_dataset",
    "randman",
    "fd_weights",
    "read_spikes",
    "set_threads",
    "threads",
    "write_spikes",
    "train",
    "__version__",
]


def _in_notebook():
    """Whether this runs in a Jupyter kernel (whose stderr is no terminal, but shows a bar)."""
    ipython = _sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class _NotebookBar:
    """One line, rewritten after every epoch: epoch k/N, loss, accuracy, time."""

    def __init__(self, total):
        self.total = total

    def __call__(self, record):
        if record.get("final"):
            _sys.stderr.write("\n")
        elif "epoch" in record:
            parts = [f"epoch {record['epoch']}/{self.total}"]
            for key, name in [("train_loss", "loss"), ("train_acc", "acc"), ("valid_acc", "valid acc")]:
                if isinstance(record.get(key), (int, float)):
                    parts.append(f"{name} {record[key]:.4g}")
            width = 30
            done = int(width * record["epoch"] / max(self.total, 1))
            _sys.stderr.write("\r[" + "=" * done + " " * (width - done) + "] " + ", ".join(parts))
        _sys.stderr.flush()


def train(config, out=None, *, epochs=None, seed=None, threads=None, batch_size=None, resume=False, plots=None,
          callback=None, progress=None):
    """Train ``config`` (a :class:`Config`, or a path to a TOML file) as ``spikeflux train`` does.

    Writes the run directory ``out`` (default ``runs/<name>-seed<seed>``): ``log.jsonl``,
    ``summary.md``, ``weights.safetensors`` and the checkpoint. ``epochs``, ``seed``, ``threads``
    (worker threads, 0 = all cores; results do not depend on it) and ``batch_size`` override the
    config. ``resume=True`` continues an interrupted run exactly. ``plots`` is a folder for PNG
    figures. ``callback(record)`` is called with each log record (a dict) as it is written: every
    epoch, then the final summary (``record.get("final")``). If it raises, the run stops there with
    its checkpoint written (``resume=True`` continues it) and the exception propagates.

    ``progress``: a progress bar, in a terminal (on stderr) or a Jupyter notebook (one line per
    epoch); ``None`` (default) shows it only there, ``False`` never. Ctrl-C (or the notebook's stop
    button) stops after the current batch, writes the checkpoint and raises ``KeyboardInterrupt``.

    Returns ``(history, network)``: the log records as dicts (the last is the final summary,
    with ``test_acc``) and the trained :class:`Network`.
    """
    if not isinstance(config, Config):
        config = Config.load(str(config))
    show = progress is not False
    bar = _NotebookBar(epochs if epochs is not None else config["train.epochs"]) if show and _in_notebook() else None

    def cb(text):
        record = _json.loads(text)
        if bar is not None:
            bar(record)
        if callback is not None:
            callback(record)

    records, weights = _native.train_run(
        config,
        out=None if out is None else str(out),
        epochs=epochs,
        seed=seed,
        threads=threads,
        batch_size=batch_size,
        resume=resume,
        plots=None if plots is None else str(plots),
        callback=cb if (bar is not None or callback is not None) else None,
        progress=show,
    )
    history = [_json.loads(r) for r in records]
    return history, Network.load(config, str(weights))


def randman(dt=2e-3, **params):
    """A Randman data set (Zenke & Vogels 2021), generated as a config's ``[data.randman]`` section
    generates it: ``params`` are that section's fields (``n_classes``, ``n_units``, ``n_steps``,
    ``step_frac``, ``offset_frac``, ``dim_manifold``, ``n_spikes``, ``samples_per_class``, ``alpha``,
    ``seed``, ``split``), the rest the paper's notebook-01 values; ``dt`` in seconds. Returns
    ``{"train"|"valid"|"test": {"inputs": uint8 [B, T, n_units], "labels": int64 [B], "dt": float}}``
    (``valid`` None when its fraction is 0). Errors name the field (``data.randman.<field>``)."""
    cfg = Config.default()
    for key, value in params.items():
        if f"data.randman.{key}" not in cfg:
            raise ConfigError(f"randman has no parameter `{key}`; it has {', '.join(cfg['data.randman'])}")
        cfg[f"data.randman.{key}"] = value
    cfg["model.dt"] = dt
    return cfg.load_data()


def _mid_step_times(t, time_unit, dt):
    """Each event's step, floor(t·time_unit/dt), computed exactly (integer division where dt is a
    whole number of tonic's time units, as with microseconds), returned as the step's middle in
    seconds so that binning keeps it: t = 145 000 µs at dt = 1 ms is step 145, which a float
    conversion to seconds can turn into 144.999… and step 144."""
    ratio = dt / time_unit
    whole = round(ratio)
    if _np.issubdtype(t.dtype, _np.integer) and whole >= 1 and abs(ratio - whole) <= 1e-9 * ratio:
        step = _np.floor_divide(t.astype(_np.int64), whole)
    else:
        step = _np.floor(t.astype(_np.float64) * time_unit / dt)
    return ((step + 0.5) * dt).astype(_np.float32)


def from_tonic(events, sensor_size, n_steps, dt, time_unit=1e-6):
    """Bins tonic events onto ``n_steps`` steps of ``dt`` seconds: ``events`` is one sample's
    structured array as tonic gives it (fields ``t`` and ``x``, and ``y`` and ``p`` for cameras;
    times in ``time_unit`` seconds, tonic's microseconds by default), or a list of them;
    ``sensor_size`` tonic's ``(W, H, P)`` (``(700, 1, 1)`` for SHD). Channels are numbered as
    PyTorch flattens a ``[P, H, W]`` frame: ``(p·H + y)·W + x``. Returns uint8 ``[T, W·H·P]`` for
    one sample, ``[B, T, W·H·P]`` for a list (what :meth:`Network.run` and
    :class:`spikeflux.torch.SpikingNetwork` take)."""
    single = not isinstance(events, (list, tuple))
    samples = [events] if single else list(events)
    w, h, p = (tuple(sensor_size) + (1, 1))[:3]
    times, units = [], []
    for i, ev in enumerate(samples):
        names = getattr(getattr(ev, "dtype", None), "names", None) or ()
        if "t" not in names or "x" not in names:
            raise ShapeError(f"sample {i}: tonic events are a structured array with fields t and x (and y, p); got fields {names}")
        x = ev["x"].astype(_np.int64)
        y = ev["y"].astype(_np.int64) if "y" in names else _np.zeros_like(x)
        pol = ev["p"].astype(_np.int64) if ("p" in names and p > 1) else _np.zeros_like(x)
        for name, v, n in (("x", x, w), ("y", y, h), ("p", pol, p)):
            if v.size and (v.min() < 0 or v.max() >= n):
                raise ShapeError(f"sample {i}: {name} ranges over {v.min()}..{v.max()}, outside the sensor size {n}")
        times.append(_mid_step_times(ev["t"], time_unit, dt))
        units.append(((pol * h + y) * w + x).astype(_np.uint32))
    out = bin_spikes(times, units, n_in=w * h * p, n_steps=n_steps, dt=dt)
    return out[0] if single else out


def from_tonic_dataset(dataset, n_steps, dt, limit=None, time_unit=1e-6):
    """A tonic data set (or any sequence of ``(events, label)`` pairs with a ``sensor_size``
    attribute, as tonic's datasets have) binned as :func:`from_tonic` bins one sample: returns
    ``{"inputs": uint8 [B, T, n_in], "labels": int64 [B], "dt": dt}`` for the first ``limit``
    samples (all by default)."""
    sensor_size = getattr(dataset, "sensor_size", None)
    if sensor_size is None:
        raise ShapeError("the data set has no sensor_size (tonic's (W, H, P)); set dataset.sensor_size")
    n = len(dataset) if limit is None else min(limit, len(dataset))
    events, labels = [], []
    for i in range(n):
        ev, label = dataset[i]
        events.append(ev)
        labels.append(int(label))
    return {"inputs": from_tonic(events, sensor_size, n_steps, dt, time_unit), "labels": _np.array(labels, dtype=_np.int64), "dt": dt}

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
``IOError`` (``.path``).
"""

import json as _json

from . import _native
from ._native import (
    Config,
    ConfigError,
    DataFileError,
    IOError,
    Network,
    NonFiniteError,
    ShapeError,
    SpikefluxError,
    __version__,
    epsilon,
    fd_weights,
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
    "NonFiniteError",
    "ShapeError",
    "SpikefluxError",
    "epsilon",
    "fd_weights",
    "read_spikes",
    "set_threads",
    "threads",
    "write_spikes",
    "train",
    "__version__",
]


def train(config, out=None, *, epochs=None, seed=None, threads=None, batch_size=None, resume=False, plots=None, callback=None):
    """Train ``config`` (a :class:`Config`, or a path to a TOML file) as ``spikeflux train`` does.

    Writes the run directory ``out`` (default ``runs/<name>-seed<seed>``): ``log.jsonl``,
    ``summary.md``, ``weights.safetensors`` and the checkpoint. ``epochs``, ``seed``, ``threads``
    (worker threads, 0 = all cores; results do not depend on it) and ``batch_size`` override the
    config. ``resume=True`` continues an interrupted run exactly. ``plots`` is a folder for PNG
    figures. ``callback(record)`` is called with each log record (a dict) as it is written: every
    epoch, then the final summary (``record.get("final")``). If it raises, the run stops there with
    its checkpoint written (``resume=True`` continues it) and the exception propagates.

    The progress bar shows in a terminal. Ctrl-C stops after the current batch, writes the
    checkpoint and raises ``KeyboardInterrupt``.

    Returns ``(history, network)``: the log records as dicts (the last is the final summary,
    with ``test_acc``) and the trained :class:`Network`.
    """
    if not isinstance(config, Config):
        config = Config.load(str(config))
    cb = None if callback is None else (lambda text: callback(_json.loads(text)))
    records, weights = _native.train_run(
        config,
        out=None if out is None else str(out),
        epochs=epochs,
        seed=seed,
        threads=threads,
        batch_size=batch_size,
        resume=resume,
        plots=None if plots is None else str(plots),
        callback=cb,
    )
    history = [_json.loads(r) for r in records]
    return history, Network.load(config, str(weights))

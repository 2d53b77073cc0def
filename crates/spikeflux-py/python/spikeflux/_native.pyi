from os import PathLike
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class SpikefluxError(Exception): ...
class ConfigError(SpikefluxError):
    field: str
class DataFileError(SpikefluxError):
    path: str
class ShapeError(SpikefluxError): ...
class NonFiniteError(SpikefluxError):
    epoch: int
    batch: int
    field: str
class IOError(SpikefluxError):
    path: str
class NirError(SpikefluxError):
    node: str

class Config:
    """A run configuration (the TOML a config file holds), validated as `spikeflux train` does."""
    @staticmethod
    def load(path: Union[str, PathLike]) -> "Config": ...
    @staticmethod
    def default() -> "Config": ...
    @staticmethod
    def from_toml(text: str) -> "Config": ...
    @staticmethod
    def from_nir(source: Any, base: Optional["Config"] = None, dt: Optional[float] = None, discretization: Optional[str] = None, last_as_readout: bool = False, step_order: Optional[str] = None) -> "Config":
        """`base` with its model section from a NIR graph (a path or an nir.NIRGraph), as `spikeflux nir import`."""
    def __getitem__(self, key: str) -> Any: ...
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __contains__(self, key: str) -> bool: ...
    def update(self, values: Dict[str, Any]) -> None: ...
    def validate(self) -> None: ...
    def to_toml(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def constrain(self) -> None:
        """Dale layers: absent connections back to 0, the rest clamped at >= 0 (as after each training step)."""
    def save(self, path: Union[str, PathLike]) -> None: ...
    def load_data(self) -> Dict[str, Optional[Dict[str, Any]]]:
        """{"train"|"valid"|"test": {"inputs": uint8 [B, T, n_in], "labels": int64 [B], "dt": float}}"""
    def init_report(self, samples: int = 256) -> Dict[str, Any]:
        """`spikeflux init-report` as a dict: per layer theory vs measured membrane, rates; per connection the moments."""

class Network:
    """A network: shape and weights (PyTorch layout, float32)."""
    @staticmethod
    def from_config(config: Config, seed: Optional[int] = None) -> "Network": ...
    @staticmethod
    def load(config: Config, path: Union[str, PathLike]) -> "Network": ...
    def weights(self) -> Dict[str, npt.NDArray[np.float32]]: ...
    def set_weights(self, weights: Dict[str, npt.ArrayLike]) -> None: ...
    def save(self, path: Union[str, PathLike]) -> None: ...
    def to_nir(self, path: Optional[Union[str, PathLike]] = None, discretization: str = "exact", reader_dt: Optional[float] = None) -> Any:
        """Writes a NIR graph to `path`, or returns an nir.NIRGraph (docs/nir.md)."""
    @staticmethod
    def from_nir(source: Any, config: Optional[Config] = None, dt: Optional[float] = None, discretization: Optional[str] = None, last_as_readout: bool = False, step_order: Optional[str] = None) -> "Network":
        """The network of a NIR graph (a path or an nir.NIRGraph); spikeflux's own exports come back bit for bit."""
    def run(self, inputs: Any, record: bool = False, n_steps: Optional[int] = None, counts: bool = False) -> Any:
        """inputs [B, T, n_in] of 0/1 (with counts=True: event counts 0..255 per step and channel)
        -> readout membrane traces [B, T, n_out]; with record=True a dict {"readout": ...,
        "spikes": [[B, T, n_l], ...], "membranes": [...], "counts": [[B, n_l], ...]}."""
    def forward_tape(self, inputs: Any, weights: Optional[List[npt.ArrayLike]] = None, n_steps: Optional[int] = None, counts: bool = False) -> "Tape":
        """A batch forward (optionally with other weights, in tensor_names order), kept for Tape.backward."""
    def loss_and_grad(self, inputs: Any, labels: List[int], n_steps: Optional[int] = None, counts: bool = False) -> Tuple[float, Dict[str, npt.NDArray[np.float32]]]:
        """The config's training loss of a batch and its gradient (PyTorch layout)."""
    @property
    def init_rates_hz(self) -> Optional[List[float]]:
        """The rates init.nu = "data" measured (input, then each hidden layer), or None."""
    @property
    def n_in(self) -> int: ...
    @property
    def n_out(self) -> int: ...
    @property
    def dt(self) -> float: ...
    @property
    def tensor_names(self) -> List[str]: ...

class Tape:
    """A batch after Network.forward_tape."""
    def readout(self) -> npt.NDArray[np.float32]:
        """[B, T, n_out]"""
    def counts(self) -> List[npt.NDArray[np.float32]]:
        """[[B, n_l], ...] spikes per sample and neuron"""
    def backward(self, grad_readout: npt.ArrayLike, grad_counts: Optional[List[Optional[npt.ArrayLike]]] = None) -> List[npt.NDArray[np.float32]]:
        """Weight gradients (tensor_names order, PyTorch layout) from dL/dreadout and dL/dcounts."""
    @property
    def batch(self) -> int: ...
    @property
    def steps(self) -> int: ...

def set_threads(n: int) -> None:
    """Start spikeflux's worker pool with n threads (0 = one per core) before its first use."""

def threads() -> int: ...

def train_run(
    config: Config,
    out: Optional[str] = None,
    epochs: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    batch_size: Optional[int] = None,
    resume: bool = False,
    plots: Optional[str] = None,
    callback: Optional[Callable[[str], None]] = None,
    progress: bool = True,
) -> Tuple[List[str], str]: ...

def epsilon(tau_mem: float, tau_syn: float, dt: float, mode: str = "numerical") -> Tuple[float, float]:
    """(eps_bar, eps_hat) in seconds of a LIF neuron's PSP kernel."""

def fd_weights(
    fan_in: int,
    nu: float,
    tau_mem: float = 20e-3,
    tau_syn: float = 10e-3,
    dt: float = 1e-3,
    sigma_u: Optional[float] = None,
    mu_u: Optional[float] = None,
    xi: Optional[float] = None,
    recurrent_fan_in: Optional[int] = None,
    alpha: float = 0.9,
    mode: str = "numerical",
) -> Dict[str, Tuple[float, float]]:
    """Fluctuation-driven (mean, std) of the feed-forward ("ff") and recurrent ("rec") weights."""

def read_spikes(path: Union[str, PathLike]) -> Dict[str, Any]:
    """An SHD-layout file: {"times": [float32 arrays], "units": [uint32 arrays], "labels": uint32 array, ...}."""

def write_spikes(
    path: Union[str, PathLike],
    times: List[npt.ArrayLike],
    units: List[npt.ArrayLike],
    labels: npt.ArrayLike,
    speakers: Optional[npt.ArrayLike] = None,
    keys: Optional[List[str]] = None,
) -> None: ...

def bin_spikes(times: List[npt.ArrayLike], units: List[npt.ArrayLike], n_in: int, n_steps: int, dt: float) -> npt.NDArray[np.uint8]:
    """Spike times (s) and units per sample -> uint8 [B, n_steps, n_in] (step = floor(t/dt))."""

def audio_to_spikes(samples: npt.ArrayLike, rate: int, seed: int = 0, index: int = 0) -> Dict[str, Any]:
    """Mono audio through the cochlea model: {"times": float32 s, "units": uint32 (700 channels), "duration": s}."""

def fig1(neurons: int = 256, seconds: float = 10.0, seed: int = 2020) -> Dict[str, Any]:
    """The Fig. 1 simulation: per xi the measured vs theoretical membrane statistics, and the panels' data."""

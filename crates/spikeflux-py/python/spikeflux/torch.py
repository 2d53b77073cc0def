"""spikeflux networks as PyTorch modules (needs ``torch``; spikeflux itself does not).

:class:`SpikingNetwork` runs a spikeflux network (its hidden stack and readout) forward and backward
through spikeflux's fused engine on CPU tensors, inside your own model, loss and optimizer:

    >>> import torch, spikeflux
    >>> from spikeflux.torch import SpikingNetwork
    >>> cfg = spikeflux.Config.default()
    >>> snn = SpikingNetwork.from_config(cfg)                  # FD-initialized as `spikeflux train` does
    >>> opt = torch.optim.Adam(snn.parameters(), lr=1e-3)
    >>> readout = snn(x)                                       # x [B, T, n_in] of 0/1 -> [B, T, n_out]
    >>> loss = torch.nn.functional.cross_entropy(readout.max(dim=1).values, y)
    >>> loss.backward(); opt.step()

The parameters are named as in spikeflux's weights files (``hidden.0.ff.weight``, ...,
``readout.weight``), in PyTorch's layout, so ``state_dict()`` and ``Network.weights()`` agree.
Gradients are the engine's surrogate gradients (SuperSpike with the config's beta, detached reset),
the same as ``spikeflux train`` computes; inputs are spikes and get no gradient. Work runs on
spikeflux's own threads (``spikeflux.set_threads``), not torch's.
"""

import torch

from ._native import Network

__all__ = ["SpikingNetwork", "SpikingFunction"]


class SpikingFunction(torch.autograd.Function):
    """The engine as an autograd function: ``apply(network, x, counts, *weights)`` (``counts``:
    whether ``x`` holds event counts rather than 0/1 spikes) returns the readout
    membrane ``[B, T, n_out]`` and each hidden layer's spike counts ``[B, n_l]`` (float32, in
    PyTorch's channel-major order for convolutional layers); the backward pass gives the weights'
    gradients from the gradients of all of these."""

    @staticmethod
    def forward(ctx, network, x, counts, *weights):
        ctx.set_materialize_grads(False)
        arrays = [w.detach().to(torch.float32).contiguous().numpy() for w in weights]
        tape = network.forward_tape(x.detach().cpu().numpy(), arrays, counts=counts)
        ctx.tape = tape
        ctx.dtypes = [w.dtype for w in weights]
        readout = torch.from_numpy(tape.readout())
        ctx.n_out = readout.shape[2]
        counts = [torch.from_numpy(c) for c in tape.counts()]
        return (readout, *counts)

    @staticmethod
    def backward(ctx, grad_readout, *grad_counts):
        tape = ctx.tape
        if grad_readout is None:  # only the counts reach the loss
            grad_readout = torch.zeros(tape.batch, tape.steps, ctx.n_out)
        g = grad_readout.detach().to(torch.float32).contiguous().numpy()
        gc = [None if c is None else c.detach().to(torch.float32).contiguous().numpy() for c in grad_counts]
        grads = tape.backward(g, gc)
        out = [torch.from_numpy(a).to(dt) for a, dt in zip(grads, ctx.dtypes)]
        return (None, None, None, *out)


class _Connection(torch.nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = torch.nn.Parameter(weight)


class _Layer(torch.nn.Module):
    def __init__(self, ff, rec):
        super().__init__()
        self.ff = _Connection(ff)
        if rec is not None:
            self.rec = _Connection(rec)


class SpikingNetwork(torch.nn.Module):
    """A spikeflux :class:`~spikeflux.Network` as a ``torch.nn.Module``.

    ``forward(x, return_counts=False, counts=False)``: ``x`` is a CPU tensor ``[B, T, n_in]`` of
    0/1 (bool, any integer or float dtype; with ``counts=True`` event counts, whole numbers 0 to
    255, as event-camera frames hold them), returns the readout membrane traces ``[B, T, n_out]`` (float32), the
    quantity spikeflux's losses read (e.g. ``.max(dim=1).values`` for max-over-time logits). With
    ``return_counts=True`` returns ``(readout, counts)``, ``counts[l]`` the spikes per sample and
    neuron of hidden layer l ``[B, n_l]``, for activity regularizers; gradients flow through both.

    The network's architecture, neuron parameters, time step and surrogate come from ``network``;
    the weights are this module's parameters (initialized from ``network``'s).
    """

    def __init__(self, network: Network):
        super().__init__()
        self.network = network
        self._names = list(network.tensor_names)
        w = {k: torch.from_numpy(v) for k, v in network.weights().items()}
        layers = sorted({int(n.split(".")[1]) for n in self._names if n.startswith("hidden.")})
        self.hidden = torch.nn.ModuleList(
            [_Layer(w[f"hidden.{l}.ff.weight"], w.get(f"hidden.{l}.rec.weight")) for l in layers]
        )
        self.readout = _Connection(w["readout.weight"])

    @classmethod
    def from_config(cls, config, seed=None):
        """The network of ``config`` (a :class:`~spikeflux.Config`), initialized as ``spikeflux
        train`` initializes it with ``seed`` (default: the config's)."""
        return cls(Network.from_config(config, seed=seed))

    def forward(self, x, return_counts=False, counts=False):
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(x)
        if x.requires_grad:
            raise ValueError(
                "spikeflux's network takes its input spikes as data and computes no gradient for "
                "them: pass x.detach() (or build the input without requires_grad)"
            )
        if x.device.type != "cpu":
            raise ValueError(f"spikeflux runs on the CPU: move the input there (x.cpu()), got {x.device}")
        weights = [self.get_parameter(n) for n in self._names]
        readout, *spike_counts = SpikingFunction.apply(self.network, x, counts, *weights)
        return (readout, spike_counts) if return_counts else readout

    def to_network(self) -> Network:
        """This module's current weights as a spikeflux :class:`~spikeflux.Network` (to save as a
        weights file, run or evaluate)."""
        self.network.set_weights({n: self.get_parameter(n).detach().to(torch.float32).numpy() for n in self._names})
        return self.network

    @torch.no_grad()
    def constrain_(self):
        """Restores the Dale layers' constraints in place (absent connections 0, the rest ≥ 0), as
        ``spikeflux train`` does after every optimizer step: call it after ``optimizer.step()`` when
        the network has Dale layers (a no-op otherwise)."""
        net = self.to_network()
        net.constrain()
        for name, w in net.weights().items():
            self.get_parameter(name).copy_(torch.from_numpy(w))
        return self

    def extra_repr(self):
        return repr(self.network)

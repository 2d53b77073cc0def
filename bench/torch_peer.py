"""One PyTorch peer for the end-to-end benchmark: trains the default experiment (Randman shallow,
spec §4.2) for a few epochs on data exported by `spikeflux data export`, and prints one JSON line
with seconds per epoch.

--impl reference : the independent reference implementation of stork's semantics (tools/reference_torch.py)
--impl snntorch  : the same network built from snnTorch's `Synaptic` neurons (reset to zero, fast-sigmoid
                   surrogate with slope 20; readout = Synaptic membrane with reset off)
--arch randman | ff | rcsnn | dvs : notebook 01's network, notebook 02's 3 x 128 feed-forward SHD network
                   (reference, snntorch), notebook 03's RCSNN (reference) or notebook 05's convolutional
                   DVS Gesture network (reference; inputs are event counts)
--max-batches N  : time only the first N batches of each epoch and report seconds_per_epoch as the
                   measured time per sample times the epoch's samples (for networks whose full epoch
                   takes hours here); the JSON says so
--impl spikeflux-torch : the default config's network as spikeflux's PyTorch module
                   (spikeflux.torch.SpikingNetwork, FD init), in this same PyTorch loop, loss and optimizer
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from reference_torch import ReferenceNet, loss_fn, smorms3_step  # noqa: E402

REGS = [dict(bound="lower", strength=100.0, threshold=1e-3, scope="neuron"),
        dict(bound="upper", strength=0.1, threshold=4.0, scope="population")]


def dense(split, n_in, T):
    ev, labels = split["events"], split["labels"]
    x = torch.zeros(len(ev), T, n_in)
    for i, e in enumerate(ev):
        if e:
            t = torch.tensor(e[0::2])
            u = torch.tensor(e[1::2])
            # a repeated (step, unit) is an event count (notebook 05's frames); spike data has none
            x[i].index_put_((t, u), torch.ones(len(t)), accumulate=True)
    return x, torch.tensor(labels)


class SnnTorchNet(torch.nn.Module):
    """Dense hidden layers of snnTorch `Synaptic` neurons (τ 20/10 ms, reset to zero, fast-sigmoid
    surrogate with slope 20) and a `Synaptic` readout with the reset off (readout τ_mem `tau_out`)."""

    def __init__(self, n_in, hidden, n_out, dt, tau_out=0.2):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate
        bm, bs = math.exp(-dt / 20e-3), math.exp(-dt / 10e-3)
        bmr = math.exp(-dt / tau_out)
        sizes = [n_in] + list(hidden)
        self.fc = torch.nn.ModuleList(torch.nn.Linear(a, b, bias=False) for a, b in zip(sizes, sizes[1:]))
        self.lif = torch.nn.ModuleList(snn.Synaptic(alpha=bs, beta=bm, threshold=1.0, reset_mechanism="zero",
                                                    spike_grad=surrogate.fast_sigmoid(slope=20)) for _ in hidden)
        self.fc_out = torch.nn.Linear(sizes[-1], n_out, bias=False)
        self.out = snn.Synaptic(alpha=bs, beta=bmr, threshold=1e9, reset_mechanism="none")

    def forward(self, x):
        states = [lif.reset_mem() for lif in self.lif]
        syn2, mem2 = self.out.reset_mem()
        spk, mems = [[] for _ in self.lif], []
        for t in range(x.shape[1]):
            h = x[:, t]
            for l, (fc, lif) in enumerate(zip(self.fc, self.lif)):
                h, syn, mem = lif(fc(h), *states[l])
                states[l] = (syn, mem)
                spk[l].append(h)
            _, syn2, mem2 = self.out(self.fc_out(h), syn2, mem2)
            mems.append(mem2)
        return torch.stack(mems, 1), [torch.stack(s, 1) for s in spk]


class Spikeflux(torch.nn.Module):
    """spikeflux's PyTorch module on the default config, returning what loss_fn reads: the readout
    traces and, per layer, the spike counts as a [B, 1, n] "raster" (loss_fn sums it over dim 1)."""

    def __init__(self, threads):
        super().__init__()
        import spikeflux
        from spikeflux.torch import SpikingNetwork
        spikeflux.set_threads(threads)
        self.snn = SpikingNetwork.from_config(spikeflux.Config.default())

    def forward(self, x):
        readout, counts = self.snn(x, return_counts=True)
        return readout, [c.unsqueeze(1) for c in counts]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", choices=["reference", "snntorch", "spikeflux-torch"], required=True)
    ap.add_argument("--arch", choices=["randman", "ff", "rcsnn", "dvs"], default="randman")
    ap.add_argument("--max-batches", type=int, default=None)
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=250)
    ap.add_argument("--torch-threads", type=int, default=None,
                    help="torch's own threads (default --threads); spikeflux-torch runs its engine on --threads")
    a = ap.parse_args()
    torch.set_num_threads(a.torch_threads or a.threads)
    torch.manual_seed(1)
    d = json.load(open(a.data))
    n_in, T, C, dt = d["n_in"], d["t_steps"], d["n_classes"], d["dt"]
    x, y = dense(d["splits"]["train"], n_in, T)
    regs = REGS
    if a.arch == "rcsnn":
        # notebook 03 (spec §4.4), as in configs/shd-rcsnn.toml
        conv = lambda k, s: dict(kernel=k, stride=s, padding=0, rec_kernel=5)
        layers = [dict(size=16, recurrent=True, tau_mem=20e-3, tau_syn=10e-3, conv=conv(21, 10)),
                  dict(size=32, recurrent=True, tau_mem=20e-3, tau_syn=10e-3, conv=conv(7, 3)),
                  dict(size=64, recurrent=True, tau_mem=20e-3, tau_syn=10e-3, conv=conv(7, 3))]
        net = ReferenceNet(n_in, C, layers, dict(tau_mem=0.7, tau_syn=10e-3, initial_state=-1e-3), dt=dt,
                           input_shape=(1, n_in))
        with torch.no_grad():
            for w, s in zip(net.ff, [1.15435, 0.49985, 0.35344]):
                w.normal_(0, s)
            for w, s in zip(net.rec, [0.19714, 0.13940, 0.09857]):
                w.normal_(0, s)
            net.w_out.normal_(0, 320 ** -0.5)
        regs = [dict(bound="upper", strength=0.01, threshold=7.0, scope="channel")]
        channels = [16, 32, 64]
    elif a.arch == "dvs":
        # notebook 05 (spec §4.6), as in configs/dvs-gesture.toml: sigma_w of spec §2.6
        if a.impl != "reference":
            sys.exit("--arch dvs: --impl reference")
        conv = dict(kernel=[3, 3], stride=[1, 1], padding=[2, 2], rec_kernel=3)
        layers = [dict(size=c, recurrent=False, tau_mem=20e-3, tau_syn=10e-3, conv=conv, pool=p)
                  for c, p in [(16, 1), (16, 2), (32, 1), (32, 2)]]
        net = ReferenceNet(n_in, C, layers, dict(tau_mem=1.0, tau_syn=10e-3, initial_state=-1e-3), dt=dt,
                           input_shape=(2, 32, 32))
        with torch.no_grad():
            for w, s in zip(net.ff, [1.72235, 0.60894, 0.60894, 0.43059]):
                w.normal_(0, s)
            net.w_out.normal_(0, 3872 ** -0.5)
        regs = [dict(bound="upper", strength=0.01, threshold=10.0, scope="channel")]
        channels = [16, 16, 32, 32]
    elif a.arch == "ff":
        # notebook 02 (spec §4.3), as in configs/shd-deep-ff.toml; the FD init's σ as spikeflux prints
        # them (`spikeflux train --dry-run`: ν = 15.8 Hz, σ_U = 1)
        regs = [dict(bound="lower", strength=100.0, threshold=1e-3, scope="neuron"),
                dict(bound="upper", strength=0.1, threshold=7.0, scope="population")]
        if a.impl == "reference":
            net = ReferenceNet(n_in, C, [dict(size=128, recurrent=False, tau_mem=20e-3, tau_syn=10e-3)] * 3,
                               dict(tau_mem=0.7, tau_syn=10e-3, initial_state=-1e-2), dt=dt)
            ff, out = net.ff, net.w_out
        elif a.impl == "snntorch":
            net = SnnTorchNet(n_in, [128] * 3, C, dt, tau_out=0.7)
            ff, out = [fc.weight for fc in net.fc], net.fc_out.weight
        else:
            sys.exit("--arch ff: --impl reference or snntorch")
        with torch.no_grad():
            for w, s in zip(ff, [0.21075, 0.49285, 0.49285]):
                w.normal_(0, s)
            out.normal_(0, 2.40151)
    elif a.impl == "reference":
        net = ReferenceNet(n_in, C, [dict(size=128, recurrent=False, tau_mem=20e-3, tau_syn=10e-3)],
                           dict(tau_mem=0.2, tau_syn=10e-3, initial_state=-1e-2), dt=dt)
        with torch.no_grad():
            net.ff[0].normal_(0, 2.2164)
            net.w_out.normal_(0, 2.3214)
    elif a.impl == "spikeflux-torch":
        net = Spikeflux(a.threads)
    else:
        net = SnnTorchNet(n_in, [128], C, dt)
    if a.arch not in ("rcsnn", "dvs"):
        channels = None
    params = list(net.parameters())
    state = {}
    times, accs = [], []
    for ep in range(a.epochs):
        perm = torch.randperm(len(y))
        t0 = time.perf_counter()
        correct, seen = 0, 0
        for bi, i in enumerate(range(0, len(y), a.batch_size)):
            if a.max_batches is not None and bi >= a.max_batches:
                break
            idx = perm[i:i + a.batch_size]
            V, spikes = net(x[idx])[:2]
            ce, reg, z = loss_fn(V, spikes, y[idx], "max-over-time", regs, channels=channels)
            for p in params:
                p.grad = None
            (ce + reg).backward()
            smorms3_step(params, state, lr=5e-3)
            correct += (z.argmax(1) == y[idx]).sum().item()
            seen += len(idx)
        times.append((time.perf_counter() - t0) * len(y) / seen)
        accs.append(correct / seen)
    print(json.dumps(dict(impl=a.impl, arch=a.arch, samples=len(y), seconds_per_epoch=sum(times) / len(times),
                          epoch_seconds=times, train_acc=accs, threads=a.threads,
                          torch_threads=torch.get_num_threads(), torch=torch.__version__,
                          timed_samples_per_epoch=seen, extrapolated=seen < len(y))))


if __name__ == "__main__":
    main()

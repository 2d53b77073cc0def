"""Where the time of spikeflux's PyTorch layer goes (BENCHMARKS.md, "Python: the PyTorch layer").

1. The engine's two calls per batch (Network.forward_tape, Tape.backward) back to back on one batch of
   250 of the default experiment: median wall and CPU time, and how busy the worker threads are
   (process CPU time / (wall · threads)).
2. The same calls inside the PyTorch loop of bench/torch_peer.py (spikeflux-torch, 3 epochs), timed
   around the native calls, with the loop's phases.

    python bench/torch_layer_profile.py --threads 2 --torch-threads 1
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def back_to_back(spikeflux, reps=60):
    cfg = spikeflux.Config.default()
    d = cfg.load_data()["train"]
    net = spikeflux.Network.from_config(cfg)
    x = d["inputs"][:250].astype(np.float32)
    g = np.zeros((250, 100, 10), np.float32)
    g[:, 5, :] = 1e-3
    fwd, bwd, wall, cpu = [], [], 0.0, 0.0
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        tape = net.forward_tape(x)
        t1 = time.perf_counter()
        tape.backward(g)
        t2, c2 = time.perf_counter(), time.process_time()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
        wall += t2 - t0
        cpu += c2 - c0
    return dict(forward_ms=1e3 * np.median(fwd), backward_ms=1e3 * np.median(bwd), busy=cpu / wall / spikeflux.threads())


def in_loop(spikeflux, torch_threads):
    import torch
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from reference_torch import loss_fn, smorms3_step
    from torch_peer import REGS, Spikeflux, dense
    torch.set_num_threads(torch_threads)
    data = os.path.join(tempfile.mkdtemp(), "randman.json")
    subprocess.run([os.path.join(ROOT, "target", "release", "spikeflux"), "data", "export", "--out", data], check=True, capture_output=True)
    d = json.load(open(data))
    x, y = dense(d["splits"]["train"], d["n_in"], d["t_steps"])
    T = {}

    def add(k, v):
        T[k] = T.get(k, 0.0) + v

    # the native calls timed from inside the autograd function, through a wrapper of the network
    net = Spikeflux(spikeflux.threads())
    native = net.snn.network

    class Timed:
        def __init__(self, inner):
            self.inner = inner

        def forward_tape(self, *a):
            t0, c0 = time.perf_counter(), time.process_time()
            tape = self.inner.forward_tape(*a)
            add("native forward wall", time.perf_counter() - t0)
            add("native forward cpu", time.process_time() - c0)
            return TimedTape(tape)

    class TimedTape:
        def __init__(self, tape):
            self.tape, self.batch, self.steps = tape, tape.batch, tape.steps

        def readout(self):
            return self.tape.readout()

        def counts(self):
            return self.tape.counts()

        def backward(self, *a):
            t0, c0 = time.perf_counter(), time.process_time()
            r = self.tape.backward(*a)
            add("native backward wall", time.perf_counter() - t0)
            add("native backward cpu", time.process_time() - c0)
            return r

    net.snn.network = Timed(native)
    params, state, n = list(net.parameters()), {}, 0
    for _ in range(3):
        perm = torch.randperm(len(y))
        for i in range(0, len(y), 250):
            t0 = time.perf_counter()
            idx = perm[i:i + 250]
            xb = x[idx]
            t1 = time.perf_counter()
            V, spikes = net(xb)
            t2 = time.perf_counter()
            ce, reg, z = loss_fn(V, spikes, y[idx], "max-over-time", REGS)
            for p in params:
                p.grad = None
            t3 = time.perf_counter()
            (ce + reg).backward()
            t4 = time.perf_counter()
            smorms3_step(params, state, lr=5e-3)
            t5 = time.perf_counter()
            for k, v in (("gather", t1 - t0), ("module forward", t2 - t1), ("loss", t3 - t2), ("loss.backward", t4 - t3), ("optimizer", t5 - t4)):
                add(k, v)
            n += 1
    out = {k: 1e3 * v / n for k, v in T.items()}
    wall = out["native forward wall"] + out["native backward wall"]
    out["busy"] = (out["native forward cpu"] + out["native backward cpu"]) / wall / spikeflux.threads()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--torch-threads", type=int, default=1)
    a = ap.parse_args()
    import spikeflux
    spikeflux.set_threads(a.threads)
    b = back_to_back(spikeflux)
    print(f"back to back (batch 250): forward {b['forward_ms']:.2f} ms, backward {b['backward_ms']:.2f} ms, threads busy {100 * b['busy']:.0f} %")
    r = in_loop(spikeflux, a.torch_threads)
    print(f"in the PyTorch loop (torch threads {a.torch_threads}), ms per batch: " +
          ", ".join(f"{k} {v:.2f}" for k, v in r.items() if k != "busy" and "cpu" not in k) +
          f"; engine threads busy {100 * r['busy']:.0f} %")


if __name__ == "__main__":
    main()

"""spikeflux networks exported as NIR, run by Norse and by snnTorch (issue #13's acceptance).

    python bench/nir_peers.py --config C --weights W [--spikeflux target/release/spikeflux] [--out DIR]

Exports the trained network (`spikeflux nir export --discretization euler`: Norse reads it at the
network's dt, snnTorch at its fixed 1e-4 s), imports it with `norse.torch.from_nir` and with
snnTorch's importer (`snntorch.import_nir`), runs the config's test set through each, and reports
test accuracy (max over time of the readout, as spikeflux's loss reads it), agreement of the
predictions, and per hidden layer the spike rates and the spike agreement with spikeflux
(Dice coefficient of the spike sets, at the time shift that maximizes it; positive: the
run's spikes come later than spikeflux's).

Neither importer has a node for NIR's CubaLI (spikeflux's readout); it is built here from each
library's own neuron (Norse: two LIBoxCells, as its CubaLIF importer does; snnTorch: a Synaptic
whose threshold is never reached) with the Euler reading both libraries give NIR. Norse's importer
takes NIR subgraphs (recurrence) through nirtorch's graph executor, as is.

To explain the differences, the same graph is also stepped by a NumPy interpreter in two orders:
spikeflux's (the membrane from the previous step's current, the spike from the previous step's
membrane, the reset one step later discarding that step's input; docs/nir.md) and Norse's and
snnTorch's (current, then membrane from the new current, spike and reset in the same step). The
first must match spikeflux and the second Norse and snnTorch; then every difference between
spikeflux and the peers is the step order.
Needs: pip install torch norse snntorch nir; the spikeflux package (pip install crates/spikeflux-py).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def sh(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{r.stderr}")
    return r.stdout


def dense_inputs(split, t_steps, n_in):
    """[T, B, n_in] float32 0/1 from the JSON export's events."""
    b = len(split["labels"])
    x = np.zeros((t_steps, b, n_in), np.float32)
    for i, ev in enumerate(split["events"]):
        ev = np.asarray(ev, dtype=np.int64).reshape(-1, 2)
        x[ev[:, 0], i, ev[:, 1]] = 1.0
    return x


def chain(graph):
    """A NIR chain Input -> weights -> population [recurrent] -> ... -> weights -> population ->
    Output as [(weight, population, w_rec or None)]; the last entry is the readout."""
    import nir

    skip = set()  # flat recurrent weights, not part of the chain
    succ = lambda n: [b for a, b in graph.edges if a == n and b not in skip]
    cur = next(k for k, v in graph.nodes.items() if isinstance(v, nir.Input))
    layers = []
    while True:
        nxt = succ(cur)
        assert len(nxt) == 1, f"{cur} feeds {nxt}"
        cur = nxt[0]
        node = graph.nodes[cur]
        if isinstance(node, nir.Output):
            return layers
        if isinstance(node, nir.Flatten):
            continue
        assert isinstance(node, (nir.Linear, nir.Affine)), f"{cur}: {type(node).__name__}"
        assert not isinstance(node, nir.Affine) or not np.any(node.bias), f"{cur} has a bias"
        pop_name = succ(cur)[0]
        pop, w_rec = graph.nodes[pop_name], None
        if isinstance(pop, nir.NIRGraph):
            w_rec = next(v for v in pop.nodes.values() if isinstance(v, (nir.Linear, nir.Affine))).weight
            pop = next(v for v in pop.nodes.values() if isinstance(v, (nir.CubaLIF, nir.CubaLI)))
        else:
            for r in succ(pop_name):
                if isinstance(graph.nodes[r], (nir.Linear, nir.Affine)) and succ(r) == [pop_name]:
                    w_rec = graph.nodes[r].weight
                    skip.add(r)
        layers.append((node.weight, pop, w_rec))
        cur = pop_name


def interpret(graph, x, order, reader_dt):
    """Steps a dense NIR chain read with forward Euler at `reader_dt`, float32, in `order`
    "spikeflux", "peers" or "peers, delayed reset". Returns (readout [T, B, C], [spikes [T, B, n]])."""
    *layers, (w_out, ro, _) = chain(graph)
    f = np.float32
    v0 = f(graph.metadata.get("readout_initial_state", 0.0)) if order == "spikeflux" else f(0)
    own = str(graph.metadata.get("spikeflux_step_order", "reference")) if order == "spikeflux" else None
    if own in ("nir", "snntorch"):
        # model.step_order = "nir" / "snntorch": Norse's / snnTorch's order, with spikeflux's initial readout state
        order = "peers" if own == "nir" else "peers, delayed reset"

    def euler(node, spiking):
        a = f(1 - reader_dt / node.tau_syn)
        spiking = spiking and hasattr(node, "v_threshold")
        b = f(1 - reader_dt / node.tau_mem)
        gin = f(node.w_in * reader_dt / node.tau_syn)
        gv = f(node.r * reader_dt / node.tau_mem)
        thr = f(node.v_threshold) if spiking else None
        return a, b, gin, gv, thr

    t_steps, batch, _ = x.shape
    spikes = []
    inp = x
    for w, lif, w_rec in layers:
        a, b, gin, gv, thr = euler(lif, True)
        n = w.shape[0]
        i_syn = np.zeros((batch, n), f)
        v = np.zeros((batch, n), f)
        s_prev = np.zeros((batch, n), f)
        x_prev = np.zeros((batch, n), f)
        out = np.zeros((t_steps, batch, n), f)
        for t in range(t_steps):
            drive = inp[t] @ w.T.astype(f)
            if order == "spikeflux":
                # S_t = H(U_{t-1} - 1); I_t = a I + X_{t-1}; U_t = (b U + (1-b) I_{t-1})(1 - S_t)
                s = (v > thr).astype(f)
                i_new = a * i_syn + gin * x_prev
                v = (b * v + gv * i_syn) * (1 - s)
                i_syn = i_new
                x_prev = drive + (s @ w_rec.T.astype(f) if w_rec is not None else 0)
            else:
                # I_t = a I + x_t (recurrent input from z_{t-1}); v_t = b v + (1-b) r I_t; z_t = H(v_t - θ);
                # reset to 0 in the same step ("peers"), or at the next step, discarding its input
                # ("peers, delayed reset": snnTorch's default reset_delay=True)
                if w_rec is not None:
                    drive = drive + s_prev @ w_rec.T.astype(f)
                i_syn = a * i_syn + gin * drive
                keep = 1 - (v > thr).astype(f) if order == "peers, delayed reset" else 1
                v = (b * v + gv * i_syn) * keep
                s = (v > thr).astype(f)
                if order == "peers":
                    v = v * (1 - s)
            s_prev = s
            out[t] = s
        spikes.append(out)
        inp = out
    a, b, gin, gv, _ = euler(ro, False)
    c = w_out.shape[0]
    i_syn = np.zeros((batch, c), f)
    v = np.zeros((batch, c), f) + v0
    x_prev = np.zeros((batch, c), f)
    trace = np.zeros((t_steps, batch, c), f)
    for t in range(t_steps):
        drive = inp[t] @ w_out.T.astype(f)
        if order == "spikeflux":
            i_new = a * i_syn + gin * x_prev
            v = b * v + gv * i_syn
            i_syn, x_prev = i_new, drive
        else:
            i_syn = a * i_syn + gin * drive
            v = b * v + gv * i_syn
        trace[t] = v
    return trace, spikes


def run_norse(graph, x, dt, n_hidden):
    import nir
    import torch
    import norse.torch as norse
    import norse.torch.module.leaky_integrator_box as li_box
    import norse.torch.utils.import_nir as nimp

    original = nimp._import_norse_module

    def with_cubali(node, **kw):
        if isinstance(node, nir.CubaLI):
            t = nimp._to_tensor
            syn = li_box.LIBoxCell(li_box.LIBoxParameters(tau_mem_inv=1 / t(node.tau_syn), v_leak=t(node.v_leak) * 0), dt=kw["dt"])
            mem = li_box.LIBoxCell(li_box.LIBoxParameters(tau_mem_inv=1 / t(node.tau_mem), v_leak=t(node.v_leak)), dt=kw["dt"])
            return nimp.CubaLIF(t(node.w_in), syn, t(node.r), mem)
        return original(node, **kw)

    nimp._import_norse_module = with_cubali
    try:
        net = norse.from_nir(graph, dt=dt)
    finally:
        nimp._import_norse_module = original
    # the hidden populations: every CubaLIF module but the readout's, in the chain's order
    # (node names lif0, lif1, ... from spikeflux; 1, 3, ... from Norse's and snnTorch's exporters)
    key = lambda name: int("".join(c for c in name.split(".")[0] if c.isdigit()) or 0)
    pops = sorted((name for name, m in net.named_modules() if isinstance(m, nimp.CubaLIF)), key=key)
    rec = {}
    for layer, name in enumerate(pops[:n_hidden]):
        net.get_submodule(name).register_forward_hook(lambda mod, i, o, layer=layer: rec.setdefault(layer, []).append(o[0].detach().numpy().copy()))
    # a spiking last layer read as the readout (--last-as-readout): its membrane, from its state
    last_v = []
    if len(pops) > n_hidden and not isinstance(net.get_submodule(pops[-1]).lif, li_box.LIBoxCell):
        net.get_submodule(pops[-1]).register_forward_hook(lambda mod, i, o: last_v.append(o[1][1].v.detach().numpy().copy()))
    xs = torch.from_numpy(x)
    state, outs = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            o, state = net(xs[t], state)
            outs.append(o.numpy().copy())
    return np.stack(last_v or outs), [np.stack(rec[l]) for l in sorted(rec)]


def run_snntorch(graph, x):
    import nir
    import nirtorch
    import snntorch as snn
    import snntorch.import_nir as imp
    import snntorch.utils
    import torch

    class CubaLIReadout(torch.nn.Module):
        """NIR's CubaLI as snnTorch reads NIR (forward Euler at its fixed 1e-4 s), on its Synaptic."""

        def __init__(self, node, dt=1e-4):
            super().__init__()
            f = lambda v: torch.tensor(np.asarray(v), dtype=torch.float32)
            self.w = f(node.w_in * dt / node.tau_syn)
            self.gain = f(node.r * dt / node.tau_mem)
            self.cell = snn.Synaptic(alpha=f(1 - dt / node.tau_syn), beta=f(1 - dt / node.tau_mem), threshold=1e30, reset_mechanism="none", init_hidden=True)

        def forward(self, x):
            self.cell(self.w * x)
            return self.gain * self.cell.mem

    mapped = lambda n: imp._nir_to_snntorch_module(n, init_hidden=True)
    if not any(isinstance(n, nir.NIRGraph) for n in graph.nodes.values()):
        # snntorch.import_nir.import_from_nir with one more entry in its node map
        g = imp._replace_rnn_subgraph_with_nirgraph(graph)
        node_map = {nir.Affine: mapped, nir.Linear: mapped, nir.Flatten: mapped, nir.CubaLIF: mapped, nir.CubaLI: CubaLIReadout}
        net = nirtorch.nir_to_torch(g, node_map)
        pops = [m for name, m in net.named_modules() if name.startswith("lif") and "." not in name]
    else:
        # snnTorch 1.0.0's import_from_nir fails on every recurrent graph (nirtorch 2.x: "'GraphModule'
        # object has no attribute 'items'"; the NIR paper's braille graph too): its own node
        # conversion (an RSynaptic per recurrent subgraph) chained by hand, in the graph's order
        mods, cur = [], "input"
        while True:
            (cur,) = [b for a, b in graph.edges if a == cur]
            node = graph.nodes[cur]
            if isinstance(node, nir.Output):
                break
            mods.append(CubaLIReadout(node) if isinstance(node, nir.CubaLI) else mapped(node))
        net = torch.nn.Sequential(*mods)
        pops = [m for m in mods if isinstance(m, (snn.Synaptic, snn.RSynaptic))]
        # its RSynaptic with init_hidden and reset_delay=False (what the importer builds) fails in
        # forward (it divides its spike argument, None there); the default reset_delay=True runs:
        # the reset one step late, as spikeflux's (the interpreter's "peers, delayed reset")
        for m in pops:
            if isinstance(m, snn.RSynaptic):
                m.reset_delay = True
    rec = {}
    for layer, m in enumerate(pops):
        m.register_forward_hook(lambda mod, i, o, layer=layer: rec.setdefault(layer, []).append((o if torch.is_tensor(o) else o[0]).detach().numpy().copy()))
    snntorch.utils.reset(net)
    xs = torch.from_numpy(x)
    outs, state = [], None
    with torch.no_grad():
        for t in range(x.shape[0]):
            r = net(xs[t]) if state is None else net(xs[t], state)
            o, state = r if isinstance(r, tuple) else (r, None)
            outs.append(o.numpy().copy())
    return np.stack(outs), [np.stack(rec[l]) for l in sorted(rec)]


def dice(a, b, max_shift=8):
    """Best Dice coefficient of two spike arrays [T, B, n] over time shifts of -max_shift..max_shift
    steps, and that shift (positive: `a` lags `b`)."""
    best = (-1.0, 0)
    t = a.shape[0]
    for s in range(-max_shift, max_shift + 1):
        x, y = (a[s:], b[: t - s]) if s >= 0 else (a[: t + s], b[-s:])
        tot = x.sum() + y.sum()
        d = 2 * (x * y).sum() / tot if tot > 0 else 1.0
        best = max(best, (float(d), s), key=lambda p: (p[0], -abs(p[1])))
    return best


def report_runs(runs, labels, dt, ref_key):
    """Prints and returns accuracy (if labels), prediction agreement and per-layer spike agreement
    of every run against runs[ref_key]."""
    preds = {k: v[0].max(axis=0).argmax(axis=1) for k, v in runs.items()}
    ref_spk = runs[ref_key][1]
    out = {}
    print(f"{'run':<30} {'test acc':>8} {'same pred':>9}  per layer: rate (Hz), spike agreement with {ref_key} (Dice @ shift)")
    for k, (trace, spk) in runs.items():
        acc = float((preds[k] == labels).mean()) if labels is not None else None
        same = float((preds[k] == preds[ref_key]).mean())
        layers = []
        for l, sp in enumerate(spk):
            dc, shift = dice(sp, ref_spk[l])
            layers.append({"rate_hz": float(sp.mean() / dt), "dice": dc, "shift": shift})
        out[k] = {"test_acc": acc, "same_prediction": same, "layers": layers}
        lay = "; ".join(f"{x['rate_hz']:.1f} Hz, {x['dice']:.3f} @ {x['shift']}" for x in layers)
        print(f"{k:<30} {'-' if acc is None else f'{acc:.3f}':>8} {same:>9.3f}  {lay}")
    return out


def explain(runs, pairs):
    """Each interpreter order against the engine it should equal: unshifted spike Dice per layer
    and the largest readout difference."""
    out = []
    for k, ref in pairs:
        agree = [dice(runs[k][1][l], runs[ref][1][l], 0)[0] for l in range(len(runs[ref][1]))]
        dv = float(np.abs(runs[k][0] - runs[ref][0]).max())
        out.append({"interpreter": k, "engine": ref, "dice_unshifted": agree, "readout_max_abs_diff": dv})
        print(f"{k} vs {ref}: spike Dice (no shift) {['%.4f' % v for v in agree]}, readout max |diff| {dv:.2e}")
    return out


def export_direction(a):
    """spikeflux's trained network -> NIR -> Norse and snnTorch."""
    import nir
    import spikeflux

    out = a.out or tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    data_json = os.path.join(out, "data.json")
    sh(a.spikeflux, "data", "export", "--config", a.config, "--out", data_json)
    d = json.load(open(data_json))
    dt, t_steps, n_in = d["dt"], d["t_steps"], d["n_in"]
    test = d["splits"]["test"]
    labels = np.asarray(test["labels"])
    x = dense_inputs(test, t_steps, n_in)
    files = {}
    for who, reader_dt in [("norse", dt), ("snntorch", 1e-4)]:
        files[who] = os.path.join(out, f"{who}.nir")
        sh(a.spikeflux, "nir", "export", "--config", a.config, "--weights", a.weights, "--out", files[who], "--discretization", "euler", "--reader-dt", str(reader_dt))
    # spikeflux itself, from its own NIR import (the same network bit for bit)
    net = spikeflux.Network.from_nir(files["norse"])
    r = net.run(np.ascontiguousarray(x.transpose(1, 0, 2)).astype(np.uint8), record=True)
    runs = {"spikeflux": (r["readout"].transpose(1, 0, 2), [s.transpose(1, 0, 2) for s in r["spikes"]])}
    runs["norse"] = run_norse(nir.read(files["norse"]), x, dt, len(runs["spikeflux"][1]))
    runs["snntorch"] = run_snntorch(nir.read(files["snntorch"]), x)
    g = nir.read(files["norse"])
    runs["numpy, spikeflux order"] = interpret(g, x, "spikeflux", dt)
    runs["numpy, peers' order"] = interpret(g, x, "peers", dt)
    recurrent = any(w is not None for _, _, w in chain(g)[:-1])
    if recurrent:
        runs["numpy, delayed reset"] = interpret(g, x, "peers, delayed reset", dt)
    print(f"{a.config}: {len(labels)} test samples, T = {t_steps} x {dt * 1e3:g} ms, hidden layers {[s.shape[2] for s in runs['spikeflux'][1]]}")
    report = {"direction": "export", "config": a.config, "weights": a.weights, "dt": dt, "t_steps": t_steps, "test_samples": int(len(labels))}
    report["runs"] = report_runs(runs, labels, dt, "spikeflux")
    report["step_order"] = str(g.metadata.get("spikeflux_step_order", "reference"))
    report["explained"] = explain(runs, [("numpy, spikeflux order", "spikeflux"), ("numpy, peers' order", "norse"), ("numpy, delayed reset" if recurrent else "numpy, peers' order", "snntorch")])
    path = os.path.join(out, "nir_peers_export.json")
    json.dump(report, open(path, "w"), indent=1)
    print(f"report: {path}")


def import_direction(a):
    """CubaLIF networks built and exported by snnTorch and by Norse -> spikeflux."""
    import nir
    import spikeflux
    import torch

    out = a.out or tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    torch.manual_seed(a.seed)
    n_in, n_h, n_out, t_steps, batch = 16, 24, 5, 300, 16
    x = (rng.random((t_steps, batch, n_in)) < 0.04).astype(np.float32)
    xs = torch.from_numpy(x)
    report = {"direction": "import", "seed": a.seed, "inputs": [t_steps, batch, n_in]}

    # snnTorch: Linear -> RSynaptic (recurrent, all-to-all; snnTorch's default reset_delay=True) ->
    # Linear -> Synaptic whose threshold is never reached (its membrane is the output; spikeflux reads it with --last-as-readout).
    # Per-neuron parameters: snnTorch's exporter leaves scalar ones without a shape (snnTorch#410).
    import snntorch as snn
    import snntorch.utils
    from snntorch.export_nir import export_to_nir

    full = lambda n, v: torch.full((n,), float(v))
    net = torch.nn.Sequential(
        torch.nn.Linear(n_in, n_h, bias=False),
        snn.RSynaptic(alpha=full(n_h, 0.8), beta=full(n_h, 0.9), threshold=full(n_h, 0.5), linear_features=n_h, init_hidden=True, reset_mechanism="zero"),
        torch.nn.Linear(n_h, n_out, bias=False),
        snn.Synaptic(alpha=full(n_out, 0.7), beta=full(n_out, 0.85), threshold=full(n_out, 1e6), init_hidden=True, output=True),
    )
    with torch.no_grad():
        net[0].weight.mul_(1.5)
        net[1].recurrent.weight.mul_(0.3)
        net[1].recurrent.bias.zero_()  # spikeflux's connections have no bias
    g = export_to_nir(net, torch.zeros(1, n_in), ignore_dims=[0])
    path = os.path.join(out, "snntorch_net.nir")
    nir.write(path, g)
    spikes, outs = [], []
    net[1].register_forward_hook(lambda m, i, o: spikes.append(o.detach().numpy().copy()))
    snntorch.utils.reset(net)
    with torch.no_grad():
        for t in range(t_steps):
            *_, mem = net(xs[t])  # (spk, syn, mem) of the last Synaptic
            outs.append(mem.numpy().copy())
    runs = {"snntorch": (np.stack(outs), [np.stack(spikes)])}
    sf = spikeflux.Network.from_nir(path, dt=1e-4, last_as_readout=True)
    r = sf.run(np.ascontiguousarray(x.transpose(1, 0, 2)).astype(np.uint8), record=True)
    runs["spikeflux"] = (r["readout"].transpose(1, 0, 2), [s.transpose(1, 0, 2) for s in r["spikes"]])
    sf = spikeflux.Network.from_nir(path, dt=1e-4, last_as_readout=True, step_order="snntorch")
    r = sf.run(np.ascontiguousarray(x.transpose(1, 0, 2)).astype(np.uint8), record=True)
    runs["spikeflux, step_order snntorch"] = (r["readout"].transpose(1, 0, 2), [s.transpose(1, 0, 2) for s in r["spikes"]])
    g = nir.read(path)
    runs["numpy, spikeflux order"] = interpret(g, x, "spikeflux", 1e-4)
    runs["numpy, delayed reset"] = interpret(g, x, "peers, delayed reset", 1e-4)
    print(f"snnTorch's network ({n_in} -> {n_h} recurrent -> {n_out}), {batch} random inputs x {t_steps} steps, read by spikeflux at dt = 1e-4 s:")
    report["snntorch"] = {"runs": report_runs(runs, None, 1e-4, "snntorch"), "explained": explain(runs, [("numpy, delayed reset", "snntorch"), ("numpy, spikeflux order", "spikeflux"), ("numpy, delayed reset", "spikeflux, step_order snntorch")])}

    # Norse: Linear -> LIFCell -> Linear -> LIFCell whose threshold is never reached. Norse's
    # exporter writes tau = dt * tau (it divides its dt by tau_inv): dt = 1 gives the true time
    # constants. Compared with Norse's own reading of the file (norse.torch.from_nir).
    import norse.torch as norse

    dt = 1e-3
    # per-neuron parameters: nir cannot write the 0-d arrays scalar ones export as
    p = lambda n, th: norse.LIFParameters(tau_syn_inv=torch.full((n,), 200.0), tau_mem_inv=torch.full((n,), 100.0), v_leak=torch.zeros(n), v_th=torch.full((n,), th))
    model = norse.SequentialState(torch.nn.Linear(n_in, n_h, bias=False), norse.LIFCell(p(n_h, 0.3)), torch.nn.Linear(n_h, n_out, bias=False), norse.LIFCell(p(n_out, 1e6)))
    with torch.no_grad():
        model[0].weight.mul_(20.0)
    g = norse.to_nir(model, torch.zeros(n_in), dt=1.0)
    path = os.path.join(out, "norse_net.nir")
    nir.write(path, g)
    g = nir.read(path)
    ours = run_norse(g, x, dt, 1)  # Norse's importer, hooks on its CubaLIF modules
    runs = {"norse": ours}
    sf = spikeflux.Network.from_nir(path, dt=dt, last_as_readout=True)
    r = sf.run(np.ascontiguousarray(x.transpose(1, 0, 2)).astype(np.uint8), record=True)
    runs["spikeflux"] = (r["readout"].transpose(1, 0, 2), [s.transpose(1, 0, 2) for s in r["spikes"]])
    sf = spikeflux.Network.from_nir(path, dt=dt, last_as_readout=True, step_order="nir")
    r = sf.run(np.ascontiguousarray(x.transpose(1, 0, 2)).astype(np.uint8), record=True)
    runs["spikeflux, step_order nir"] = (r["readout"].transpose(1, 0, 2), [s.transpose(1, 0, 2) for s in r["spikes"]])
    runs["numpy, spikeflux order"] = interpret(g, x, "spikeflux", dt)
    runs["numpy, peers' order"] = interpret(g, x, "peers", dt)
    print(f"Norse's network ({n_in} -> {n_h} -> {n_out}), the same inputs, read by Norse and by spikeflux at dt = {dt} s:")
    report["norse"] = {"runs": report_runs(runs, None, dt, "norse"), "explained": explain(runs, [("numpy, peers' order", "norse"), ("numpy, spikeflux order", "spikeflux"), ("numpy, peers' order", "spikeflux, step_order nir")])}
    path = os.path.join(out, "nir_peers_import.json")
    json.dump(report, open(path, "w"), indent=1)
    print(f"report: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="spikeflux's trained network -> NIR -> Norse and snnTorch")
    e.add_argument("--config", required=True)
    e.add_argument("--weights", required=True)
    e.add_argument("--spikeflux", default="target/release/spikeflux")
    e.add_argument("--out", default=None, help="keep the exported graphs and the JSON report here")
    i = sub.add_parser("import", help="networks built and exported by snnTorch and Norse -> spikeflux")
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--out", default=None)
    a = ap.parse_args()
    export_direction(a) if a.cmd == "export" else import_direction(a)


if __name__ == "__main__":
    main()

"""The golden cases of tools/make_golden.py (an independent PyTorch autograd implementation of the
reference, f64) as spikeflux configs, and the loss they were made with written in NumPy."""

import json
import os

import numpy as np

import spikeflux

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "spikeflux-core", "tests", "fixtures", "golden.json")


def cases():
    """Every case a config can express: all but the Dale ones (their reference tensors are blocks
    of spikeflux's, and their E:I ratios are not all integers)."""
    with open(FIXTURE) as f:
        return [c for c in json.load(f)["cases"] if not any("dale" in l for l in c["layers"])]


def config(case):
    lines = [
        'name = "golden"',
        "[data.hdf5]",
        'train_file = "unused.h5"',
        'test_file = "unused.h5"',
        f"n_steps = {case['T']}",
        f"n_in = {case['n_in']}",
        f"n_classes = {case['n_out']}",
        "[model]",
        "dt = 1e-3",
        "surrogate_beta = 20.0",
    ]
    if "input_shape" in case:
        lines.append(f"input_shape = {case['input_shape']}")
    if "step_order" in case:
        lines.append(f'step_order = "{case["step_order"]}"')
    for l in case["layers"]:
        lines += ["[[model.hidden]]", f"size = {l['size']}", f"recurrent = {str(l['recurrent']).lower()}",
                  f"tau_mem = {l['tau_mem']}", f"tau_syn = {l['tau_syn']}"]
        if "adaptation" in l:
            lines.append(f"adaptation = {{ tau_ada = {l['adaptation'][0]}, a = {l['adaptation'][1]} }}")
        for k, v in l.get("conv", {}).items():
            lines.append(f"{k} = {v}")
        if "pool" in l:
            lines.append(f"pool = {l['pool']}")
    lines += ["[model.readout]", "tau_mem = 50e-3", "tau_syn = 10e-3", "initial_state = -1e-2",
              "[init]", 'method = "fluctuation-driven"', "sigma_u = 1.0", "nu = 5.0", 'readout = "scaled-normal"',
              "[train]", "epochs = 1", "batch_size = 4", 'optimizer = "adam"', "lr = 1e-3", "seed = 1",
              f'loss = "{case["loss"]}"']
    for r in case["regs"]:
        lines += ["[[train.regularizer]]", f'bound = "{r["bound"]}"', f"strength = {r['strength']}",
                  f"threshold = {r['threshold']}", f'scope = "{r["scope"]}"']
    return spikeflux.Config.from_toml("\n".join(lines))


def network(case):
    net = spikeflux.Network.from_config(config(case))
    net.set_weights({k: np.array(v) for k, v in case["weights"].items()})
    return net


def inputs(case):
    """The case's inputs [B, T, n_in]: spikes, or event counts (repeated events add up) where the
    case has counts (pass counts=case.get("counts", False) with them)."""
    x = np.zeros((case["B"], case["T"], case["n_in"]), dtype=np.uint8)
    for i, events in enumerate(case["events"]):
        for t, u in events:
            x[i, t, u] = x[i, t, u] + 1 if case.get("counts") else 1
    return x, np.array(case["labels"])


def layer_shapes(case):
    """(channels, positions) of each hidden layer's neurons, as PyTorch flattens them: a line
    [C, L] or an image [C, H, W] (per-axis kernel, stride and padding; pooling p x p on images)."""
    shape = case.get("input_shape", [case["n_in"], 1])
    c, dims = shape[0], list(shape[1:])
    shapes = []
    for l in case["layers"]:
        if "conv" in l:
            cv = l["conv"]
            axes = lambda v: list(v) if isinstance(v, list) else [v] * len(dims)
            k, s, pad = axes(cv["kernel"]), axes(cv["stride"]), axes(cv["padding"])
            dims = [(d + 2 * q - kk) // ss + 1 for d, kk, ss, q in zip(dims, k, s, pad)]
            c = l["size"]
        else:
            c, dims = l["size"], [1]
        shapes.append((c, int(np.prod(dims))))
        dims = [d // l.get("pool", 1) for d in dims]
    return shapes


def loss_and_seeds(case, readout, counts):
    """The reference loss (spec §1.6, §4.0: cross-entropy of the class scores, batch mean, plus the
    regularizers on each layer's counts) and its gradient w.r.t. readout [B, T, C] and counts [B, n_l]."""
    readout = readout.astype(np.float64)
    b, t, c = readout.shape
    kind = case["loss"]
    if kind == "max-over-time":
        at = readout.argmax(axis=1)
        z = np.take_along_axis(readout, at[:, None, :], axis=1)[:, 0]
    elif kind == "sum-over-time":
        z = readout.sum(axis=1)
    else:
        z = readout[:, -1]
    y = np.array(case["labels"])
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    ce = np.mean(lse - z[np.arange(b), y])
    dz = np.exp(z - lse[:, None])
    dz[np.arange(b), y] -= 1
    dz /= b
    g = np.zeros_like(readout)
    if kind == "max-over-time":
        np.put_along_axis(g, at[:, None, :], dz[:, None, :], axis=1)
    elif kind == "sum-over-time":
        g[:] = dz[:, None, :]
    else:
        g[:, -1] = dz
    reg, gcs = 0.0, []
    for cnt, (ch, pos) in zip(counts, layer_shapes(case)):
        cnt = cnt.astype(np.float64)
        gc = np.zeros_like(cnt)
        for r in case["regs"]:
            sign = 1.0 if r["bound"] == "upper" else -1.0
            x = cnt.reshape(b, ch, pos)
            if r["scope"] == "population":
                mean = x.mean(axis=(1, 2), keepdims=True)
            elif r["scope"] == "channel":
                mean = x.mean(axis=2, keepdims=True)
            else:
                mean = x
            e = np.maximum(sign * (mean - r["threshold"]), 0.0)
            reg += r["strength"] * np.mean(e ** 2)
            de = 2 * r["strength"] * e * sign / e.size
            gc += np.broadcast_to(de / (x.size // e.size) * b, x.shape).reshape(b, -1) / b
        gcs.append(gc)
    return ce, reg, g, gcs


def close(got, want, what):
    """1e-4 relative, with a floor of 5e-5 of the tensor's largest entry (as the Rust golden test)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = np.abs(want).max()
    bad = np.abs(got - want) > 1e-4 * np.abs(want) + 5e-5 * scale
    assert not bad.any(), f"{what}: {bad.sum()} of {bad.size} entries differ, e.g. {got[bad][:3]} vs {want[bad][:3]}"

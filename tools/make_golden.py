"""Writes golden BPTT values from the independent PyTorch implementation (tools/reference_torch.py).

Spiking mode, reset on, f64; inputs binary, or event counts where a case says `counts`. Cases are chosen so that no membrane sits within 1e-3 of the threshold
(2e-4 for the two 2-D cases, whose many neurons rarely all keep 1e-3 away; otherwise f32 vs f64
rounding could flip a spike) and every weight tensor gets a non-zero gradient. Output: crates/spikeflux-core/tests/fixtures/golden.json

    /opt/refvenv/bin/python tools/make_golden.py    # torch version and seeds are recorded in the file
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from reference_torch import ReferenceNet, loss_fn  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "spikeflux-core", "tests", "fixtures", "golden.json")

CASES = [
    dict(name="ff-2layer", n_in=6, n_out=3, T=40, B=4, p=0.15, scale=4.0, loss="max-over-time",
         layers=[dict(size=8, recurrent=False, tau_mem=20e-3, tau_syn=10e-3),
                 dict(size=5, recurrent=False, tau_mem=20e-3, tau_syn=10e-3)],
         regs=[dict(bound="upper", strength=0.1, threshold=1.0, scope="population"),
               dict(bound="lower", strength=1.0, threshold=0.5, scope="neuron")]),
    dict(name="recurrent-adaptive", n_in=5, n_out=4, T=50, B=3, p=0.2, scale=4.0, loss="max-over-time",
         layers=[dict(size=7, recurrent=True, tau_mem=10e-3, tau_syn=5e-3, adaptation=[30e-3, 0.3]),
                 dict(size=6, recurrent=True, tau_mem=20e-3, tau_syn=10e-3)],
         regs=[dict(bound="upper", strength=0.05, threshold=2.0, scope="neuron")]),
    dict(name="sum-and-last", n_in=4, n_out=2, T=30, B=2, p=0.25, scale=5.0, loss="sum-over-time",
         layers=[dict(size=6, recurrent=True, tau_mem=15e-3, tau_syn=5e-3)], regs=[]),
    dict(name="last-step", n_in=4, n_out=2, T=30, B=2, p=0.25, scale=5.0, loss="last-step",
         layers=[dict(size=6, recurrent=False, tau_mem=15e-3, tau_syn=5e-3)], regs=[]),
    dict(name="rcsnn-small", n_in=2 * 24, input_shape=[2, 24], n_out=3, T=40, B=3, p=0.15, scale=4.0,
         loss="max-over-time",
         layers=[dict(size=4, recurrent=True, tau_mem=20e-3, tau_syn=10e-3,
                      conv=dict(kernel=5, stride=2, padding=1, rec_kernel=5), pool=2),
                 dict(size=3, recurrent=True, tau_mem=20e-3, tau_syn=10e-3,
                      conv=dict(kernel=3, stride=1, padding=0, rec_kernel=3)),
                 dict(size=5, recurrent=False, tau_mem=20e-3, tau_syn=10e-3)],
         regs=[dict(bound="upper", strength=0.05, threshold=1.0, scope="channel"),
               dict(bound="lower", strength=0.5, threshold=0.5, scope="population")]),
    dict(name="dale", n_in=6, n_out=3, T=50, B=3, p=0.2, scale=4.0, loss="max-over-time", positive=True,
         layers=[dict(size=6, recurrent=True, tau_mem=20e-3, tau_syn=10e-3, dale=dict(n_inh=3, tau_inh=20e-3)),
                 dict(size=5, recurrent=False, tau_mem=20e-3, tau_syn=10e-3, dale=dict(n_inh=2, tau_inh=5e-3))],
         regs=[dict(bound="upper", strength=0.05, threshold=1.0, scope="population"),
               dict(bound="lower", strength=0.5, threshold=0.5, scope="neuron")]),
    # the step order of Norse and snnTorch reading NIR (model.step_order = "nir")
    dict(name="ff-2layer-nir", step_order="nir", n_in=6, n_out=3, T=40, B=4, p=0.15, scale=4.0, loss="max-over-time",
         layers=[dict(size=8, recurrent=False, tau_mem=20e-3, tau_syn=10e-3),
                 dict(size=5, recurrent=False, tau_mem=20e-3, tau_syn=10e-3)],
         regs=[dict(bound="upper", strength=0.1, threshold=1.0, scope="population"),
               dict(bound="lower", strength=1.0, threshold=0.5, scope="neuron")]),
    dict(name="recurrent-nir", step_order="nir", n_in=5, n_out=4, T=50, B=3, p=0.2, scale=4.0, loss="sum-over-time",
         layers=[dict(size=7, recurrent=True, tau_mem=10e-3, tau_syn=5e-3),
                 dict(size=6, recurrent=True, tau_mem=20e-3, tau_syn=10e-3)],
         regs=[dict(bound="upper", strength=0.05, threshold=2.0, scope="neuron")]),
    dict(name="recurrent-snntorch", step_order="snntorch", n_in=5, n_out=4, T=50, B=3, p=0.2, scale=4.0,
         loss="max-over-time",
         layers=[dict(size=7, recurrent=True, tau_mem=10e-3, tau_syn=5e-3),
                 dict(size=6, recurrent=False, tau_mem=20e-3, tau_syn=10e-3)],
         regs=[dict(bound="lower", strength=0.5, threshold=0.5, scope="neuron")]),
    dict(name="rcsnn-small-nir", step_order="nir", n_in=2 * 24, input_shape=[2, 24], n_out=3, T=40, B=3, p=0.15,
         scale=4.0, loss="last-step",
         layers=[dict(size=4, recurrent=True, tau_mem=20e-3, tau_syn=10e-3,
                      conv=dict(kernel=5, stride=2, padding=1, rec_kernel=5), pool=2),
                 dict(size=3, recurrent=True, tau_mem=20e-3, tau_syn=0.0,
                      conv=dict(kernel=3, stride=1, padding=0, rec_kernel=3)),
                 dict(size=5, recurrent=False, tau_mem=20e-3, tau_syn=10e-3)],
         regs=[dict(bound="upper", strength=0.05, threshold=1.0, scope="channel"),
               dict(bound="lower", strength=0.5, threshold=0.5, scope="population")]),
    # 2-D convolutions with max-pooling on event counts (notebook 05's layers, small): square and
    # per-axis kernels, strides and paddings, a recurrent 2-D convolution, a dense layer after them
    dict(name="conv2d-counts", n_in=2 * 5 * 6, input_shape=[2, 5, 6], counts=True, n_out=3, T=25, B=2, p=0.1, margin=2e-4,
         scale=7.0, loss="max-over-time",
         layers=[dict(size=4, recurrent=False, tau_mem=20e-3, tau_syn=10e-3,
                      conv=dict(kernel=[3, 3], stride=[1, 1], padding=[2, 2], rec_kernel=5), pool=2),
                 dict(size=3, recurrent=True, tau_mem=20e-3, tau_syn=10e-3,
                      conv=dict(kernel=[3, 2], stride=[2, 1], padding=[1, 0], rec_kernel=3)),
                 dict(size=5, recurrent=False, tau_mem=20e-3, tau_syn=10e-3)],
         regs=[dict(bound="upper", strength=0.05, threshold=1.0, scope="channel"),
               dict(bound="lower", strength=0.5, threshold=0.5, scope="population")]),
    dict(name="dvs-like", n_in=2 * 6 * 6, input_shape=[2, 6, 6], counts=True, n_out=4, T=25, B=2, p=0.1, margin=2e-4,
         scale=7.0, loss="max-over-time",
         layers=[dict(size=4, recurrent=False, tau_mem=20e-3, tau_syn=10e-3,
                      conv=dict(kernel=[3, 3], stride=[1, 1], padding=[2, 2], rec_kernel=5)),
                 dict(size=4, recurrent=False, tau_mem=20e-3, tau_syn=10e-3,
                      conv=dict(kernel=[3, 3], stride=[1, 1], padding=[2, 2], rec_kernel=5), pool=2),
                 dict(size=6, recurrent=False, tau_mem=20e-3, tau_syn=10e-3,
                      conv=dict(kernel=[3, 3], stride=[1, 1], padding=[2, 2], rec_kernel=5), pool=2)],
         regs=[dict(bound="upper", strength=0.01, threshold=1.0, scope="channel")]),
]


def build(case, seed):
    g = torch.Generator().manual_seed(seed)
    net = ReferenceNet(case["n_in"], case["n_out"], case["layers"],
                       dict(tau_mem=50e-3, tau_syn=10e-3, initial_state=-1e-2), dt=1e-3, beta=20.0,
                       dtype=torch.float64, input_shape=case.get("input_shape"),
                       step_order=case.get("step_order", "reference"))
    with torch.no_grad():
        for name, w in net.named_weights():
            # round to f32 so both implementations start from the same numbers
            fan_in = w[0].numel()
            r = torch.randn(w.shape, generator=g, dtype=torch.float64)
            if case.get("positive") and not name.startswith("readout"):
                r = r.abs()  # Dale layers: non-negative weights
            w.copy_((r * case["scale"] / fan_in ** 0.5).float().double())
    x = (torch.rand(case["B"], case["T"], case["n_in"], generator=g) < case["p"]).double()
    if case.get("counts"):
        # event counts 0..3 per unit and step (ToFrame without bool_spiketrain)
        for q in (2, 4):
            x = x + (torch.rand(x.shape, generator=g) < case["p"] / q).double()
    labels = torch.arange(case["B"]) % case["n_out"]
    return net, x, labels


def layer_counts(case, spikes):
    """Spike totals of each layer's output group (a Dale layer: its E group, the first of two)."""
    out, k = [], 0
    for l in case["layers"]:
        out.append(spikes[k].sum().item())
        k += 2 if l.get("dale") else 1
    return out


def main():
    out = dict(torch_version=torch.__version__, generator="tools/make_golden.py", dtype="float64", cases=[])
    for case in CASES:
        for seed in range(1000):
            net, x, labels = build(case, seed)
            V, spikes, mems = net(x)
            margin = min((m - 1.0).abs().min().item() for m in mems)
            n_spikes = sum(s.sum().item() for s in spikes)
            if margin < case.get("margin", 1e-3) or n_spikes < 10 or any(s.sum().item() == 0 for s in spikes):
                continue
            groups = [g for l in case["layers"] for g in ([l["size"], l["dale"]["n_inh"]] if l.get("dale") else [l["size"]])]
            ce, reg, _ = loss_fn(V, spikes, labels, case["loss"], case["regs"], channels=groups)
            (ce + reg).backward()
            if any(w.grad.abs().max().item() == 0 for _, w in net.named_weights()):
                continue  # a vanishing gradient would make the comparison vacuous
            # a count is that many repeated events
            events = [[[t, u] for t in range(case["T"]) for u in range(case["n_in"]) for _ in range(int(x[b, t, u]))]
                      for b in range(case["B"])]
            out["cases"].append(dict(
                case, seed=seed, threshold_margin=margin, events=events, labels=labels.tolist(),
                weights={n: w.detach().tolist() for n, w in net.named_weights()},
                grads={n: w.grad.tolist() for n, w in net.named_weights()},
                ce=ce.item(), reg=reg.item(), spike_counts=layer_counts(case, spikes),
                readout=V.detach().tolist()))
            print(f"{case['name']}: seed {seed}, margin {margin:.2e}, spikes {n_spikes:.0f}")
            break
    with open(OUT, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()

"""spikeflux.torch.SpikingNetwork inside PyTorch's autograd: the golden gradients of the independent
reference (tools/reference_torch.py) to 1e-4 relative, with the loss written in torch. Needs torch,
which CI does not install (it is large): these tests are skipped there, with the reason, and run
where torch is (BENCHMARKS.md, "Python: the PyTorch layer")."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (CI keeps it out; pip install torch to run these)")

import golden  # noqa: E402
import spikeflux  # noqa: E402
from spikeflux.torch import SpikingNetwork  # noqa: E402


def torch_loss(case, readout, counts):
    kind = case["loss"]
    z = readout.max(dim=1).values if kind == "max-over-time" else readout.sum(dim=1) if kind == "sum-over-time" else readout[:, -1]
    loss = torch.nn.functional.cross_entropy(z.double(), torch.tensor(case["labels"]))
    b = readout.shape[0]
    for cnt, (ch, pos) in zip(counts, golden.layer_shapes(case)):
        x = cnt.double().reshape(b, ch, pos)
        for r in case["regs"]:
            mean = x.mean(dim=(1, 2)) if r["scope"] == "population" else x.mean(dim=2) if r["scope"] == "channel" else x
            e = torch.relu((mean - r["threshold"]) if r["bound"] == "upper" else (r["threshold"] - mean))
            loss = loss + r["strength"] * (e ** 2).mean()
    return loss


@pytest.mark.parametrize("case", golden.cases(), ids=lambda c: c["name"])
def test_module_gradients_match_the_reference(case):
    snn = SpikingNetwork(golden.network(case))
    x, _ = golden.inputs(case)
    readout, counts = snn(torch.from_numpy(x), return_counts=True, counts=case.get("counts", False))
    loss = torch_loss(case, readout, counts)
    assert abs(loss.item() - (case["ce"] + case["reg"])) <= 1e-4 * (case["ce"] + case["reg"])
    loss.backward()
    grads = {n: p.grad for n, p in snn.named_parameters()}
    assert grads.keys() == case["grads"].keys()
    for name, want in case["grads"].items():
        golden.close(grads[name].numpy(), want, name)


def test_a_plain_torch_loop_trains_and_saves():
    cfg = spikeflux.Config.default()
    cfg["data.randman.samples_per_class"] = 30
    data = cfg.load_data()["train"]
    x, y = torch.from_numpy(data["inputs"]), torch.from_numpy(data["labels"])
    snn = SpikingNetwork.from_config(cfg)
    assert list(snn.state_dict()) == snn.network.tensor_names
    opt = torch.optim.Adam(snn.parameters(), lr=2e-3)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(snn(x).max(dim=1).values, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.95 * losses[0], losses
    net = snn.to_network()
    for name, w in net.weights().items():
        np.testing.assert_array_equal(w, snn.state_dict()[name].numpy())


def test_input_gradients_are_refused_with_the_fix():
    snn = SpikingNetwork.from_config(spikeflux.Config.default())
    x = torch.zeros(2, 100, 20, requires_grad=True)
    with pytest.raises(ValueError, match="detach"):
        snn(x)


def test_constrain_restores_the_dale_layers_after_a_step():
    cfg = spikeflux.Config.load(os.path.join(os.path.dirname(__file__), "..", "..", "..", "configs", "digits-dale.toml"))
    cfg["init.nu"] = 5.0
    snn = SpikingNetwork.from_config(cfg)
    before = {n: p.detach().clone() for n, p in snn.named_parameters()}
    with torch.no_grad():
        for p in snn.parameters():
            p.sub_(0.05)  # an update that makes some Dale weights negative and absent ones nonzero
    snn.constrain_()
    ref = spikeflux.Network.from_config(cfg)
    ref.set_weights({n: (before[n] - 0.05).numpy() for n in before})
    ref.constrain()
    for name, w in ref.weights().items():
        np.testing.assert_array_equal(snn.state_dict()[name].numpy(), w)
        if name.startswith("hidden"):
            assert (w >= 0).all() and (w == 0).any()
    assert (snn.state_dict()["readout.weight"] < 0).any()  # the readout is not a Dale layer

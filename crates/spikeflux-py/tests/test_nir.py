"""NIR from Python (docs/nir.md): to a file and back without the nir package; to and from
nir.NIRGraph objects with it (skipped where nir is not installed; CI installs it)."""

import numpy as np
import pytest

import spikeflux


def small_config():
    cfg = spikeflux.Config.default()
    cfg.update({"data.randman.samples_per_class": 20, "model.hidden[0].size": 16, "model.hidden[0].recurrent": True})
    return cfg


def inputs():
    rng = np.random.default_rng(0)
    return (rng.random((4, 100, 20)) < 0.05).astype(np.uint8)


def test_to_a_file_and_back_is_the_same_network(tmp_path):
    net = spikeflux.Network.from_config(small_config())
    for disc in ["exact", "euler"]:
        path = tmp_path / f"m-{disc}.nir"
        assert net.to_nir(path, discretization=disc, reader_dt=1e-4 if disc == "euler" else None) is None
        back = spikeflux.Network.from_nir(path)
        for k, w in net.weights().items():
            assert np.array_equal(back.weights()[k], w), k
        assert np.array_equal(back.run(inputs()), net.run(inputs()))
        cfg = spikeflux.Config.from_nir(path, base=small_config())
        assert cfg["model.hidden[0].recurrent"] is True and cfg["model.hidden[0].size"] == 16
        assert cfg["model.dt"] == small_config()["model.dt"]


def test_the_step_order_travels_with_the_graph_and_can_be_overridden(tmp_path):
    cfg = small_config()
    cfg["model.step_order"] = "nir"
    net = spikeflux.Network.from_config(cfg)
    path = tmp_path / "m.nir"
    net.to_nir(path)
    assert spikeflux.Config.from_nir(path)["model.step_order"] == "nir"
    assert np.array_equal(spikeflux.Network.from_nir(path).run(inputs()), net.run(inputs()))
    reference = spikeflux.Network.from_nir(path, step_order="reference")
    assert not np.array_equal(reference.run(inputs()), net.run(inputs()))
    assert spikeflux.Config.from_nir(path, step_order="snntorch")["model.step_order"] == "snntorch"
    with pytest.raises(ValueError, match="step_order"):
        spikeflux.Network.from_nir(path, step_order="lava")
    with pytest.raises(spikeflux.ConfigError, match="step_order") as e:
        cfg["model.hidden[0].adaptation"] = {"tau_ada": 0.1, "a": 0.1}
    assert e.value.field == "model.hidden[0]"


def test_what_nir_cannot_express_names_the_layer(tmp_path):
    cfg = small_config()
    cfg["model.hidden[0].adaptation"] = {"tau_ada": 0.1, "a": 0.1}
    with pytest.raises(spikeflux.NirError, match="adaptation") as e:
        spikeflux.Network.from_config(cfg).to_nir(tmp_path / "m.nir")
    assert e.value.node == "lif0"
    with pytest.raises(ValueError, match="exact"):
        spikeflux.Network.from_config(small_config()).to_nir(tmp_path / "m.nir", discretization="rk4")
    (tmp_path / "bad.nir").write_bytes(b"not a graph")
    with pytest.raises(spikeflux.DataFileError, match="bad.nir"):
        spikeflux.Network.from_nir(tmp_path / "bad.nir")


def test_nir_graph_objects_both_ways():
    nir = pytest.importorskip("nir")
    net = spikeflux.Network.from_config(small_config())
    g = net.to_nir()
    assert isinstance(g, nir.NIRGraph)
    assert isinstance(g.nodes["lif0"], nir.NIRGraph) and isinstance(g.nodes["lif0"].nodes["lif"], nir.CubaLIF)
    assert isinstance(g.nodes["readout"], nir.CubaLI)
    assert np.array_equal(g.nodes["fc0"].weight, net.weights()["hidden.0.ff.weight"])
    assert g.metadata["discretization"] == "exact"
    back = spikeflux.Network.from_nir(g)
    assert np.array_equal(back.run(inputs()), net.run(inputs()))
    # a graph built in Python, Euler at snnTorch's step: the weights carry r·w_in·(dt/τ_syn)/θ
    n = 3
    lif = nir.CubaLIF(
        tau_syn=np.full(n, 1e-4 / 0.1), tau_mem=np.full(n, 1e-4 / 0.2), r=np.full(n, 5.0), v_leak=np.zeros(n),
        v_threshold=np.full(n, 1.0), w_in=np.full(n, 10.0),
    )
    li = nir.CubaLI(tau_syn=np.full(2, 1e-3), tau_mem=np.full(2, 2e-3), r=np.ones(2), v_leak=np.zeros(2), w_in=np.full(2, 10.0))
    w1 = np.arange(12, dtype=np.float32).reshape(3, 4)
    g = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([4])), "fc": nir.Linear(w1), "lif": lif, "fc2": nir.Linear(np.ones((2, 3), np.float32)), "li": li, "out": nir.Output(np.array([2]))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "li"), ("li", "out")],
    )
    net = spikeflux.Network.from_nir(g, dt=1e-4)
    np.testing.assert_allclose(net.weights()["hidden.0.ff.weight"], w1 * 5.0, rtol=1e-6)
    with pytest.raises(spikeflux.NirError, match="--dt") as e:
        spikeflux.Network.from_nir(g)
    assert e.value.node == "(graph)"

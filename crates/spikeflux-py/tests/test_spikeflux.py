"""The Python package: configs, networks, training, errors (run with pytest after installing)."""

import json
import os
import pathlib
import signal
import threading

import numpy as np
import pytest

import spikeflux


def small():
    """The default experiment on a tenth of its data (seconds per epoch)."""
    c = spikeflux.Config.default()
    c["data.randman.samples_per_class"] = 100
    return c


def test_config_reads_sets_and_refuses_with_the_cli_messages():
    c = spikeflux.Config.default()
    assert c["train.lr"] == 0.005
    assert c["model.hidden[0].size"] == 128 == c["model.hidden.0.size"]
    c["model.hidden[0].size"] = 64
    assert c["model.hidden[0].size"] == 64
    with pytest.raises(spikeflux.ConfigError) as e:
        c["train.lr"] = 1e6
    assert e.value.field == "train.lr" and "at most 10" in str(e.value)
    assert c["train.lr"] == 0.005, "a refused change leaves the config as it was"
    with pytest.raises(spikeflux.ConfigError):
        c["train.no_such_field"] = 1
    with pytest.raises(KeyError):
        c["train.no_such_field"]
    c.update({"train.epochs": 3, "train.seed": 7})
    assert (c["train.epochs"], c["train.seed"]) == (3, 7)
    again = spikeflux.Config.from_toml(c.to_toml())
    assert again.to_dict() == c.to_dict()
    with pytest.raises(spikeflux.ConfigError) as e:
        spikeflux.Config.from_toml("name = 3")
    assert isinstance(e.value, spikeflux.SpikefluxError)


def test_config_files_load_and_save(tmp_path):
    c = small()
    p = tmp_path / "c.toml"
    c.save(p)
    assert spikeflux.Config.load(p).to_dict() == c.to_dict()
    with pytest.raises(spikeflux.IOError) as e:
        spikeflux.Config.load(tmp_path / "absent.toml")
    assert "absent.toml" in e.value.path


def test_network_weights_in_torch_layout_round_trip_and_are_checked(tmp_path):
    net = spikeflux.Network.from_config(small(), seed=3)
    w = net.weights()
    assert list(w) == net.tensor_names == ["hidden.0.ff.weight", "readout.weight"]
    assert w["hidden.0.ff.weight"].shape == (128, 20) and w["hidden.0.ff.weight"].dtype == np.float32
    assert w["readout.weight"].shape == (10, 128)
    # the same seed gives the same initialization; another seed another
    assert np.array_equal(spikeflux.Network.from_config(small(), seed=3).weights()["readout.weight"], w["readout.weight"])
    assert not np.array_equal(spikeflux.Network.from_config(small(), seed=4).weights()["readout.weight"], w["readout.weight"])
    new = {"readout.weight": np.arange(1280, dtype=np.float64).reshape(10, 128) / 1280}
    net.set_weights(new)
    assert np.array_equal(net.weights()["readout.weight"], new["readout.weight"].astype(np.float32))
    assert np.array_equal(net.weights()["hidden.0.ff.weight"], w["hidden.0.ff.weight"])
    with pytest.raises(spikeflux.ShapeError):
        net.set_weights({"readout.weight": np.zeros((10, 127))})
    with pytest.raises(KeyError):
        net.set_weights({"hidden.7.ff.weight": np.zeros((1, 1))})
    with pytest.raises(spikeflux.SpikefluxError):
        net.set_weights({"readout.weight": np.full((10, 128), np.nan)})
    p = tmp_path / "w.safetensors"
    net.save(p)
    back = spikeflux.Network.load(small(), p)
    for k, v in net.weights().items():
        assert np.array_equal(back.weights()[k], v)


def test_run_returns_the_readout_traces_and_checks_its_input():
    net = spikeflux.Network.from_config(small(), seed=1)
    rng = np.random.default_rng(0)
    x = rng.random((5, 60, net.n_in)) < 0.05
    y = net.run(x)
    assert y.shape == (5, 60, net.n_out) and y.dtype == np.float32
    assert np.array_equal(net.run(x.astype(np.uint8)), y)
    # each sample's trace depends on that sample alone
    assert np.array_equal(net.run(x[2:3]), y[2:3])
    assert np.abs(y).max() > 0
    # recorded: the hidden layer's spikes and membranes; a spike follows a membrane above 1
    r = net.run(x, record=True)
    assert np.array_equal(r["readout"], y)
    (s,), (u,) = r["spikes"], r["membranes"]
    assert s.shape == u.shape == (5, 60, 128)
    assert set(np.unique(s)) <= {0.0, 1.0} and s.sum() > 0
    assert np.array_equal(s[:, 1:], (u[:, :-1] > 1.0).astype(np.float32)), "S_t = H(U_(t-1) - 1)"
    assert np.all(u[s == 1.0] == 0.0), "the reset zeroes the membrane in a spike's step"
    with pytest.raises(ValueError):
        net.run(x * 0.5)
    with pytest.raises(spikeflux.ShapeError):
        net.run(np.zeros((2, 10, net.n_in + 1)))
    with pytest.raises(spikeflux.ShapeError):
        net.run(np.zeros((10, net.n_in)))


def test_training_is_reproducible_and_reports_every_epoch(tmp_path):
    seen = []
    h1, n1 = spikeflux.train(small(), out=tmp_path / "a", epochs=2, callback=seen.append)
    h2, n2 = spikeflux.train(small(), out=tmp_path / "b", epochs=2)
    assert [r.get("epoch") for r in h1] == [1, 2, None] and h1[-1]["final"]
    assert [r.get("epoch") for r in seen] == [1, 2, None]
    assert 0.0 <= h1[-1]["test_acc"] <= 1.0
    assert (tmp_path / "a" / "weights.safetensors").read_bytes() == (tmp_path / "b" / "weights.safetensors").read_bytes()
    for k, v in n1.weights().items():
        assert np.array_equal(n2.weights()[k], v)
    # a finished run is not trained again
    with pytest.raises(spikeflux.ConfigError) as e:
        spikeflux.train(small(), out=tmp_path / "a", epochs=2, resume=True)
    assert "finished" in str(e.value)


def test_ctrl_c_writes_a_checkpoint_and_resume_ends_exactly(tmp_path):
    # 150 epochs take several seconds however fast the machine: the signal after 1 s lands in
    # training (or in data generation, which stops at the first batch); never after the run
    c = small()
    spikeflux.train(c, out=tmp_path / "whole", epochs=150)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt) as e:
        spikeflux.train(c, out=tmp_path / "cut", epochs=150)
    timer.cancel()
    assert "resume=True" in str(e.value)
    assert (tmp_path / "cut" / "checkpoint.safetensors").exists()
    assert not (tmp_path / "cut" / "weights.safetensors").exists()
    spikeflux.train(c, out=tmp_path / "cut", epochs=150, resume=True)
    assert (tmp_path / "cut" / "weights.safetensors").read_bytes() == (tmp_path / "whole" / "weights.safetensors").read_bytes()


def test_a_callback_that_raises_stops_the_run_with_a_checkpoint(tmp_path):
    def cb(record):
        if record.get("epoch") == 2:
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        spikeflux.train(small(), out=tmp_path / "r", epochs=5, callback=cb)
    assert (tmp_path / "r" / "checkpoint.safetensors").exists()
    history, _ = spikeflux.train(small(), out=tmp_path / "r", epochs=5, resume=True)
    assert [r.get("epoch") for r in history] == [3, 4, 5, None]


def test_the_worker_threads_start_once_per_process(tmp_path):
    spikeflux.train(small(), out=tmp_path / "t", epochs=1)
    with pytest.raises(spikeflux.ConfigError) as e:
        spikeflux.train(small(), out=tmp_path / "u", epochs=1, threads=os.cpu_count() + 1)
    assert e.value.field == "train.threads"


@pytest.mark.parametrize(
    "tau_mem,tau_syn,dt,bar,hat",
    [
        # reference-model.md §2.2, from notebook 00 and stork
        (20e-3, 10e-3, 1e-3, 0.0105073534, 0.0018419481),
        (20e-3, 10e-3, 2e-3, 0.0110322567, 0.0020356106),
        (20e-3, 20e-3, 2e-3, 0.0210056748, 0.0055304215),
        (0.2, 10e-3, 2e-3, 0.0110327811, 0.0002899389),
        (0.7, 10e-3, 2e-3, 0.0110328022, 0.0000857363),
    ],
)
def test_epsilon_matches_the_spec(tau_mem, tau_syn, dt, bar, hat):
    b, h = spikeflux.epsilon(tau_mem, tau_syn, dt)
    assert b == pytest.approx(bar, abs=1e-10) and h == pytest.approx(hat, abs=1e-10)
    b, h = spikeflux.epsilon(tau_mem, tau_syn, dt, mode="analytical")
    assert b == pytest.approx(tau_syn) and h == pytest.approx(tau_syn**2 / (2 * (tau_syn + tau_mem)))


def test_fd_weights_match_the_spec_and_the_initialized_network():
    # reference-model.md §4.2 (notebook 01): sigma_w 2.2164 in -> hidden (N = 20), 2.3214 hidden -> readout
    ff = spikeflux.fd_weights(20, 5.0, tau_mem=20e-3, tau_syn=10e-3, dt=2e-3, sigma_u=1.0)["ff"]
    ro = spikeflux.fd_weights(128, 5.0, tau_mem=0.2, tau_syn=10e-3, dt=2e-3, sigma_u=1.0)["ff"]
    assert ff[0] == 0.0 and ff[1] == pytest.approx(2.2164, abs=1e-4)
    assert ro[1] == pytest.approx(2.3214, abs=1e-4)
    # and the network the default config builds draws from that distribution
    w = spikeflux.Network.from_config(spikeflux.Config.default()).weights()["hidden.0.ff.weight"]
    assert w.std() == pytest.approx(ff[1], rel=0.05)
    rec = spikeflux.fd_weights(100, 5.0, sigma_u=1.0, recurrent_fan_in=50, alpha=0.9)
    # alpha = 0.9 of the variance to the 100 feed-forward inputs, 0.1 to the 50 recurrent ones
    assert set(rec) == {"ff", "rec"}
    assert rec["rec"][1] / rec["ff"][1] == pytest.approx(((0.1 / 50) / (0.9 / 100)) ** 0.5, rel=1e-12)
    with pytest.raises(spikeflux.ConfigError):
        spikeflux.fd_weights(20, 5.0, mu_u=0.9, xi=5.0)
    with pytest.raises(spikeflux.ConfigError):
        spikeflux.epsilon(20e-3, 10e-3, 1e-12)


FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "spikeflux-core" / "tests" / "fixtures"


def test_spike_files_read_exactly_and_round_trip(tmp_path):
    f = spikeflux.read_spikes(FIXTURES / "shd_like_fixture.h5")
    twin = json.loads((FIXTURES / "shd_like_fixture.json").read_text())
    assert len(f["times"]) == len(twin["samples"])
    for i, s in enumerate(twin["samples"]):
        assert np.array_equal(f["times"][i], np.array(s["times_f16_as_f32"], dtype=np.float32))
        assert np.array_equal(f["units"][i], np.array(s["units"], dtype=np.uint32))
        assert f["labels"][i] == s["label"] and f["speakers"][i] == s["speaker"]
    assert f["keys"] == twin["keys"]
    p = tmp_path / "w.h5"
    times = [np.array([0.25, 0.5], dtype=np.float32), np.array([0.125], dtype=np.float32)]
    spikeflux.write_spikes(p, times, [[3, 7], [1]], [1, 0], speakers=[0, 2], keys=["a", "b"])
    back = spikeflux.read_spikes(p)
    assert [t.tolist() for t in back["times"]] == [[0.25, 0.5], [0.125]]
    assert [u.tolist() for u in back["units"]] == [[3, 7], [1]]
    assert back["labels"].tolist() == [1, 0] and back["speakers"].tolist() == [0, 2] and back["keys"] == ["a", "b"]
    (tmp_path / "bad.h5").write_bytes(b"\x89HDF\r\n garbage")
    with pytest.raises(spikeflux.DataFileError) as e:
        spikeflux.read_spikes(tmp_path / "bad.h5")
    assert e.value.path.endswith("bad.h5")
    with pytest.raises(spikeflux.SpikefluxError):
        spikeflux.write_spikes(tmp_path / "x.h5", times, [[3]], [1, 0])


def test_load_data_gives_the_training_data_as_dense_arrays():
    d = small().load_data()
    tr, va, te = d["train"], d["valid"], d["test"]
    assert tr["inputs"].shape == (800, 100, 20) and tr["inputs"].dtype == np.uint8
    assert va["inputs"].shape[0] == te["inputs"].shape[0] == 100
    assert set(np.unique(tr["inputs"])) == {0, 1} and tr["dt"] == 2e-3
    assert tr["labels"].dtype == np.int64 and set(tr["labels"].tolist()) == set(range(10))
    # the same seed generates the same data
    assert np.array_equal(small().load_data()["test"]["inputs"], te["inputs"])


def test_loss_and_grad_match_finite_differences_on_the_readout():
    # the readout does not spike, so the loss is smooth in its weights and central differences apply
    net = spikeflux.Network.from_config(small(), seed=2)
    rng = np.random.default_rng(1)
    x = rng.random((6, 100, net.n_in)) < 0.05
    y = rng.integers(0, net.n_out, 6).tolist()
    loss, g = net.loss_and_grad(x, y)
    assert set(g) == set(net.tensor_names) and g["readout.weight"].shape == (10, 128)
    assert np.isfinite(loss) and loss > 0
    assert np.abs(g["hidden.0.ff.weight"]).sum() > 0, "the surrogate gradient reaches the hidden layer"
    w = net.weights()["readout.weight"].astype(np.float64)
    checked = 0
    for k, j in [(0, 3), (y[0], 10), (5, 64), (9, 127), (y[1], 0)]:
        h = 1e-2
        def at(v):
            m = w.copy()
            m[k, j] = v
            net.set_weights({"readout.weight": m})
            return net.loss_and_grad(x, y)[0]
        fd = (at(w[k, j] + h) - at(w[k, j] - h)) / (2 * h)
        net.set_weights({"readout.weight": w})
        assert g["readout.weight"][k, j] == pytest.approx(fd, rel=2e-2, abs=1e-5), (k, j)
        checked += abs(fd) > 1e-4
    assert checked >= 3, "the checked entries carry gradient"
    # deterministic
    assert net.loss_and_grad(x, y)[0] == loss
    with pytest.raises(ValueError):
        net.loss_and_grad(x, [10] * 6)
    with pytest.raises(spikeflux.ShapeError):
        net.loss_and_grad(x, y[:5])


def test_a_notebook_gets_a_progress_line_per_epoch_and_progress_false_none(tmp_path, monkeypatch, capfd):
    import sys
    import types

    assert not spikeflux._in_notebook()
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert spikeflux._in_notebook()
    cfg = small()
    spikeflux.train(cfg, out=str(tmp_path / "a"), epochs=2)
    err = capfd.readouterr().err
    assert "\r[" in err and "epoch 2/2" in err and "loss" in err
    spikeflux.train(cfg, out=str(tmp_path / "b"), epochs=2, progress=False)
    assert "epoch 2/2" not in capfd.readouterr().err

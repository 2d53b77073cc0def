"""Data helpers (binning, Randman, tonic events, audio) and the science functions (init report,
Fig. 1) of the Python package."""

import os

import numpy as np
import pytest

import spikeflux

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "spikeflux-core", "tests", "fixtures")
WAV = os.path.join(os.path.dirname(__file__), "..", "..", "spikeflux-cochlea", "tests", "fixtures", "fsdd", "0_george_0.wav")


def test_bin_spikes_bins_as_the_readers_do_and_checks_its_input():
    x = spikeflux.bin_spikes([[0.0015, 0.0031, 0.5, -0.1], []], [[1, 2, 0, 0], []], n_in=3, n_steps=10, dt=1e-3)
    assert x.shape == (2, 10, 3) and x.dtype == np.uint8
    want = np.zeros((2, 10, 3), dtype=np.uint8)
    want[0, 1, 1] = want[0, 3, 2] = 1  # 0.5 s is past the grid, -0.1 s before it
    np.testing.assert_array_equal(x, want)
    with pytest.raises(spikeflux.ShapeError, match="2 times for 1 units"):
        spikeflux.bin_spikes([[0.1, 0.2]], [[1]], n_in=3, n_steps=10, dt=1e-3)
    with pytest.raises(spikeflux.ConfigError, match="dt"):
        spikeflux.bin_spikes([[0.1]], [[1]], n_in=3, n_steps=10, dt=0.0)


def test_bin_spikes_equals_the_hdf5_reader_on_the_shd_like_fixture():
    path = os.path.join(FIXTURES, "shd_like_fixture.h5")
    f = spikeflux.read_spikes(path)
    cfg = spikeflux.Config.default()
    cfg["data"] = {"hdf5": {"train_file": path, "test_file": path, "n_steps": 500, "n_in": 700, "n_classes": 20}}
    test = cfg.load_data()["test"]
    x = spikeflux.bin_spikes(f["times"], f["units"], n_in=700, n_steps=500, dt=cfg["model.dt"])
    assert x.sum() > 100
    np.testing.assert_array_equal(x, test["inputs"])
    np.testing.assert_array_equal(f["labels"], test["labels"])


def test_randman_is_the_configs_data_and_names_bad_fields():
    d = spikeflux.randman(samples_per_class=20, n_classes=4, seed=3)
    cfg = spikeflux.Config.default()
    cfg.update({"data.randman.samples_per_class": 20, "data.randman.n_classes": 4, "data.randman.seed": 3})
    want = cfg.load_data()
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(d[split]["inputs"], want[split]["inputs"])
        np.testing.assert_array_equal(d[split]["labels"], want[split]["labels"])
    assert d["train"]["inputs"].shape == (64, 100, 20)
    with pytest.raises(spikeflux.ConfigError, match="no parameter `colour`"):
        spikeflux.randman(colour=3)
    with pytest.raises(spikeflux.ConfigError, match="n_classes"):
        spikeflux.randman(n_classes=0)


def test_tonic_events_bin_like_bin_spikes():
    audio = np.zeros(4, dtype=[("t", "<f8"), ("x", "<i8"), ("p", "<i8")])
    audio["t"], audio["x"] = [1500.0, 3100.0, 3200.0, 9e6], [1, 699, 5, 2]  # microseconds
    x = spikeflux.from_tonic(audio, (700, 1, 1), n_steps=10, dt=1e-3)
    want = spikeflux.bin_spikes([[1.5e-3, 3.1e-3, 3.2e-3, 9.0]], [[1, 699, 5, 2]], n_in=700, n_steps=10, dt=1e-3)[0]
    np.testing.assert_array_equal(x, want)
    # a camera: channel (p·H + y)·W + x
    cam = np.zeros(2, dtype=[("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])
    cam["x"], cam["y"], cam["t"], cam["p"] = [3, 0], [1, 2], [0, 2500], [1, 0]
    x = spikeflux.from_tonic([cam, cam[:1]], (4, 3, 2), n_steps=5, dt=1e-3)
    assert x.shape == (2, 5, 24)
    assert x[0, 0, (1 * 3 + 1) * 4 + 3] == 1 and x[0, 2, 2 * 4] == 1 and x.sum() == 3
    with pytest.raises(spikeflux.ShapeError, match="outside the sensor size"):
        spikeflux.from_tonic(cam, (2, 3, 2), n_steps=5, dt=1e-3)

    class Dataset:  # the interface of a tonic data set
        sensor_size = (4, 3, 2)

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return cam, i % 2

    d = spikeflux.from_tonic_dataset(Dataset(), n_steps=5, dt=1e-3, limit=2)
    assert d["inputs"].shape == (2, 5, 24) and list(d["labels"]) == [0, 1]


def read_wav(path):
    import wave
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
        return x, w.getframerate()


def test_audio_to_spikes_is_seeded_and_shd_like():
    x, rate = read_wav(WAV)
    a = spikeflux.audio_to_spikes(x, rate, seed=1)
    b = spikeflux.audio_to_spikes(x, rate, seed=1)
    c = spikeflux.audio_to_spikes(x, rate, seed=2)
    np.testing.assert_array_equal(a["times"], b["times"])
    np.testing.assert_array_equal(a["units"], b["units"])
    assert not np.array_equal(a["times"], c["times"])
    assert abs(a["duration"] - len(x) / rate) < 1e-12
    assert a["units"].max() < 700 and a["times"].max() <= a["duration"] + 0.01
    assert 1000 < len(a["times"]) < 200000
    with pytest.raises(spikeflux.ShapeError, match="600 s"):
        spikeflux.audio_to_spikes(np.zeros(601 * 100), 100)
    with pytest.raises(ValueError, match="silent"):
        spikeflux.audio_to_spikes(np.zeros(800), 8000)


def test_init_report_measures_the_fd_regime():
    cfg = spikeflux.Config.default()
    cfg["data.randman.samples_per_class"] = 20
    r = spikeflux.Config.init_report(cfg, samples=100)
    (layer,) = r["layers"]
    assert r["config"] == "randman-shallow" and r["samples"] == 100
    assert abs(layer["predicted"]["sd"] - 1.0) < 1e-9  # the config's sigma_u
    assert layer["free_sample"].dtype == np.float32 and layer["free_sample"].size > 1000
    assert [c["name"] for c in r["connections"]] == ["hidden.0.ff.weight", "readout.weight"]


def test_fig1_matches_the_theory():
    r = spikeflux.fig1(neurons=64, seconds=3.0, seed=5)
    assert [row["xi"] for row in r["xi"]] == [1.0, 2.0, 3.0]
    for row in r["xi"]:
        assert abs(row["free_sd"] - row["theory_sd"]) < 0.15 * row["theory_sd"], row
    assert r["raster"].shape[1] == 2 and r["trace"].shape[1] == 2 and r["weights"].size == 5000 * 64
    assert [m["xi"] for m in r["membranes"]] == [1.0, 2.0, 3.0]
    with pytest.raises(spikeflux.ConfigError, match="seconds"):
        spikeflux.fig1(seconds=100.0)


def test_a_network_from_a_config_with_nu_from_data_measures_the_rates_as_training_does():
    cfg = spikeflux.Config.default()
    cfg.update({"data.randman.samples_per_class": 30, "init.nu": "data"})
    net = spikeflux.Network.from_config(cfg)
    rates = net.init_rates_hz
    assert len(rates) == 2 and abs(rates[0] - 5.0) < 0.5  # Randman: one spike per unit in 0.2 s
    assert rates == cfg.init_report(samples=10)["nu_assumed_hz"]
    again = spikeflux.Network.from_config(cfg)
    for k, v in net.weights().items():
        np.testing.assert_array_equal(v, again.weights()[k])
    assert spikeflux.Network.from_config(spikeflux.Config.default()).init_rates_hz is None


def test_constrain_keeps_dale_layers_valid_after_an_update_of_ones_own():
    cfg = spikeflux.Config.load(os.path.join(os.path.dirname(__file__), "..", "..", "..", "configs", "digits-dale.toml"))
    cfg["init.nu"] = 5.0
    net = spikeflux.Network.from_config(cfg)
    w0 = net.weights()
    zeros = {k: v == 0 for k, v in w0.items()}  # the structurally absent connections (and exact zeros)
    net.set_weights({k: v - np.float32(0.05) for k, v in w0.items()})
    net.constrain()
    for k, v in net.weights().items():
        if k.startswith("hidden"):
            assert (v >= 0).all(), k
            assert (v[zeros[k]] == 0).all(), k
            np.testing.assert_array_equal(v[~zeros[k]], np.maximum(w0[k][~zeros[k]] - np.float32(0.05), 0))
        else:
            np.testing.assert_array_equal(v, w0[k] - np.float32(0.05))


def test_tonic_times_on_step_boundaries_bin_exactly():
    # whole microseconds on a 1 ms grid: t = k·1000 µs is step k (a float conversion to seconds
    # puts some of them at k − 1e-12 and in step k − 1)
    ev = np.zeros(300, dtype=[("t", "<i8"), ("x", "<i8"), ("p", "<i8")])
    ev["t"] = np.arange(300) * 1000
    x = spikeflux.from_tonic(ev, (1, 1, 1), n_steps=300, dt=1e-3)
    np.testing.assert_array_equal(x[:, 0], np.ones(300, dtype=np.uint8))
    # float times in another unit take the float path
    ev2 = np.zeros(3, dtype=[("t", "<f8"), ("x", "<i8")])
    ev2["t"] = [0.25, 1.75, 2.5]  # ms
    x = spikeflux.from_tonic(ev2, (1, 1, 1), n_steps=3, dt=1e-3, time_unit=1e-3)
    np.testing.assert_array_equal(x[:, 0], [1, 1, 1])

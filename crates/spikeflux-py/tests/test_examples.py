"""The examples run (small settings) and do what they say."""

import json
import os
import subprocess
import sys

import numpy as np

import spikeflux

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def run(tmp_path, name, *args):
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_notebook01_trains_the_default_config_as_train_does(tmp_path):
    out = run(tmp_path, "notebook01_randman.py", "--epochs", "2", "--out", "py")
    assert "test accuracy" in out and "hidden rate" in out
    spikeflux.train(spikeflux.Config.default(), out=str(tmp_path / "direct"), epochs=2, progress=False)
    a = (tmp_path / "py" / "weights.safetensors").read_bytes()
    assert a == (tmp_path / "direct" / "weights.safetensors").read_bytes()


def test_depth_comparison_writes_a_line_per_run(tmp_path):
    run(tmp_path, "fd_vs_kaiming_depth.py", "--depths", "1", "2", "--epochs", "2", "--samples-per-class", "50", "--out", "d.jsonl")
    rows = [json.loads(l) for l in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert [(r["depth"], r["init"]) for r in rows] == [(1, "fluctuation-driven"), (1, "kaiming"), (2, "fluctuation-driven"), (2, "kaiming")]
    for r in rows:
        assert len(r["initial_rates_hz"]) == r["depth"] and 0.0 <= r["test_acc"] <= 1.0
        if r["init"] == "fluctuation-driven":
            assert min(r["initial_rates_hz"]) > 0.5, r  # every FD layer is active at init


def test_tonic_style_events_train_in_a_users_loop(tmp_path):
    out = run(tmp_path, "tonic_events.py", "--epochs", "15")
    acc = float(out.strip().splitlines()[-1].split()[-2])
    assert acc > 40.0, out  # chance is 10 %
    assert np.isfinite(acc)

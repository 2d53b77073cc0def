"""from_tonic on tonic's own reader output: the N-MNIST sample of ../shared/data (tonic's dtype, read
by tonic.io), binned as a dense frame stack computed here from the same events. Needs tonic and the
shared data, which CI's Python step does not have: skipped there, with the reason."""

import os

import numpy as np
import pytest

tonic = pytest.importorskip("tonic", reason="tonic is not installed (pip install tonic to run this)")

import spikeflux  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "data", "events", "tonic_sample_nmnist", "sample_nmnist.bin")


@pytest.mark.skipif(not os.path.exists(SAMPLE), reason="../shared/data (the N-MNIST sample) is not beside this checkout")
def test_tonic_nmnist_events_bin_channel_major():
    ev = tonic.io.read_mnist_file(SAMPLE, dtype=tonic.datasets.NMNIST.dtype)
    w, h, p = tonic.datasets.NMNIST.sensor_size
    dt, steps = 1e-3, 320
    x = spikeflux.from_tonic(ev, (w, h, p), n_steps=steps, dt=dt)
    want = np.zeros((steps, p, h, w), dtype=np.uint8)  # a [P, H, W] frame per step, as PyTorch flattens it
    step = ev["t"] // 1000  # microseconds to 1 ms steps, exactly
    keep = step < steps
    want[step[keep], ev["p"][keep], ev["y"][keep], ev["x"][keep]] = 1
    np.testing.assert_array_equal(x, want.reshape(steps, -1))
    assert x.sum() > 3000

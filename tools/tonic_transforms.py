"""Golden values for spikeflux-events' transforms from tonic itself.

Writes crates/spikeflux-events/tests/fixtures/tonic_transforms.json: deterministic DVS-like events
(128x128, µs; times with odd microseconds so that the µs → ms truncation matters), then

- tonic.transforms.Downsample(time_factor=1e-3, spatial_factor=0.25) → the events,
- tonic.transforms.ToFrame(sensor_size=(32, 32, 2), time_window=2.0) on those → the frames as a
  sparse list [step, polarity, y, x, count],
- the same ToFrame with a window of 0.7 (a window that is not a whole number),
- DropEvent(p) → how many events remain, for several p and lengths.

Run (outside CI; tonic and numpy from PyPI): python tools/tonic_transforms.py
"""
import json
import pathlib

import numpy as np
import tonic

out = pathlib.Path(__file__).resolve().parent.parent / "crates/spikeflux-events/tests/fixtures/tonic_transforms.json"
dtype = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])

rng = np.random.default_rng(5)
n = 3000
t = np.sort(rng.integers(1_000_003, 1_400_001, n))
ev = np.zeros(n, dtype=dtype)
ev["x"], ev["y"], ev["p"], ev["t"] = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n).astype(bool), t

small = tonic.transforms.Downsample(time_factor=1e-3, spatial_factor=0.25)(ev)


def sparse(frames):
    nz = np.argwhere(frames)
    return [[int(a), int(b), int(c), int(d), int(frames[a, b, c, d])] for a, b, c, d in nz], list(frames.shape)


frames2, shape2 = sparse(tonic.transforms.ToFrame(sensor_size=(32, 32, 2), time_window=2.0)(small))
frames07, shape07 = sparse(tonic.transforms.ToFrame(sensor_size=(32, 32, 2), time_window=0.7)(small))
drops = []
for p in [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]:
    for m in [0, 1, 2, 3, 7, 1000, 1001]:
        drops.append([p, m, len(tonic.transforms.DropEvent(p=p)(ev[:m]))])

json.dump(
    {
        "tonic": tonic.__version__,
        "numpy": np.__version__,
        "events": {k: ev[k].astype(int).tolist() for k in ["t", "x", "y", "p"]},
        "downsampled": {k: small[k].astype(int).tolist() for k in ["t", "x", "y", "p"]},
        "frames_2": {"shape": shape2, "nonzero": frames2},
        "frames_0_7": {"shape": shape07, "nonzero": frames07},
        "drop_event_remaining": drops,
    },
    open(out, "w"),
)
print(f"wrote {out}: frames {shape2} and {shape07}")

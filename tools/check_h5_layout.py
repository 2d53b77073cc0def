"""Check that a file written by spikeflux is the exact SHD layout as libhdf5 (h5py) sees it.

Usage: python tools/check_h5_layout.py FILE.h5 [--same-as OTHER.h5]

Prints the dtypes and shapes and fails (exit 1) unless spikes/times is vlen float16, spikes/units vlen
uint16, labels uint16 and the per-sample lengths agree. With --same-as, compares every value (times
widened to float32, units, labels, speakers, keys) with another file, e.g. the h5py-written fixture
that `cargo run --release -p spikeflux-core --example shd_copy -- IN OUT` rewrote.
Needs h5py (not part of CI; run by hand after changing crates/spikeflux-core/src/data/h5write.rs).
"""
import sys

import h5py
import numpy as np


def main():
    path = sys.argv[1]
    with h5py.File(path, "r") as f:
        times, units, labels = f["spikes/times"], f["spikes/units"], f["labels"]
        tb = h5py.check_vlen_dtype(times.dtype)
        ub = h5py.check_vlen_dtype(units.dtype)
        print("spikes/times", times.shape, "vlen", tb)
        print("spikes/units", units.shape, "vlen", ub)
        print("labels", labels.shape, labels.dtype)
        ok = tb == np.float16 and ub == np.uint16 and labels.dtype == np.uint16
        n_spikes = 0
        for t, u in zip(times[:], units[:]):
            ok &= len(t) == len(u)
            n_spikes += len(t)
        print("samples", len(labels), "spikes", n_spikes)
        if "extra" in f:
            for k in f["extra"]:
                d = f["extra"][k]
                if isinstance(d, h5py.Dataset):
                    print(f"extra/{k}", d.shape, d.dtype, d[:5] if d.dtype.kind != "O" else [x.decode() if isinstance(x, bytes) else x for x in d[:]])
        if len(sys.argv) > 3 and sys.argv[2] == "--same-as":
            with h5py.File(sys.argv[3], "r") as g:
                for i, (t, u) in enumerate(zip(times[:], units[:])):
                    ok &= np.array_equal(t.astype(np.float32), g["spikes/times"][i].astype(np.float32))
                    ok &= np.array_equal(u, g["spikes/units"][i])
                ok &= np.array_equal(labels[:], g["labels"][:])
                if "extra/speaker" in g:
                    ok &= np.array_equal(f["extra/speaker"][:], g["extra/speaker"][:])
                if "extra/keys" in g:
                    ok &= list(f["extra/keys"].asstr()[:]) == list(g["extra/keys"].asstr()[:])
            print("values compared with", sys.argv[3], ":", "equal" if ok else "DIFFERENT")
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

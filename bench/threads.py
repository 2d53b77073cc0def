"""spikeflux's training time per sample against its thread count (issue #16, item 4): the same
measure as bench/speed.py (median of the epochs after a warm-up epoch, with min and max; peak RSS),
for each thread count in one invocation, and the speed-up over one thread. Results do not depend on
the thread count (the slices' gradients are summed in a fixed order); this checks the final weights'
digest is the same too.

    python bench/threads.py [--threads 1,2] [--epochs 3] [--samples 480] [--nets randman,ff,rcsnn]
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from speed import spikeflux, synth_configs  # noqa: E402
from timing import ROOT  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    ap.add_argument("--samples", type=int, default=480, help="samples of the synth-shd file (ff, rcsnn)")
    ap.add_argument("--nets", default="randman,ff,rcsnn")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    nets = a.nets.split(",")
    tmp = tempfile.mkdtemp()
    _, cfgs = synth_configs(nets, a.samples, tmp)
    if "randman" in nets:
        cfgs = {"randman": os.path.join(ROOT, "configs", "randman-shallow.toml"), **cfgs}
    out = {"epochs": a.epochs, "samples": a.samples}
    for net, cfg in cfgs.items():
        rows = {}
        for t in threads:
            env = dict(os.environ, OMP_NUM_THREADS=str(t))
            run = os.path.join(tmp, f"{net}-{t}")
            os.makedirs(run, exist_ok=True)
            r = spikeflux(cfg, a.epochs, t, run, env)
            r["weights_sha256"] = hashlib.sha256(open(os.path.join(run, "sf-run", "weights.safetensors"), "rb").read()).hexdigest()[:16]
            rows[t] = r
        base = rows[threads[0]]["median"]
        print(f"\n{net}: ms per training sample (median [min, max] of {a.epochs} epochs after a warm-up), peak RSS, speed-up over {threads[0]} thread(s)")
        for t, r in rows.items():
            print(f"  {t:>3} threads  {r['median'] * 1e3:8.3f} [{r['lo'] * 1e3:.3f}, {r['hi'] * 1e3:.3f}]  {r['rss_mib']:7.1f} MiB  {base / r['median']:5.2f}x  weights {r['weights_sha256']}")
        same = len({r["weights_sha256"] for r in rows.values()}) == 1
        print(f"  final weights identical across thread counts: {same}")
        out[net] = {"rows": rows, "identical_weights": same}
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()

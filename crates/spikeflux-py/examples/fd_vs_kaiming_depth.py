"""Fluctuation-driven against Kaiming initialization over depth on Randman (the paper's point:
with FD init deep SNNs start in the fluctuation-driven regime and learn; with Kaiming the activity
dies out or saturates with depth).

For each depth and init: the firing rate of every hidden layer at initialization (the init
report) and the test accuracy after training. One JSON line per run goes to --out.

    python examples/fd_vs_kaiming_depth.py --depths 1 2 4 6 --epochs 30 --out depth.jsonl
"""
import argparse
import json

import spikeflux


def run(depth, method, epochs, samples_per_class, seed):
    cfg = spikeflux.Config.default()
    layer = dict(cfg["model.hidden"][0])
    cfg["model.hidden"] = [layer] * depth
    cfg["init.method"] = method
    cfg["data.randman.samples_per_class"] = samples_per_class
    report = cfg.init_report(samples=200)
    history, _ = spikeflux.train(cfg, out=f"runs/depth-{method}-{depth}", epochs=epochs, seed=seed, progress=False)
    return dict(depth=depth, init=method, epochs=epochs, seed=seed,
                initial_rates_hz=[l["rate_hz"] for l in report["layers"]],
                initial_free_sd=[l["free"]["sd"] for l in report["layers"]],
                test_acc=history[-1]["test_acc"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depths", type=int, nargs="+", default=[1, 2, 4, 6])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--samples-per-class", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="depth.jsonl")
    a = ap.parse_args()
    rows = []
    with open(a.out, "w") as f:
        for depth in a.depths:
            for method in ["fluctuation-driven", "kaiming"]:
                r = run(depth, method, a.epochs, a.samples_per_class, a.seed)
                rows.append(r)
                f.write(json.dumps(r) + "\n")
                f.flush()
                rates = ", ".join(f"{x:.1f}" for x in r["initial_rates_hz"])
                print(f"depth {depth}, {method:>18}: initial rates [{rates}] Hz, test accuracy {100 * r['test_acc']:.1f} %")
    return rows


if __name__ == "__main__":
    main()

"""One speed benchmark, all peers, one run (issue #16, item 1): per training sample, the median over
the epochs after a warm-up epoch (with min and max), peak memory (max RSS of each process) and the
ratios to spikeflux, for

  randman  notebook 01 (20 -> 128 -> 10, T = 100, 8000 training samples): spikeflux, stork
           (../shared/peers/bench/stork_randman.py), the independent PyTorch implementation
           (tools/reference_torch.py via bench/torch_peer.py) and snnTorch;
  ff       notebook 02 (700 -> 3 x 128 -> 20, T = 350) on a `synth-shd` file: spikeflux, stork, the
           PyTorch implementation and snnTorch;
  rcsnn    notebook 03 (the RCSNN) on the same file: spikeflux, stork, the PyTorch implementation.

Same machine, same thread count, one invocation:

    python bench/speed.py --threads 2 [--epochs 3] [--samples 480] [--nets randman,ff,rcsnn]

Caveats printed with the table: stork's Randman epoch includes its validation pass (1000 samples,
forward only); every other time is training only. Needs a release build, torch and snntorch, and
stork's own dependencies (h5py, scipy, matplotlib, seaborn, pandas); stork and randman are read from
../shared/peers.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import BIN, ROOT, timed  # noqa: E402

PEERS = os.path.abspath(os.path.join(ROOT, "..", "shared", "peers"))


def stats(epoch_seconds, samples):
    """Per-sample seconds of the epochs after the first: median, min, max."""
    after = [s / samples for s in epoch_seconds[1:]]
    return dict(median=statistics.median(after), lo=min(after), hi=max(after), epochs=len(after), samples=samples)


def spikeflux(cfg, epochs, threads, tmp, env):
    log = os.path.join(tmp, "sf.jsonl")
    _, rss = timed([BIN, "train", "--config", cfg, "--epochs", str(epochs + 1), "--threads", str(threads),
                    "--out", os.path.join(tmp, "sf-run"), "--log", log], env)
    recs = [json.loads(l) for l in open(log) if '"epoch"' in l]
    recs = [r for r in recs if "train_seconds" in r]
    return dict(stats([r["train_seconds"] for r in recs], recs[-1]["train"]["samples"]), rss_mib=rss)


NETS = {"ff": ("shd-deep-ff.toml", ["--ff"], 400), "rcsnn": ("shd-rcsnn.toml", [], 400)}


def synth_configs(nets, samples, tmp):
    """The `synth-shd` file (seed 3) and, for each of `nets` among "ff" and "rcsnn", its shipped
    config pointed at that file: (h5 path or None, {net: config path})."""
    nets = [n for n in nets if n in NETS]
    if not nets:
        return None, {}
    h5 = os.path.join(tmp, "synth.h5")
    subprocess.run([BIN, "data", "synth-shd", "--out", h5, "--samples", str(samples), "--seed", "3"], check=True, capture_output=True)
    cfgs = {}
    for net in nets:
        text = open(os.path.join(ROOT, "configs", NETS[net][0])).read()
        text = text.replace("../data/shd_train.h5", h5).replace("../data/shd_test.h5", h5)
        cfgs[net] = os.path.join(tmp, f"{net}.toml")
        open(cfgs[net], "w").write(text)
    return h5, cfgs


def stork(script, args, epochs, threads, n_train, env):
    env = dict(env, PYTHONPATH=os.pathsep.join([os.path.join(PEERS, "stork"), os.path.join(PEERS, "randman")]))
    out, rss = timed([sys.executable, os.path.join(PEERS, "bench", script)] + args + ["--epochs", str(epochs + 1), "--threads", str(threads)], env)
    eps = [json.loads(l)["s"] for l in out.splitlines() if l.startswith("{") and '"epoch"' in l]
    return dict(stats(eps, n_train), rss_mib=rss)


def torch_peer(impl, arch, data, epochs, threads, batch, env):
    out, rss = timed([sys.executable, os.path.join(ROOT, "bench", "torch_peer.py"), "--impl", impl, "--arch", arch, "--data", data,
                      "--epochs", str(epochs + 1), "--threads", str(threads), "--batch-size", str(batch)], env)
    r = json.loads(out.strip().splitlines()[-1])
    return dict(stats(r["epoch_seconds"], r["samples"]), rss_mib=rss)


def table(name, res, note=""):
    sf = res["spikeflux"]
    print(f"\n{name}{note}")
    print(f"{'implementation':<22} {'ms/sample (median)':>19} {'min-max':>15} {'peak RSS MiB':>13} {'time ratio':>11} {'mem ratio':>10}")
    for k, v in res.items():
        print(f"{k:<22} {1e3 * v['median']:>19.3f} {1e3 * v['lo']:>7.3f}-{1e3 * v['hi']:<7.3f} {v['rss_mib']:>13.0f} "
              f"{v['median'] / sf['median']:>10.1f}x {v['rss_mib'] / sf['rss_mib']:>9.1f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    ap.add_argument("--samples", type=int, default=480, help="samples of the synth-shd file (ff, rcsnn)")
    ap.add_argument("--nets", default="randman,ff,rcsnn")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args()
    nets = a.nets.split(",")
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    out = {"threads": a.threads, "epochs": a.epochs, "samples": a.samples}
    if "randman" in nets:
        cfg = os.path.join(ROOT, "configs", "randman-shallow.toml")
        data = os.path.join(tmp, "randman.json")
        subprocess.run([BIN, "data", "export", "--config", cfg, "--out", data], check=True, capture_output=True)
        res = {"spikeflux": spikeflux(cfg, a.epochs, a.threads, tmp, env)}
        n = res["spikeflux"]["samples"]
        res["stork"] = stork("stork_randman.py", [], a.epochs, a.threads, n, env)
        res["pytorch (reference)"] = torch_peer("reference", "randman", data, a.epochs, a.threads, 250, env)
        res["snntorch"] = torch_peer("snntorch", "randman", data, a.epochs, a.threads, 250, env)
        table("Randman (notebook 01), batch 250", res, "; stork's epoch includes its validation pass")
        out["randman"] = res
    h5, cfgs = synth_configs(nets, a.samples, tmp)
    for net, cfg in cfgs.items():
        _, script_args, batch = NETS[net]
        res = {"spikeflux": spikeflux(cfg, a.epochs, a.threads, tmp, env)}
        n = res["spikeflux"]["samples"]
        # stork trains on the whole file (spikeflux holds out its validation share)
        res["stork"] = stork("stork_rcsnn.py", [h5, h5] + script_args + ["--batch", str(batch)], a.epochs, a.threads, a.samples, env)
        data = os.path.join(tmp, f"{net}.json")
        subprocess.run([BIN, "data", "export", "--config", cfg, "--out", data], check=True, capture_output=True)
        res["pytorch (reference)"] = torch_peer("reference", net, data, a.epochs, a.threads, batch, env)
        if net == "ff":
            res["snntorch"] = torch_peer("snntorch", net, data, a.epochs, a.threads, batch, env)
        name = {"ff": "deep feed-forward SHD net (notebook 02)", "rcsnn": "RCSNN (notebook 03)"}[net]
        table(f"{name}, batch {batch}, T = 350, {a.samples}-sample synth-shd file", res)
        out[net] = res
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

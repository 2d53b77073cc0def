"""Notebook 05's network (configs/dvs-gesture.toml: conv 16, 16, pool, 32, 32, pool, readout; T = 500)
side by side with the independent PyTorch implementation (tools/reference_torch.py via
bench/torch_peer.py --arch dvs), same machine, same thread count, one invocation (issue #14's speed
acceptance):

    python bench/dvs_speed.py --threads 2 [--users 99] [--batch 8] [--torch-batches 2]

Data: `spikeflux data synth-gestures --users N` (users 1..N-1 train: 1078 samples at N = 99, one
more than DVS Gesture's 1077), through the config's transforms; PyTorch gets the same first draw
(`spikeflux data export`). spikeflux trains one whole epoch at the config's batch (16) and one at
`--batch`; PyTorch trains `--torch-batches` batches of `--batch` (a whole epoch of it takes hours
here, and its autograd tape at batch 16 does not fit in 24 GiB), and its epoch is that time per
sample times the epoch's samples. Prints per-sample times, epoch times, peak memory and the ratios.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import BIN, ROOT, timed  # noqa: E402


def spikeflux(cfg, threads, batch, tmp, env):
    log = os.path.join(tmp, f"sf-{batch}.jsonl")
    _, rss = timed([BIN, "train", "--config", cfg, "--epochs", "1", "--threads", str(threads), "--batch-size", str(batch),
                    "--out", os.path.join(tmp, f"sf-run-{batch}"), "--log", log], env)
    r = next(json.loads(l) for l in open(log) if '"epoch"' in l)
    n = r["train"]["samples"]
    return dict(batch=batch, epoch_s=r["train_seconds"], samples=n, per_sample_s=r["train_seconds"] / n, rss_mib=rss, timed_samples=n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--users", type=int, default=99)
    ap.add_argument("--batch", type=int, default=8, help="the batch both run at (PyTorch's tape at 16 exceeds 24 GiB)")
    ap.add_argument("--torch-batches", type=int, default=2)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    g = os.path.join(tmp, "g")
    subprocess.run([BIN, "data", "synth-gestures", "--out", g, "--users", str(a.users)], check=True, capture_output=True)
    text = open(os.path.join(ROOT, "configs", "dvs-gesture.toml")).read()
    text = text.replace('dir = "../data"', f'dir = "{g}"').replace("test_users_from = 24", f"test_users_from = {a.users}")
    cfg = os.path.join(tmp, "dvs.toml")
    open(cfg, "w").write(text)
    data = os.path.join(tmp, "dvs.json")
    subprocess.run([BIN, "data", "export", "--config", cfg, "--out", data], check=True, capture_output=True)
    res = {"spikeflux (batch 16)": spikeflux(cfg, a.threads, 16, tmp, env)}
    if a.batch != 16:
        res[f"spikeflux (batch {a.batch})"] = spikeflux(cfg, a.threads, a.batch, tmp, env)
    out, rss = timed([sys.executable, os.path.join(ROOT, "bench", "torch_peer.py"), "--impl", "reference", "--arch", "dvs", "--data", data,
                      "--epochs", "1", "--threads", str(a.threads), "--batch-size", str(a.batch), "--max-batches", str(a.torch_batches)], env)
    r = json.loads(out.strip().splitlines()[-1])
    res[f"pytorch (reference, batch {a.batch})"] = dict(batch=a.batch, epoch_s=r["seconds_per_epoch"], samples=r["samples"],
                                                       per_sample_s=r["seconds_per_epoch"] / r["samples"], rss_mib=rss,
                                                       timed_samples=r["timed_samples_per_epoch"], torch=r["torch"])
    base = res[f"spikeflux (batch {a.batch})"] if a.batch != 16 else res["spikeflux (batch 16)"]
    print(f"\nnotebook 05's network, T = 500, {base['samples']} training samples, {a.threads} threads")
    print(f"{'implementation':<30} {'s/sample':>9} {'epoch s':>9} {'timed':>6} {'peak RSS MiB':>13} {'time ratio':>11}")
    for k, v in res.items():
        print(f"{k:<30} {v['per_sample_s']:>9.3f} {v['epoch_s']:>9.1f} {v['timed_samples']:>6} {v['rss_mib']:>13.0f} {v['per_sample_s'] / base['per_sample_s']:>10.1f}x")
    print("(PyTorch's epoch: its time per sample over the timed samples times the epoch's samples)")
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1)
    print(json.dumps(res))


if __name__ == "__main__":
    main()

"""RCSNN peer benchmark (issue #3): the recurrent convolutional SNN of notebook 03 (configs/shd-rcsnn.toml)
trained by spikeflux and by the independent PyTorch implementation (tools/reference_torch.py) in one
invocation, on the same synthetic SHD-sized data (700 channels, ~7500 spikes per sample, written by
`spikeflux data synth-shd`), same machine and threads, batch 400, T = 350.

Both are timed on their last epoch (2 each by default; the first also pays page faults and warm-up).
Prints seconds per training sample, seconds per SHD epoch extrapolated to 7340 training samples, peak
memory (max RSS of each process) and the ratios.

    python bench/rcsnn_peers.py --threads 2 --samples 480
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import BIN, ROOT, timed  # noqa: E402

SHD_TRAIN = 7340


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=480)
    ap.add_argument("--epochs-spikeflux", type=int, default=2)
    ap.add_argument("--epochs-pytorch", type=int, default=2)
    ap.add_argument("--python", default=sys.executable)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    h5 = os.path.join(tmp, "synth.h5")
    subprocess.run([BIN, "data", "synth-shd", "--out", h5, "--samples", str(a.samples), "--seed", "3"], check=True,
                   capture_output=True)
    cfg = open(os.path.join(ROOT, "configs", "shd-rcsnn.toml")).read()
    cfg = cfg.replace("../data/shd_train.h5", h5).replace("../data/shd_test.h5", h5)
    cfg_path = os.path.join(tmp, "rcsnn.toml")
    open(cfg_path, "w").write(cfg)
    data = os.path.join(tmp, "data.json")
    subprocess.run([BIN, "data", "export", "--config", cfg_path, "--out", data], check=True, capture_output=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    log = os.path.join(tmp, "sf.jsonl")
    _, rss = timed([BIN, "train", "--config", cfg_path, "--epochs", str(a.epochs_spikeflux), "--threads",
                    str(a.threads), "--out", os.path.join(tmp, "sf"), "--log", log], env)
    lines = [json.loads(l) for l in open(log)]
    n_train = lines[-1]
    epochs = [l for l in lines if "epoch" in l]
    # the last epoch: the first one also pays for first-touch of the workspace memory
    sf_epoch = epochs[-1]["train_seconds"]
    n = epochs[-1]["train"]["samples"]
    res = {"spikeflux": dict(per_sample=sf_epoch / n, rss_mib=rss, samples=n)}
    out, rss = timed([a.python, os.path.join(ROOT, "bench", "torch_peer.py"), "--impl", "reference", "--arch", "rcsnn",
                      "--data", data, "--epochs", str(a.epochs_pytorch), "--threads", str(a.threads), "--batch-size",
                      "400"], env)
    r = json.loads(out.strip().splitlines()[-1])
    # the last epoch, as for spikeflux (PyTorch's first one also pays its warm-up)
    res["pytorch"] = dict(per_sample=r["epoch_seconds"][-1] / r["samples"], rss_mib=rss, samples=r["samples"],
                          torch=r["torch"], first_epoch_per_sample=r["epoch_seconds"][0] / r["samples"])
    sf = res["spikeflux"]
    print(f"RCSNN (notebook 03), batch 400, T = 350, {a.threads} threads, synthetic SHD-sized data")
    print(f"{'implementation':<28} {'ms/sample':>10} {'s/SHD epoch':>12} {'peak RSS MiB':>13} {'time ratio':>11} {'mem ratio':>10}")
    for k, v in res.items():
        print(f"{k:<28} {1e3 * v['per_sample']:>10.2f} {SHD_TRAIN * v['per_sample']:>12.1f} {v['rss_mib']:>13.1f} "
              f"{v['per_sample'] / sf['per_sample']:>10.1f}x {v['rss_mib'] / sf['rss_mib']:>9.2f}x")
    print(json.dumps(res))


if __name__ == "__main__":
    main()

"""End-to-end peer benchmark on the default experiment (Randman shallow, spec §4.2).

Runs, in one invocation, on the same exported data, machine and thread count:
  1. spikeflux (`spikeflux train --epochs E`),
  2. the independent PyTorch implementation of the reference semantics (tools/reference_torch.py),
  3. the same network built from snnTorch's Synaptic neurons,
and prints seconds per training epoch, peak memory (max RSS of each process, from wait4) and the
ratios peer / spikeflux.

    python bench/peers.py --threads 2 [--epochs-spikeflux 10 --epochs-torch 2]
    python bench/peers.py --threads 2 --torch-layer   # spikeflux.torch vs snnTorch, same PyTorch loop

Needs a release build (cargo build --release) and torch + snntorch (pip install torch snntorch).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "target", "release", "spikeflux")


def run(cmd, env=None):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out, err = p.communicate()
    return p.returncode, out, err


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (stdout, max RSS in MiB)."""
    rc, out, err = run(["/usr/bin/time", "-v"] + cmd, env)
    if rc != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err}")
    rss = next(int(l.split()[-1]) for l in err.splitlines() if "Maximum resident set size" in l)
    return out, rss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs-spikeflux", type=int, default=10)
    ap.add_argument("--epochs-torch", type=int, default=2)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--torch-layer", action="store_true",
                    help="compare spikeflux's PyTorch module (spikeflux.torch) with snnTorch, both in the same PyTorch loop")
    ap.add_argument("--layer-torch-threads", type=int, default=None,
                    help="with --torch-layer: torch's threads in spikeflux's loop (default --threads)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    data = os.path.join(tmp, "randman.json")
    subprocess.run([BIN, "data", "export", "--out", data], check=True, capture_output=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))

    res = {}
    peers = ["reference", "snntorch"]
    if a.torch_layer:
        peers = ["spikeflux-torch", "snntorch"]
    log = os.path.join(tmp, "sf.jsonl")
    _, rss = timed([BIN, "train", "--epochs", str(a.epochs_spikeflux), "--threads", str(a.threads),
                    "--out", os.path.join(tmp, "sf"), "--log", log], env)
    final = [json.loads(l) for l in open(log)][-1]
    res["spikeflux"] = dict(seconds_per_epoch=final["seconds_per_epoch"], rss_mib=rss)
    for impl in peers:
        epochs = a.epochs_spikeflux if impl == "spikeflux-torch" else a.epochs_torch
        extra = ["--torch-threads", str(a.layer_torch_threads)] if impl == "spikeflux-torch" and a.layer_torch_threads else []
        out, rss = timed([a.python, os.path.join(ROOT, "bench", "torch_peer.py"), "--impl", impl, "--data", data,
                          "--epochs", str(epochs), "--threads", str(a.threads)] + extra, env)
        r = json.loads(out.strip().splitlines()[-1])
        res[impl] = dict(seconds_per_epoch=r["seconds_per_epoch"], rss_mib=rss, torch=r["torch"], train_acc=r["train_acc"],
                         torch_threads=r["torch_threads"])
    # ratios against spikeflux's CLI, or with --torch-layer against spikeflux's PyTorch module
    sf = res["spikeflux-torch" if a.torch_layer else "spikeflux"]
    print(f"Randman shallow (8000 train samples, batch 250), {a.threads} threads")
    print(f"{'implementation':<34} {'s/epoch':>9} {'peak RSS MiB':>13} {'time ratio':>11} {'mem ratio':>10}")
    names = {"spikeflux": "spikeflux (CLI)", "spikeflux-torch": "spikeflux.torch in a PyTorch loop", "reference": "PyTorch reference (tools/)", "snntorch": "snnTorch Synaptic"}
    for k, r in res.items():
        print(f"{names[k]:<34} {r['seconds_per_epoch']:>9.3f} {r['rss_mib']:>13.1f} "
              f"{r['seconds_per_epoch'] / sf['seconds_per_epoch']:>10.1f}x {r['rss_mib'] / sf['rss_mib']:>9.1f}x")
    print(json.dumps(res))


if __name__ == "__main__":
    main()

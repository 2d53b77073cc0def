"""Data-parallel training over MPI against threads (issue #17, item 4), one invocation: for each net,
the training time per sample of 1 process x 2 threads and of `mpirun -np 2` x 1 thread (and
1 x 1 for reference), the parallel efficiency t(1x2) / t(2x1), whether the final weights are
identical, the bytes exchanged per step, and a model of a step on 8-64 nodes from the measured
per-step compute and message sizes.

    cargo build --release -p spikeflux-cli --features mpi
    python bench/mpi.py [--epochs 3] [--samples 480] [--nets ff,rcsnn] [--json F]

Times as bench/speed.py: the median of the epochs after a warm-up epoch (`train_seconds` of the
log), per training sample. The model's network (latency alpha, bandwidth beta, cores per node) is an
assumption given on the command line, not measured here (this machine has one node).
"""
import argparse
import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from speed import stats, synth_configs  # noqa: E402
from timing import BIN  # noqa: E402

SLICE = 16  # engine::plan::MAX_SLICE: the slice size of these networks (checked below from the log)


def params(weights):
    """Number of parameters in a safetensors file (its header's shapes)."""
    with open(weights, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
    return sum(math.prod(t["shape"]) for k, t in head.items() if k != "__metadata__")


def train(cfg, epochs, threads, ranks, out):
    log = os.path.join(out, "log.jsonl")
    cmd = [BIN, "train", "--config", cfg, "--epochs", str(epochs + 1), "--threads", str(threads), "--out", out]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    if ranks > 1:
        cmd = ["mpirun", "-np", str(ranks)] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    recs = [json.loads(l) for l in open(log) if '"epoch"' in l and "train_seconds" in l]
    w = os.path.join(out, "weights.safetensors")
    r = stats([x["train_seconds"] for x in recs], recs[-1]["train"]["samples"])
    r["weights_sha256"] = hashlib.sha256(open(w, "rb").read()).hexdigest()[:16]
    r["params"] = params(w)
    r["layers"] = len(recs[-1]["train"]["rates_hz"])
    return r


def model(t_step, n_slices, msg, nodes, alpha, beta):
    """Seconds of one step on `nodes` nodes: the compute of the busiest rank (whole slices), the
    chain of K-1 hops, and a binomial-tree broadcast of the total (ceil(log2 K) hops)."""
    k = nodes
    compute = t_step * math.ceil(n_slices / k) / n_slices
    hop = alpha + msg / beta
    return compute, (k - 1) * hop, math.ceil(math.log2(k)) * hop if k > 1 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    ap.add_argument("--samples", type=int, default=480, help="samples of the synth-shd file")
    ap.add_argument("--nets", default="ff,rcsnn")
    ap.add_argument("--alpha-us", type=float, default=2.0, help="model: per-message latency (microseconds)")
    ap.add_argument("--beta-gbs", type=float, default=12.5, help="model: link bandwidth (GB/s; 12.5 = 100 Gb/s)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    _, cfgs = synth_configs(a.nets.split(","), a.samples, tmp)
    out = {"epochs": a.epochs, "samples": a.samples, "alpha_us": a.alpha_us, "beta_gbs": a.beta_gbs}
    for net, cfg in cfgs.items():
        rows = {}
        for name, threads, ranks in [("1 x 1", 1, 1), ("1 x 2", 2, 1), ("2 x 1", 1, 2)]:
            rows[name] = train(cfg, a.epochs, threads, ranks, os.path.join(tmp, f"{net}-{threads}-{ranks}"))
        batch = int(next(l.split("=")[1] for l in open(cfg) if l.strip().startswith("batch_size")))
        p, layers = rows["1 x 2"]["params"], rows["1 x 2"]["layers"]
        msg = 4 * p + 8 * (6 + layers)
        eff = rows["1 x 2"]["median"] / rows["2 x 1"]["median"]
        same = len({r["weights_sha256"] for r in rows.values()}) == 1
        steps_per_epoch = math.ceil(rows["1 x 2"]["samples"] / batch)
        print(f"\n{net}: ms per training sample (median [min, max] of {a.epochs} epochs after a warm-up); processes x threads")
        for name, r in rows.items():
            print(f"  {name}  {r['median'] * 1e3:8.3f} [{r['lo'] * 1e3:.3f}, {r['hi'] * 1e3:.3f}]  weights {r['weights_sha256']}")
        print(f"  efficiency of 2 processes x 1 thread against 1 process x 2 threads: {100 * eff:.1f} %")
        print(f"  final weights identical: {same}")
        print(f"  {p} parameters: {msg} bytes per message; per step with K = 2: {2 * msg} bytes "
              f"(1 hop of the chain + the broadcast), {steps_per_epoch} steps per epoch of batch {batch}")
        n_slices = math.ceil(batch / SLICE)
        t_node = rows["1 x 2"]["median"] * batch  # one 2-core node's seconds per full step
        print(f"  model (alpha {a.alpha_us} us, beta {a.beta_gbs} GB/s, 2 cores per node as here; {n_slices} slices per batch):")
        print(f"  {'nodes':>6} {'compute ms':>11} {'chain ms':>9} {'bcast ms':>9} {'step ms':>8} {'speed-up':>9} {'efficiency':>11}")
        mrows = []
        for k in [1, 2, 8, 16, 32, 64]:
            c, ch, bc = model(t_node, n_slices, msg, k, a.alpha_us * 1e-6, a.beta_gbs * 1e9)
            step = c + ch + bc
            mrows.append(dict(nodes=k, compute_s=c, chain_s=ch, bcast_s=bc, step_s=step))
            print(f"  {k:>6} {c * 1e3:>11.2f} {ch * 1e3:>9.3f} {bc * 1e3:>9.3f} {step * 1e3:>8.2f} {t_node / step:>8.1f}x {100 * t_node / step / k:>10.1f}%")
        out[net] = {"rows": rows, "efficiency": eff, "identical_weights": same, "params": p, "message_bytes": msg,
                    "bytes_per_step_k2": 2 * msg, "batch": batch, "slices_per_batch": n_slices, "model": mrows}
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()

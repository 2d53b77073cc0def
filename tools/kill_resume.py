"""Kills a training run with SIGKILL at random moments, resumes it each time, and checks that the
log and the weights equal those of the uninterrupted run (timings aside).

    python3 tools/kill_resume.py --binary target/release/spikeflux --kills 1000 [--seed 1]

The run is the embedded default experiment shrunk to run in about a second (40 samples per class,
32 hidden neurons, batch 50, 8 epochs); each kill lands at a uniformly random moment between the
start of a (re)started process and the end of the run. Between kills the run is resumed with
`--resume` (or started afresh when no checkpoint exists yet). The script prints one line per
failure and a summary; exit status 1 if any comparison failed. Needs only Python 3.
"""
import argparse
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parents[1]


def small_config():
    text = (HERE / "configs/randman-shallow.toml").read_text()
    return (text.replace("samples_per_class = 1000", "samples_per_class = 40")
                .replace("size = 128", "size = 32")
                .replace("batch_size = 250", "batch_size = 50"))


def log_lines(out):
    rows = []
    for line in (out / "log.jsonl").read_text().splitlines():
        d = json.loads(line)
        for k in ("train_seconds", "seconds_per_epoch", "weights"):
            d.pop(k, None)
        rows.append(d)
    return rows


def finished(out):
    """Whether the run's log ends with its final summary (then every file of the run is written)."""
    try:
        last = (out / "log.jsonl").read_text().splitlines()[-1]
        return json.loads(last).get("final") is True
    except (OSError, IndexError, ValueError):
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(HERE / "target/release/spikeflux"))
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = pathlib.Path(tempfile.mkdtemp(prefix="kill-resume-"))
    cfg = work / "small.toml"
    cfg.write_text(small_config())
    base = [a.binary, "train", "--config", str(cfg), "--epochs", str(a.epochs), "--threads", "1"]
    ref = work / "ref"
    t0 = time.time()
    subprocess.run(base + ["--out", str(ref)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    full = time.time() - t0
    want_log = log_lines(ref)
    want_w = (ref / "weights.safetensors").read_bytes()
    kills = failures = runs = 0
    stats = {"killed": 0, "finished_before_kill": 0}
    while kills < a.kills:
        out = work / "run"
        if out.exists():
            subprocess.run(["rm", "-rf", str(out)], check=True)
        # one run, killed again and again until it finishes
        while not finished(out):
            resume = (out / "checkpoint.safetensors").exists()
            p = subprocess.Popen(base + ["--out", str(out)] + (["--resume"] if resume else []),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            delay = rng.uniform(0.0, full * 1.1)
            try:
                _, err = p.communicate(timeout=delay)
                runs += 1
                if p.returncode != 0:
                    failures += 1
                    print(f"run exited {p.returncode}: {err.decode()[-300:]}")
                    break
                stats["finished_before_kill"] += 1
                break
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.communicate()
                kills += 1
                stats["killed"] += 1
                if kills >= a.kills and not finished(out):
                    # finish the run without further kills
                    resume = (out / "checkpoint.safetensors").exists()
                    r = subprocess.run(base + ["--out", str(out)] + (["--resume"] if resume else []),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    if r.returncode != 0:
                        failures += 1
                        print(f"final resume exited {r.returncode}: {r.stderr.decode()[-300:]}")
                    break
        if (out / "weights.safetensors").exists():
            got_log = log_lines(out)
            got_w = (out / "weights.safetensors").read_bytes()
            if got_log != want_log:
                failures += 1
                print(f"log differs after {kills} kills: {len(got_log)} vs {len(want_log)} lines")
            if got_w != want_w:
                failures += 1
                print(f"weights differ after {kills} kills")
    print(json.dumps({"kills": kills, "runs_to_completion": runs, "failures": failures,
                      "uninterrupted_seconds": round(full, 3), **stats}))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

"""What the benchmark scripts share: where the release binary is, and running a command under
/usr/bin/time -v for its output and peak memory."""
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "target", "release", "spikeflux")


def timed(cmd, env):
    """Runs `cmd` under /usr/bin/time -v: (stdout, peak RSS in MiB); exits with its stderr on failure."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    rss = next(int(l.split()[-1]) for l in p.stderr.splitlines() if "Maximum resident set size" in l)
    return p.stdout, rss / 1024.0

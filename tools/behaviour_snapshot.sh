#!/usr/bin/env bash
# Runs a fixed set of commands with one spikeflux binary and writes their outputs to a folder, so two
# binaries (before and after a change that must not change behaviour) can be compared byte for byte:
#
#   bash tools/behaviour_snapshot.sh OLD_BINARY /tmp/before
#   bash tools/behaviour_snapshot.sh target/release/spikeflux /tmp/after
#   diff -r /tmp/before /tmp/after && echo identical
#
# Timing fields and the weights path are removed from the JSON logs (train_seconds, seconds_per_epoch,
# weights); weights files are compared as their canonical form (header JSON with sorted keys — the
# metadata map's order varies between runs — then the tensor bytes unchanged); everything else
# (losses, accuracies, rates, weights bytes, init-report and fig1 numbers, the HDF5 spike file of 12
# FSDD clips) must be identical. Needs the FSDD recordings (argument 3, default
# ../shared/data/fsdd/recordings) and a checkout (configs/) in the working directory.
set -euo pipefail
BIN=$(realpath "$1")
OUT=$2
REC=$(realpath "${3:-../shared/data/fsdd/recordings}")
REPO=$(pwd)
rm -rf "$OUT" && mkdir -p "$OUT"
W=${SNAPSHOT_WORK:-/tmp/spikeflux-snapshot-work}   # the same path for both binaries: configs and weights metadata name it
rm -rf "$W" && mkdir -p "$W"
strip() { python3 -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    for k in ("train_seconds", "seconds_per_epoch", "threads", "weights"):
        d.pop(k, None)
    print(json.dumps(d, sort_keys=True))' "$1"; }

# a safetensors file with its header's keys sorted (same tensors, same bytes)
canon() { python3 -c '
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.dumps(json.loads(b[8:8 + n]), sort_keys=True).encode()
sys.stdout.buffer.write(struct.pack("<Q", len(h)) + h + b[8 + n:])' "$1"; }

# 1. the README's default run (Randman, 200 epochs)
"$BIN" train --out "$W/default" >/dev/null 2>"$OUT/default.stderr"
strip "$W/default/log.jsonl" >"$OUT/default.log.jsonl"
canon "$W/default/weights.safetensors" >"$OUT/default.weights.safetensors"

# 2. RCSNN, 3 epochs on a 480-sample synthetic SHD file
"$BIN" data synth-shd --out "$W/synth.h5" --samples 480 --seed 1 >/dev/null 2>&1
sed -e "s#../data/shd_train.h5#$W/synth.h5#" -e "s#../data/shd_test.h5#$W/synth.h5#" "$REPO/configs/shd-rcsnn.toml" >"$W/rcsnn.toml"
"$BIN" train --config "$W/rcsnn.toml" --epochs 3 --out "$W/rcsnn" >/dev/null 2>"$OUT/rcsnn.stderr"
strip "$W/rcsnn/log.jsonl" >"$OUT/rcsnn.log.jsonl"
canon "$W/rcsnn/weights.safetensors" >"$OUT/rcsnn.weights.safetensors"

# 3. the Dale digits run (configs/digits-dale.toml, 10 epochs), with the digits file named explicitly
# (older binaries have no embedded copy; it is the same file)
grep -v '^# file = ' "$REPO/configs/digits-dale.toml" | sed "s#^\[data.digits\]#[data.digits]\nfile = \"$REPO/crates/spikeflux-core/tests/fixtures/digits.csv.gz\"#" >"$W/dale.toml"
"$BIN" train --config "$W/dale.toml" --epochs 10 --out "$W/dale" >/dev/null 2>"$OUT/dale.stderr"
strip "$W/dale/log.jsonl" >"$OUT/dale.log.jsonl"
canon "$W/dale/weights.safetensors" >"$OUT/dale.weights.safetensors"

# 4. init-report (default config and the Dale config), 5. fig1
"$BIN" init-report --out "$W/report" >/dev/null 2>&1
cp "$W/report/init_report.json" "$OUT/init_report.json"
"$BIN" init-report --config "$W/dale.toml" --out "$W/report-dale" >/dev/null 2>&1
cp "$W/report-dale/init_report.json" "$OUT/init_report_dale.json"
"$BIN" fig1 --out "$W/fig1" --neurons 64 --seconds 2 >/dev/null 2>&1
cp "$W/fig1/fig1.json" "$OUT/fig1.json"

# 6. audio2spikes on 12 FSDD clips
mkdir -p "$W/wav"
for f in 0_george_0 1_jackson_3 2_lucas_7 3_nicolas_11 4_theo_20 5_yweweler_33 6_george_41 7_jackson_49 8_lucas_2 9_nicolas_5 0_theo_9 9_yweweler_48; do
  cp "$REC/$f.wav" "$W/wav/"
done
"$BIN" audio2spikes "$W/wav" --out "$OUT/fsdd12.h5" --seed 3 >/dev/null 2>&1

# stderr: keep only the lines without timings (init lines, rates, memory estimates)
for f in "$OUT"/*.stderr; do grep -E '^(init |initial|memory|sigma|  )' "$f" >"$f.kept" || true; rm "$f"; done
rm -rf "$W"
echo "snapshot of $BIN in $OUT"

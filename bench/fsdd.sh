#!/usr/bin/env bash
# Spoken-digit benchmark on real recordings (issue: audio to spikes). Converts all of FSDD with the
# cochlea model, then trains the RCSNN and the recurrent LIF network on
#   (a) the data set's own split (recording index 0-4 = test) and
#   (b) speaker held out: train on five speakers, test on the sixth (all six folds, or FOLDS="...").
# Results: one JSON line per run in runs/fsdd/results.jsonl (config, split, test accuracy).
# Usage: bash bench/fsdd.sh [path/to/fsdd/recordings]   (default ../shared/data/fsdd/recordings)
set -euo pipefail
cd "$(dirname "$0")/.."
REC=${1:-../shared/data/fsdd/recordings}
BIN=target/release/spikeflux
FOLDS=${FOLDS:-"george jackson lucas nicolas theo yweweler"}
MODELS=${MODELS:-"fsdd-rlif fsdd-rcsnn"}
INDEX=${INDEX:-1}   # 0: skip the index 0-4 split
cargo build --release --quiet
mkdir -p data runs/fsdd
[ -f data/fsdd.h5 ] || $BIN audio2spikes "$REC" --out data/fsdd.h5 --stats data/fsdd-stats.json
run() { # split-name model
  local out=runs/fsdd/$2-$1
  $BIN train --config configs/$2.toml --out "$out" > "$out.log" 2>&1
  python3 - "$out" "$1" "$2" >> runs/fsdd/results.jsonl <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1] + "/log.jsonl") if '"final"' in l][-1]
print(json.dumps({"model": sys.argv[3], "split": sys.argv[2], "test_acc": s["test_acc"], "valid_acc": s["valid_acc"],
                  "epochs": s["epochs"], "seconds_per_epoch": s["seconds_per_epoch"], "init_nu_hz": s["init_nu_hz"]}))
PY
  tail -n 1 runs/fsdd/results.jsonl
}
if [ "$INDEX" = 1 ]; then
  $BIN data split data/fsdd.h5 --test-index 0-4 --train-out data/fsdd_train.h5 --test-out data/fsdd_test.h5
  for m in $MODELS; do run index0-4 "$m"; done
fi
for spk in $FOLDS; do
  $BIN data split data/fsdd.h5 --test-speakers "$spk" --train-out data/fsdd_train.h5 --test-out data/fsdd_test.h5
  for m in $MODELS; do run "speaker-$spk" "$m"; done
done

#!/usr/bin/env bash
# Front-ends for spoken digits (issue #15, item 2): the recurrent LIF network (configs/fsdd-rlif.toml)
# trained on FSDD converted by each audio2spikes variant, on the index split (recording index 0-4 =
# test; SEEDS) and with each speaker held out (seed 1). Every variant's file must exist (see
# BENCHMARKS.md, "Information ceiling"); their ceilings come from tools/ceiling.py.
# One JSON line per run in runs/frontends/results.jsonl.
# Usage: VARIANTS="fsdd fsdd-top4k fsdd-top4k-ramp10" SEEDS="1 2 3" bash bench/fsdd_frontends.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/spikeflux
VARIANTS=${VARIANTS:-"fsdd fsdd-top4k fsdd-top4k-ramp10"}
SEEDS=${SEEDS:-"1 2 3"}
FOLDS=${FOLDS:-"george jackson lucas nicolas theo yweweler"}
mkdir -p runs/frontends
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # variant split seed
  local out=runs/frontends/$1-$2-seed$3
  sed -e "s|../data/fsdd_train.h5|$tmp/train.h5|" -e "s|../data/fsdd_test.h5|$tmp/test.h5|" configs/fsdd-rlif.toml > "$tmp/c.toml"
  rm -rf "$out"
  $BIN train --config "$tmp/c.toml" --seed "$3" --out "$out" > "$out.log" 2>&1
  python3 - "$out" "$1" "$2" "$3" >> runs/frontends/results.jsonl <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1] + "/log.jsonl") if '"final"' in l][-1]
print(json.dumps({"variant": sys.argv[2], "split": sys.argv[3], "seed": int(sys.argv[4]), "test_acc": s["test_acc"],
                  "valid_acc": s["valid_acc"], "seconds_per_epoch": s["seconds_per_epoch"], "init_nu_hz": s["init_nu_hz"]}))
PY
  tail -n 1 runs/frontends/results.jsonl
}
for v in $VARIANTS; do
  $BIN data split "data/$v.h5" --test-index 0-4 --train-out "$tmp/train.h5" --test-out "$tmp/test.h5" > /dev/null
  for s in $SEEDS; do run "$v" index0-4 "$s"; done
  for spk in $FOLDS; do
    $BIN data split "data/$v.h5" --test-speakers "$spk" --train-out "$tmp/train.h5" --test-out "$tmp/test.h5" > /dev/null
    run "$v" "speaker-$spk" 1
  done
done

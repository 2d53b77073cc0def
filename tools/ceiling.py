"""Information ceiling of an input (issue #15, item 1): how well simple non-spiking classifiers do on
it, so that a front-end and a network are reported against what their input allows.

For an SHD-layout spike file (`--h5`, e.g. `spikeflux audio2spikes` output, with `/extra/speaker` and,
for the index split, `/extra/index`) the features are each sample's spike counts binned to
`--freq-bins` channel groups x `--time-bins` time bins (log1p); for a folder of recordings
(`--audio`, names `{label}_{speaker}_{index}.wav` as FSDD's) they are a log-mel spectrogram of the
audio at the same resolution (`--freq-bins` mel bands, 25 ms Hann frames every 10 ms, averaged into
the time bins). The time bins span each sample's own duration (the audio's length; for spikes, up
to the sample's last spike), so clips of different lengths line up.

Two classifiers on standardized features: multinomial logistic regression (linear) and an MLP with
one hidden layer of `--hidden` units (scikit-learn, seeded; the mean over `--seeds`). Two protocols:
`index` (test = recording indices 0-4 of every speaker, FSDD's own split, as `spikeflux data split
--test-index 0-4`) and `speakers` (each speaker held out in turn; the mean and s.d. over folds).

    python tools/ceiling.py --h5 data/fsdd.h5 --audio ../shared/data/fsdd/recordings [--json F]

Needs numpy, h5py and scikit-learn (not CI's: a measurement tool, results in BENCHMARKS.md).
"""
import argparse
import json
import os
import re
import statistics
import sys
import wave

import numpy as np


def h5_features(path, fb, tb):
    import h5py
    with h5py.File(path, "r") as f:
        times, units = f["spikes/times"][:], f["spikes/units"][:]
        labels = f["labels"][:].astype(int)
        speakers = f["extra/speaker"][:].astype(int) if "extra/speaker" in f else np.zeros(len(labels), int)
        index = f["extra/index"][:].astype(int) if "extra/index" in f else None
        names = {i: (n.decode() if isinstance(n, bytes) else str(n)) for i, n in enumerate(f["extra/speaker_names"][:])} if "extra/speaker_names" in f else None
        n_units = 700
    x = np.zeros((len(labels), fb, tb))
    for i, (t, u) in enumerate(zip(times, units)):
        if len(t) == 0:
            continue
        end = max(float(np.max(t)), 1e-3)
        ti = np.minimum((np.asarray(t) / end * tb).astype(int), tb - 1)
        ci = np.minimum((np.asarray(u, dtype=int) * fb) // n_units, fb - 1)
        np.add.at(x[i], (ci, ti), 1.0)
    return np.log1p(x.reshape(len(labels), -1)), labels, speakers, index, names


def read_wav(path):
    with wave.open(path, "rb") as w:
        sr, n, ch, width = w.getframerate(), w.getnframes(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(n)
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}[width]
    x = np.frombuffer(raw, dtype=dtype).astype(np.float64)
    if width == 1:
        x -= 128
    x = x.reshape(-1, ch).mean(axis=1)
    return x / (np.max(np.abs(x)) + 1e-12), sr


def mel_filters(n_mels, n_fft, sr):
    mel = lambda f: 2595 * np.log10(1 + f / 700.0)  # noqa: E731
    inv = lambda m: 700 * (10 ** (m / 2595.0) - 1)  # noqa: E731
    edges = inv(np.linspace(mel(0), mel(sr / 2), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    fb = np.zeros((n_mels, len(freqs)))
    for m in range(n_mels):
        lo, c, hi = edges[m], edges[m + 1], edges[m + 2]
        fb[m] = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
    return fb


def audio_features(folder, fb, tb, names):
    """Log-mel features of the recordings in `folder` named as `names` (the h5 order), or of all
    `{label}_{speaker}_{index}.wav` files when `names` is None."""
    pat = re.compile(r"^(\d+)_([A-Za-z]+)_(\d+)\.wav$")
    files = sorted(f for f in os.listdir(folder) if pat.match(f))
    labels, speakers, index, feats = [], [], [], []
    spk_ids = {}
    for fname in files:
        lab, spk, idx = pat.match(fname).groups()
        x, sr = read_wav(os.path.join(folder, fname))
        n_fft, hop = int(0.025 * sr), int(0.010 * sr)
        if len(x) < n_fft:
            x = np.pad(x, (0, n_fft - len(x)))
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        m = np.log(power @ mel_filters(fb, n_fft, sr).T + 1e-10)  # frames x fb
        bins = np.minimum((np.arange(len(m)) * tb) // len(m), tb - 1)
        f = np.stack([m[bins == b].mean(axis=0) if np.any(bins == b) else m[-1] for b in range(tb)], axis=1)
        feats.append(f.reshape(-1))
        labels.append(int(lab))
        speakers.append(spk_ids.setdefault(spk, len(spk_ids)))
        index.append(int(idx))
    return np.array(feats), np.array(labels), np.array(speakers), np.array(index), {v: k for k, v in spk_ids.items()}


def fit(x_tr, y_tr, x_te, y_te, kind, hidden, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler
    sc = StandardScaler().fit(x_tr)
    a, b = sc.transform(x_tr), sc.transform(x_te)
    if kind == "linear":
        clf = LogisticRegression(max_iter=3000, C=1.0)
    else:
        clf = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=600, alpha=1e-3, random_state=seed)
    clf.fit(a, y_tr)
    return float((clf.predict(b) == y_te).mean())


def protocols(labels, speakers, index):
    out = []
    if index is not None:
        te = index <= 4
        out.append(("index 0-4", ~te, te))
    for s in sorted(set(speakers.tolist())):
        te = speakers == s
        out.append((f"speaker {s}", ~te, te))
    return out


def evaluate(name, x, labels, speakers, index, hidden, seeds, spk_names):
    rows = []
    for proto, tr, te in protocols(labels, speakers, index):
        if spk_names and proto.startswith("speaker"):
            proto = "speaker " + spk_names.get(int(proto.split()[1]), proto.split()[1])
        for kind in ["linear", "mlp"]:
            accs = [fit(x[tr], labels[tr], x[te], labels[te], kind, hidden, s) for s in (seeds if kind == "mlp" else [0])]
            rows.append(dict(input=name, protocol=proto, model=kind, acc=statistics.mean(accs), accs=accs, n_train=int(tr.sum()), n_test=int(te.sum())))
            print(f"  {name:<12} {proto:<20} {kind:<6} {100 * rows[-1]['acc']:6.2f} %", flush=True)
    return rows


def summary(rows):
    print("\nsummary (accuracy %; speakers: mean ± s.d. over the held-out-speaker folds)")
    for name in dict.fromkeys(r["input"] for r in rows):
        for kind in ["linear", "mlp"]:
            rs = [r for r in rows if r["input"] == name and r["model"] == kind]
            idx = [r["acc"] for r in rs if r["protocol"] == "index 0-4"]
            spk = [r["acc"] for r in rs if r["protocol"].startswith("speaker")]
            sd = statistics.stdev(spk) if len(spk) > 1 else 0.0
            print(f"  {name:<12} {kind:<6} index {100 * idx[0] if idx else float('nan'):6.2f}   speakers {100 * statistics.mean(spk):6.2f} ± {100 * sd:5.2f}  ({', '.join(f'{100 * a:.1f}' for a in spk)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--h5", action="append", default=[], help="SHD-layout spike file (repeatable: several front-ends)")
    ap.add_argument("--audio", default=None, help="folder of {label}_{speaker}_{index}.wav recordings")
    ap.add_argument("--freq-bins", type=int, default=35)
    ap.add_argument("--time-bins", type=int, default=14)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seeds", default="0,1,2", help="MLP seeds (the mean is reported)")
    ap.add_argument("--json", default=None, help="write one JSON line per input, protocol and model")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    if not a.h5 and not a.audio:
        sys.exit("give --h5 FILE and/or --audio DIR")
    rows = []
    print(f"features: {a.freq_bins} frequency bins x {a.time_bins} time bins; MLP {a.hidden} hidden, seeds {seeds}")
    for path in a.h5:
        x, y, s, idx, names = h5_features(path, a.freq_bins, a.time_bins)
        rows += evaluate(os.path.basename(path), x, y, s, idx, a.hidden, seeds, names)
    if a.audio:
        x, y, s, idx, names = audio_features(a.audio, a.freq_bins, a.time_bins, None)
        rows += evaluate("log-mel", x, y, s, idx, a.hidden, seeds, names)
    summary(rows)
    if a.json:
        with open(a.json, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()

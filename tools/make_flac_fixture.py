"""Writes the FLAC test fixture of spikeflux-cochlea: one FSDD recording re-encoded losslessly.

Usage: python tools/make_flac_fixture.py   (needs the `soundfile` package; not part of CI)
The test `flac_decodes_to_the_same_samples_as_the_wav` reads both and compares sample by sample.
"""
import pathlib

import soundfile as sf

root = pathlib.Path(__file__).resolve().parents[1]
src = root / "crates/spikeflux-cochlea/tests/fixtures/fsdd/0_george_0.wav"
dst = root / "crates/spikeflux-cochlea/tests/fixtures/0_george_0.flac"
data, sr = sf.read(src, dtype="int16")
sf.write(dst, data, sr, subtype="PCM_16", format="FLAC")
print(f"wrote {dst} ({len(data)} samples at {sr} Hz, {dst.stat().st_size} bytes)")

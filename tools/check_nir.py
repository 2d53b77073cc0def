"""Reads a NIR file with the reference implementation (`nir` from PyPI), type checking on, and
writes it back with `nir.write` (gzip-compressed, as nir writes by default), so that the Rust tests
can check that spikeflux reads what nir writes and nir reads what spikeflux writes.

    python tools/check_nir.py IN.nir [OUT.nir]

Prints one line per node (name, NIR type, input and output shapes) and `OK`.
"""
import sys

import nir
import numpy as np


def show(g, prefix=""):
    for name in sorted(g.nodes):
        n = g.nodes[name]
        if isinstance(n, nir.NIRGraph):
            print(f"{prefix}{name} NIRGraph")
            show(n, prefix + name + ".")
            continue
        shape = lambda t: [list(np.asarray(v).tolist()) if v is not None else None for v in t.values()]
        print(f"{prefix}{name} {type(n).__name__} in {shape(n.input_type)} out {shape(n.output_type)}")


def main():
    g = nir.read(sys.argv[1], type_check=True)
    show(g)
    if len(sys.argv) > 2:
        nir.write(sys.argv[2], g)
        again = nir.read(sys.argv[2], type_check=True)
        assert sorted(again.nodes) == sorted(g.nodes)
    print("OK")


if __name__ == "__main__":
    main()

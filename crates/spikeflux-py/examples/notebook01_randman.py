"""The paper's notebook 01 from Python: a shallow SNN (20 inputs -> 128 LIF -> 10 readouts) on
Randman with the fluctuation-driven initialization, trained with surrogate gradients.

The config is the one `spikeflux train` runs by default (configs/randman-shallow.toml, embedded),
so with the same seed this gives the same weights and test accuracy as the command line, bit for
bit:

    python examples/notebook01_randman.py --epochs 200 --out runs/nb01-py
    spikeflux train --epochs 200 --out runs/nb01-cli
    cmp runs/nb01-py/weights.safetensors runs/nb01-cli/weights.safetensors
"""
import argparse

import numpy as np

import spikeflux


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=None, help="default: the config's 200")
    ap.add_argument("--seed", type=int, default=None, help="default: the config's 1")
    ap.add_argument("--out", default="runs/notebook01-py")
    ap.add_argument("--plots", default=None, help="folder for the training curves and rasters (PNG)")
    a = ap.parse_args()

    cfg = spikeflux.Config.default()
    print(f"{cfg['name']}: {cfg['model.hidden'][0]['size']} LIF neurons, dt = {cfg['model.dt']} s, "
          f"FD init with sigma_u = {cfg['init.sigma_u']}, nu = {cfg['init.nu']} Hz")
    # what the initialization aims for, from the theory: the weight distribution per connection
    w = spikeflux.fd_weights(fan_in=cfg["data.randman.n_units"], nu=cfg["init.nu"], sigma_u=cfg["init.sigma_u"], dt=cfg["model.dt"])
    print(f"  hidden weights ~ N({w['ff'][0]:.4f}, {w['ff'][1]:.4f}^2)")

    history, net = spikeflux.train(cfg, out=a.out, epochs=a.epochs, seed=a.seed, plots=a.plots)
    final = history[-1]
    print(f"test accuracy {100 * final['test_acc']:.2f} %, test loss {final['test_loss']:.4f} "
          f"after {history[-2]['epoch']} epochs; weights in {a.out}/weights.safetensors")

    # the trained network on a few test samples: readout traces and hidden spikes
    test = cfg.load_data()["test"]
    rec = net.run(test["inputs"][:8], record=True)
    pred = rec["readout"].max(axis=1).argmax(axis=1)
    rate = rec["spikes"][0].mean() / cfg["model.dt"]
    print(f"first 8 test samples: predicted {pred.tolist()}, labels {test['labels'][:8].tolist()}; "
          f"hidden rate {rate:.1f} Hz")
    return final


if __name__ == "__main__":
    main()

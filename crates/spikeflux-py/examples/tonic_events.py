"""Training on a tonic-style event data set, in your own loop.

tonic (https://tonic.readthedocs.io) gives every sample as a structured NumPy array of events
(fields t in microseconds, x, and for cameras y and p) with a data set attribute sensor_size.
spikeflux.from_tonic_dataset bins such a data set onto the network's time grid; the loop below then
trains with Network.loss_and_grad and a few lines of Adam.

With tonic installed and SHD downloaded, `--shd DIR` uses tonic.datasets.SHD; without it, a
stand-in with tonic's interface is built from Randman (20 channels), so the example runs anywhere:

    python examples/tonic_events.py --epochs 20
"""
import argparse

import numpy as np

import spikeflux


class RandmanEvents:
    """A data set with tonic's interface: items (events, label), events a structured array with
    fields t (microseconds) and x, and sensor_size (W, H, P)."""

    def __init__(self, split, dt):
        self.sensor_size = (split["inputs"].shape[2], 1, 1)
        self.items = []
        for x, label in zip(split["inputs"], split["labels"]):
            steps, units = np.nonzero(x)
            ev = np.zeros(len(steps), dtype=[("t", "<f8"), ("x", "<i8"), ("p", "<i8")])
            ev["t"], ev["x"] = (steps + 0.5) * dt * 1e6, units
            self.items.append((ev, int(label)))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def adam(params, grads, state, lr=1e-2, b1=0.9, b2=0.999, eps=1e-8):
    state["t"] = state.get("t", 0) + 1
    for k, g in grads.items():
        m, v = state.setdefault(k, (np.zeros_like(g), np.zeros_like(g)))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        state[k] = (m, v)
        params[k] -= lr * (m / (1 - b1 ** state["t"])) / (np.sqrt(v / (1 - b2 ** state["t"])) + eps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--shd", default=None, help="folder of tonic's SHD download (needs tonic)")
    ap.add_argument("--samples-per-class", type=int, default=300)
    a = ap.parse_args()

    cfg = spikeflux.Config.default()
    dt, steps = cfg["model.dt"], cfg["data.randman.n_steps"]
    if a.shd:
        import tonic

        train_set, test_set = (tonic.datasets.SHD(save_to=a.shd, train=t) for t in (True, False))
        steps, dt = 250, 4e-3
        cfg["data"] = {"hdf5": {"train_file": "unused", "test_file": "unused", "n_steps": steps, "n_in": 700, "n_classes": 20}}
        cfg["model.dt"] = dt
    else:
        data = spikeflux.randman(dt=dt, samples_per_class=a.samples_per_class)
        train_set, test_set = RandmanEvents(data["train"], dt), RandmanEvents(data["test"], dt)
    train = spikeflux.from_tonic_dataset(train_set, n_steps=steps, dt=dt)
    test = spikeflux.from_tonic_dataset(test_set, n_steps=steps, dt=dt)
    print(f"{len(train['labels'])} training samples binned to {train['inputs'].shape[1:]} (steps, channels)")

    net = spikeflux.Network.from_config(cfg)
    params, state = net.weights(), {}
    rng = np.random.default_rng(0)

    def accuracy(split):
        readout = net.run(split["inputs"])
        return float((readout.max(axis=1).argmax(axis=1) == split["labels"]).mean())

    print(f"before training: test accuracy {100 * accuracy(test):.1f} %")
    for epoch in range(a.epochs):
        order = rng.permutation(len(train["labels"]))
        losses = []
        for i in range(0, len(order), a.batch_size):
            idx = order[i:i + a.batch_size]
            loss, grads = net.loss_and_grad(train["inputs"][idx], train["labels"][idx].tolist())
            adam(params, grads, state)
            net.set_weights(params)
            losses.append(loss)
        print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f}")
    acc = accuracy(test)
    print(f"after {a.epochs} epochs: test accuracy {100 * acc:.1f} %")
    return acc


if __name__ == "__main__":
    main()

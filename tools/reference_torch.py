"""Independent PyTorch (autograd) implementation of the reference semantics of spec §1 (stork).

Written from the spec, not from spikeflux's code: a straight loop over time with an evolve phase
(every group updates from its own previous state and its input buffer) followed by a propagate phase
(every connection adds W @ out_t into its target's buffer), autograd for the backward pass, and the
SuperSpike surrogate as a custom autograd function. Used for golden fixtures (tools/make_golden.py)
and as a peer in the benchmarks (bench/).

Weights use PyTorch's layout [out, in]; recurrent weights are [dst, src].
"""
import math

import torch
import torch.nn.functional as F


class SuperSpike(torch.autograd.Function):
    """Heaviside forward (strict >), SuperSpike surrogate 1/(beta|x|+1)^2 backward."""

    beta = 20.0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (SuperSpike.beta * x.abs() + 1.0) ** 2


def decay(dt, tau):
    """exp(-dt/tau); 0 for tau = 0 (no synaptic filter)."""
    return math.exp(-dt / tau) if tau > 0 else 0.0


class ReferenceNet(torch.nn.Module):
    """Input -> LIF layers (dense, conv1d or conv2d, optionally recurrent / adaptive / max-pooled) -> leaky readout.

    layers: list of dicts {size, recurrent, tau_mem, tau_syn, adaptation: None or (tau_ada, a),
            conv: None or {kernel, stride, padding, rec_kernel}, pool: 1,
            dale: None or {n_inh, tau_inh}}
    A conv layer is 1-D (F.conv1d, max_pool1d) on a (channels, positions) source with numbers for
    kernel, stride and padding, and 2-D (F.conv2d, max_pool2d with k x k windows, a k x k recurrent
    kernel) on a (channels, height, width) source with [rows, columns] pairs.
    A Dale layer (spec §1.4, §3.2) is two groups, E (size) then I (n_inh), each with an excitatory
    (tau_syn) and an inhibitory (tau_inh) current, and six separate weight tensors XE, XI, II, IE and,
    if recurrent, EI, EE, propagated in that order; only E feeds the next layer.
    input_shape: (channels, positions) or (channels, height, width) of the input; a dense layer
    flattens its source (C order). Inputs may be counts (any non-negative values).
    step_order: "reference" (spec §1.1, the evolve/propagate loop) or "nir" (the order in which Norse
    and snnTorch step a NIR graph: each layer's current from this step's input and its own previous
    spikes, the membrane from the new current, spike and reset to zero in the same step; the readout
    from its new current; no Dale layers or adaptation), or "snntorch" ("nir" with snnTorch's default
    reset_delay=True: the step after a spike is zeroed whole, its input discarded).
    """

    def __init__(self, n_in, n_out, layers, readout, dt, beta=20.0, dtype=torch.float32, input_shape=None,
                 step_order="reference"):
        super().__init__()
        self.n_in, self.n_out, self.layers, self.readout, self.dt, self.beta = n_in, n_out, layers, readout, dt, beta
        self.step_order = step_order
        self.ff = torch.nn.ParameterList()
        self.rec = torch.nn.ParameterList()
        self.has_rec = []
        self.shapes = []  # (in_shape, group_shape, out_shape) per layer
        shape = tuple(input_shape) if input_shape else (n_in, 1)
        self.dale = torch.nn.ParameterDict()
        for i, l in enumerate(layers):
            cv = l.get("conv")
            nx = math.prod(shape)
            if l.get("dale"):
                ne, ni = l["size"], l["dale"]["n_inh"]
                conns = dict(XE=(ne, nx), XI=(ni, nx), II=(ni, ni), IE=(ne, ni))
                if l["recurrent"]:
                    conns.update(EI=(ni, ne), EE=(ne, ne))
                for name, sh in conns.items():
                    self.dale[f"{i}_{name}"] = torch.nn.Parameter(torch.zeros(*sh, dtype=dtype))
                self.ff.append(torch.nn.Parameter(torch.zeros(0, dtype=dtype)))  # placeholder, unused
                self.has_rec.append(False)
                out = (ne, 1)
                self.shapes.append((shape, (ne + ni, 1), out))
                shape = out
                continue
            k = l.get("pool", 1)
            if cv:
                c_in, spatial = shape[0], shape[1:]
                two_d = len(spatial) == 2
                ax = lambda v: tuple(v) if two_d else (v,)
                kern, stride, pad = ax(cv["kernel"]), ax(cv["stride"]), ax(cv["padding"])
                size = tuple((n + 2 * p - kk) // st + 1 for n, kk, st, p in zip(spatial, kern, stride, pad))
                group = (l["size"],) + size
                self.ff.append(torch.nn.Parameter(torch.zeros(l["size"], c_in, *kern, dtype=dtype)))
                if l["recurrent"]:
                    rk = (cv["rec_kernel"],) * len(spatial)
                    self.rec.append(torch.nn.Parameter(torch.zeros(l["size"], l["size"], *rk, dtype=dtype)))
                out = (group[0],) + tuple(n // k for n in size)
            else:
                group = (l["size"], 1)
                self.ff.append(torch.nn.Parameter(torch.zeros(l["size"], nx, dtype=dtype)))
                if l["recurrent"]:
                    self.rec.append(torch.nn.Parameter(torch.zeros(l["size"], l["size"], dtype=dtype)))
                out = group
            self.has_rec.append(l["recurrent"])
            self.shapes.append((shape, group, out))
            shape = out
        self.w_out = torch.nn.Parameter(torch.zeros(n_out, math.prod(shape), dtype=dtype))

    def ff_input(self, i, src):
        """Layer i's feed-forward input from the flat source src [B, n_src]."""
        l, (shape, _, _) = self.layers[i], self.shapes[i]
        cv = l.get("conv")
        if not cv:
            return src @ self.ff[i].T
        B = src.shape[0]
        if len(shape) == 3:
            y = F.conv2d(src.reshape(B, *shape), self.ff[i], stride=tuple(cv["stride"]), padding=tuple(cv["padding"]))
        else:
            y = F.conv1d(src.reshape(B, *shape), self.ff[i], stride=cv["stride"], padding=cv["padding"])
        return y.reshape(B, -1)

    def rec_input(self, i, r, s):
        """Layer i's recurrent input from its own spikes s [B, n] (recurrent weight r)."""
        l, (_, group, _) = self.layers[i], self.shapes[i]
        cv = l.get("conv")
        if not cv:
            return s @ self.rec[r].T
        B, p = s.shape[0], cv["rec_kernel"] // 2
        conv = F.conv2d if len(group) == 3 else F.conv1d
        return conv(s.reshape(B, *group), self.rec[r], padding=p).reshape(B, -1)

    def pooled(self, i, s):
        """What layer i passes on of its spikes s [B, n]: max-pooled (no added delay) or s."""
        l, (_, group, _) = self.layers[i], self.shapes[i]
        k = l.get("pool", 1)
        if k == 1:
            return s
        pool = F.max_pool2d if len(group) == 3 else F.max_pool1d
        return pool(s.reshape(s.shape[0], *group), k).reshape(s.shape[0], -1)

    def named_weights(self):
        out, r = [], 0
        for i, l in enumerate(self.layers):
            if l.get("dale"):
                for name in ["XE", "XI", "II", "IE", "EI", "EE"]:
                    if f"{i}_{name}" in self.dale:
                        out.append((f"hidden.{i}.{name}", self.dale[f"{i}_{name}"]))
                continue
            out.append((f"hidden.{i}.ff.weight", self.ff[i]))
            if l["recurrent"]:
                out.append((f"hidden.{i}.rec.weight", self.rec[r]))
                r += 1
        out.append(("readout.weight", self.w_out))
        return out

    def forward(self, x):
        """x: dense input [B, T, n_in]. Returns (V [B, T, C], spikes per group [B, T, n], membranes
        per group); a Dale layer contributes two groups (E, then I), every other layer one."""
        SuperSpike.beta = self.beta
        if self.step_order in ("nir", "snntorch"):
            return self.forward_nir(x)
        B, T, _ = x.shape
        dt = self.dt
        dev, dt_ = x.device, x.dtype
        U = [torch.zeros(B, math.prod(g[1]), device=dev, dtype=dt_) for g in self.shapes]
        I = [torch.zeros_like(u) for u in U]
        Q = [torch.zeros_like(u) for u in U]
        S = [torch.zeros_like(u) for u in U]
        X = [torch.zeros_like(u) for u in U]
        V = torch.full((B, self.n_out), self.readout["initial_state"], device=dev, dtype=dt_)
        Ir = torch.zeros(B, self.n_out, device=dev, dtype=dt_)
        Xr = torch.zeros_like(Ir)
        outs, spikes, mems = [], [[] for _ in self.layers], [[] for _ in self.layers]
        # Dale layers: per group (E, I) membrane, exc current, inh current, exc and inh input buffers
        dl = {}
        for i, l in enumerate(self.layers):
            if l.get("dale"):
                z = lambda n: torch.zeros(B, n, device=dev, dtype=dt_)
                ne, ni = l["size"], l["dale"]["n_inh"]
                dl[i] = {g: dict(U=z(n), E=z(n), J=z(n), S=z(n), Xe=z(n), Xi=z(n)) for g, n in (("E", ne), ("I", ni))}
                spikes[i] = dict(E=[], I=[])
                mems[i] = dict(E=[], I=[])
        bmr, bsr = decay(dt, self.readout["tau_mem"]), decay(dt, self.readout["tau_syn"])
        for t in range(T):
            # evolve phase: each group from its own previous state and the buffer filled at t-1
            for i, l in enumerate(self.layers):
                bm, bs = decay(dt, l["tau_mem"]), decay(dt, l["tau_syn"])
                if l.get("dale"):
                    bi = decay(dt, l["dale"]["tau_inh"])
                    for g in ("E", "I"):
                        st = dl[i][g]
                        s_new = SuperSpike.apply(st["U"] - 1.0)
                        st["U"] = (bm * st["U"] + (1.0 - bm) * (st["E"] - st["J"])) * (1.0 - s_new.detach())
                        st["E"] = bs * st["E"] + st["Xe"]
                        st["J"] = bi * st["J"] + st["Xi"]
                        st["S"] = s_new
                        st["Xe"] = torch.zeros_like(st["Xe"])
                        st["Xi"] = torch.zeros_like(st["Xi"])
                        spikes[i][g].append(s_new)
                        mems[i][g].append(st["U"])
                    continue
                s_new = SuperSpike.apply(U[i] - 1.0)
                if l.get("adaptation"):
                    tau_a, a = l["adaptation"]
                    drive = I[i] - a * Q[i]
                    Q[i] = decay(dt, tau_a) * Q[i] + S[i]  # previous step's spike
                else:
                    drive = I[i]
                U[i] = (bm * U[i] + (1.0 - bm) * drive) * (1.0 - s_new.detach())
                I[i] = bs * I[i] + X[i]
                S[i] = s_new
                X[i] = torch.zeros_like(X[i])
                spikes[i].append(S[i])
                mems[i].append(U[i])
            V = bmr * V + (1.0 - bmr) * Ir
            Ir = bsr * Ir + Xr
            Xr = torch.zeros_like(Xr)
            outs.append(V)
            # propagate phase, connections in insertion order
            src = x[:, t]
            r = 0
            for i, l in enumerate(self.layers):
                if l.get("dale"):
                    E, I, w = dl[i]["E"], dl[i]["I"], lambda n: self.dale[f"{i}_{n}"]
                    E["Xe"] = E["Xe"] + src @ w("XE").T
                    I["Xe"] = I["Xe"] + src @ w("XI").T
                    I["Xi"] = I["Xi"] + I["S"] @ w("II").T
                    E["Xi"] = E["Xi"] + I["S"] @ w("IE").T
                    if l["recurrent"]:
                        I["Xe"] = I["Xe"] + E["S"] @ w("EI").T
                        E["Xe"] = E["Xe"] + E["S"] @ w("EE").T
                    src = E["S"]
                    continue
                X[i] = X[i] + self.ff_input(i, src)
                if self.has_rec[i]:
                    X[i] = X[i] + self.rec_input(i, r, S[i])
                    r += 1
                # a pooling group evolves in the same step as its parent: no added delay
                src = self.pooled(i, S[i])
            Xr = Xr + src @ self.w_out.T
        V = torch.stack(outs, 1)
        flat = lambda xs: [torch.stack(x, 1) for s in xs for x in (s.values() if isinstance(s, dict) else [s])]
        return V, flat(spikes), flat(mems)


def _forward_nir(self, x):
    """forward() in the "nir" or "snntorch" step order. Membranes are reported before the reset."""
    B, T, _ = x.shape
    dt, dev, dt_ = self.dt, x.device, x.dtype
    n = [math.prod(g[1]) for g in self.shapes]
    U = [torch.zeros(B, k, device=dev, dtype=dt_) for k in n]
    I = [torch.zeros_like(u) for u in U]
    S = [torch.zeros_like(u) for u in U]
    V = torch.full((B, self.n_out), self.readout["initial_state"], device=dev, dtype=dt_)
    Ir = torch.zeros(B, self.n_out, device=dev, dtype=dt_)
    bmr, bsr = decay(dt, self.readout["tau_mem"]), decay(dt, self.readout["tau_syn"])
    outs, spikes, mems = [], [[] for _ in self.layers], [[] for _ in self.layers]
    for t in range(T):
        src, r = x[:, t], 0
        for i, l in enumerate(self.layers):
            assert not l.get("dale") and not l.get("adaptation"), "the nir step order has no Dale or adaptive layers"
            a = self.ff_input(i, src)
            if self.has_rec[i]:
                a = a + self.rec_input(i, r, S[i])
                r += 1
            bm, bs = decay(dt, l["tau_mem"]), decay(dt, l["tau_syn"])
            I[i] = bs * I[i] + a
            u = bm * U[i] + (1.0 - bm) * I[i]
            if self.step_order == "snntorch":
                u = u * (1.0 - S[i].detach())  # the previous step's spike resets this step
            S[i] = SuperSpike.apply(u - 1.0)
            U[i] = u if self.step_order == "snntorch" else u * (1.0 - S[i].detach())
            spikes[i].append(S[i])
            mems[i].append(u)
            src = self.pooled(i, S[i])
        Ir = bsr * Ir + src @ self.w_out.T
        V = bmr * V + (1.0 - bmr) * Ir
        outs.append(V)
    return torch.stack(outs, 1), [torch.stack(s, 1) for s in spikes], [torch.stack(m, 1) for m in mems]


ReferenceNet.forward_nir = _forward_nir


def loss_fn(V, spikes, labels, loss="max-over-time", regs=(), channels=None):
    if loss == "max-over-time":
        z = V.max(1).values
    elif loss == "sum-over-time":
        z = V.sum(1)
    else:
        z = V[:, -1]
    ce = torch.nn.functional.cross_entropy(z, labels)
    reg = torch.zeros((), dtype=V.dtype)
    for li, s in enumerate(spikes):
        cnt = s.sum(1)  # [B, n]
        for r in regs:
            if r["scope"] == "population":
                c = cnt.mean(1)
            elif r["scope"] == "channel":
                nc = channels[li] if channels else cnt.shape[1]
                c = cnt.reshape(cnt.shape[0], nc, -1).mean(-1)
            else:
                c = cnt
            e = torch.relu(c - r["threshold"]) if r["bound"] == "upper" else torch.relu(r["threshold"] - c)
            reg = reg + r["strength"] * (e ** 2).mean()
    return ce, reg, z


def smorms3_step(params, state, lr=5e-3, eps=1e-16):
    """stork's SMORMS3 (spec §3.3)."""
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            st = state.setdefault(id(p), [torch.ones_like(p), torch.zeros_like(p), torch.zeros_like(p)])
            mem, g, g2 = st
            r = 1.0 / (mem + 1.0)
            g.mul_(1 - r).addcmul_(r, p.grad)
            g2.mul_(1 - r).addcmul_(r, p.grad * p.grad)
            q = g * g / (g2 + eps)
            mem.mul_(1 - q).add_(1.0)
            p.sub_(torch.minimum(q, torch.full_like(q, lr)) * p.grad / (g2.sqrt() + eps))

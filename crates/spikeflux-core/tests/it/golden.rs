//! Tier 3: spiking runs (reset on) against golden values from the independent PyTorch autograd
//! implementation (`tools/reference_torch.py`, fixtures by `tools/make_golden.py`, f64).
//! Readout traces, spike counts, losses and every weight gradient must match to 1e-4 relative.

use spikeflux_core::data::SpikeDataset;
use spikeflux_core::engine::{self, Bound, EngineOptions, LossKind, RegScope, Regularizer, Workspace};
use spikeflux_core::network::{LayerSpec, Network, NetworkSpec};
use spikeflux_core::neuron::{Adaptation, LifParams, ReadoutParams, Surrogate};
use serde_json::Value;

const FIXTURE: &str = include_str!("../fixtures/golden.json");

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn close(a: f64, b: f64, scale: f64, what: &str) {
    let tol = 1e-4 * b.abs() + 1e-6 * scale;
    assert!((a - b).abs() <= tol, "{what}: spikeflux {a} vs reference {b}");
}

#[test]
fn matches_pytorch_autograd_reference() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    let cases = root["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let (n_in, n_out, t, b) = (
            c["n_in"].as_u64().unwrap() as usize,
            c["n_out"].as_u64().unwrap() as usize,
            c["T"].as_u64().unwrap() as usize,
            c["B"].as_u64().unwrap() as usize,
        );
        let hidden = c["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| LayerSpec {
                size: l["size"].as_u64().unwrap() as usize,
                recurrent: l["recurrent"].as_bool().unwrap(),
                lif: LifParams {
                    tau_mem: f(&l["tau_mem"]),
                    tau_syn: f(&l["tau_syn"]),
                    adaptation: l.get("adaptation").map(|a| Adaptation { tau_ada: f(&a[0]), a: f(&a[1]) }),
                },
            })
            .collect();
        let spec = NetworkSpec {
            n_in,
            n_out,
            dt: 1e-3,
            hidden,
            readout: ReadoutParams { tau_mem: 50e-3, tau_syn: 10e-3, initial_state: -1e-2 },
            surrogate: Surrogate::SuperSpike { beta: 20.0 },
        };
        let mut net = Network::zeros(spec).unwrap();
        for (tname, range, [ni, no]) in net.layout.tensors(&net.spec) {
            let w = c["weights"][&tname].as_array().unwrap();
            for o in 0..no {
                for i in 0..ni {
                    net.params[range.start + i * no + o] = f(&w[o][i]) as f32;
                }
            }
        }
        let samples: Vec<Vec<(u32, u32)>> = c["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_array().unwrap().iter().map(|e| (e[0].as_u64().unwrap() as u32, e[1].as_u64().unwrap() as u32)).collect())
            .collect();
        let labels: Vec<usize> = c["labels"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap() as usize).collect();
        let ds = SpikeDataset::from_samples(n_in, n_out, t, 1e-3, samples, labels).unwrap();
        let regs = c["regs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| Regularizer {
                bound: if r["bound"] == "upper" { Bound::Upper } else { Bound::Lower },
                strength: f(&r["strength"]) as f32,
                threshold: f(&r["threshold"]) as f32,
                scope: if r["scope"] == "population" { RegScope::Population } else { RegScope::Neuron },
            })
            .collect();
        let loss = match c["loss"].as_str().unwrap() {
            "max-over-time" => LossKind::MaxOverTime,
            "sum-over-time" => LossKind::SumOverTime,
            _ => LossKind::LastStep,
        };
        let opts = EngineOptions { loss, regularizers: regs, ..Default::default() };
        let mut ws = Workspace::new(&net.spec, net.layout.total, t, b);
        ws.load(&ds, &(0..b).collect::<Vec<_>>());
        engine::forward(&net, &opts, &mut ws);
        engine::loss(&net, &opts, &mut ws, b);
        engine::backward(&net, &opts, &mut ws);
        // spike counts are exact
        for (l, want) in c["spike_counts"].as_array().unwrap().iter().enumerate() {
            assert_eq!(ws.stats.spikes[l], f(want), "{name}: spikes of layer {l}");
        }
        // readout traces [B, T, C] in the reference, [T, B, C] here
        let v = &c["readout"];
        for bi in 0..b {
            for ti in 0..t {
                for k in 0..n_out {
                    close(ws.rv[(ti * b + bi) * n_out + k] as f64, f(&v[bi][ti][k]), 1.0, &format!("{name}: V[{bi},{ti},{k}]"));
                }
            }
        }
        close(ws.stats.ce_sum / b as f64, f(&c["ce"]), 1.0, &format!("{name}: cross-entropy"));
        close(ws.stats.reg_loss, f(&c["reg"]), 1.0, &format!("{name}: regularizer loss"));
        for (tname, range, [ni, no]) in net.layout.tensors(&net.spec) {
            let g = c["grads"][&tname].as_array().unwrap();
            let scale = g.iter().flat_map(|r| r.as_array().unwrap().iter().map(|x| f(x).abs())).fold(0.0, f64::max);
            assert!(scale > 0.0, "{name}: {tname} has an all-zero reference gradient");
            for o in 0..no {
                for i in 0..ni {
                    close(ws.grads[range.start + i * no + o] as f64, f(&g[o][i]), scale, &format!("{name}: ∂{tname}[{o},{i}]"));
                }
            }
        }
    }
}

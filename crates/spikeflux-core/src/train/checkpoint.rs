//! Trained weights as safetensors files.
//!
//! Tensor names and layouts (PyTorch's `[out, in]`, f32, so stork code can load them directly):
//!
//! | name | shape |
//! |---|---|
//! | `hidden.{l}.ff.weight` | dense `[n_l, n_in_l]`; convolution `[filters, c_in, kernel]` |
//! | `hidden.{l}.rec.weight` | dense `[n_l, n_l]` (`[dst, src]`); convolution `[filters, filters, rec_kernel]` (recurrent layers only) |
//! | `readout.weight` | `[n_out, n_last]` (n_last = flattened, pooled last layer, channel-major) |
//!
//! The file's metadata holds `format = "spikeflux-weights-v1"` and anything the caller adds (the
//! CLI stores the config). Files are written to a temporary name and renamed, so a crash never
//! leaves a half-written checkpoint.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::data::files::write_atomic;
use crate::error::{Error, Result};
use crate::network::Network;

/// Serializes the network's weights (PyTorch layout) with `metadata`.
pub fn to_bytes(net: &Network, metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let mut meta = metadata;
    meta.insert("format".into(), "spikeflux-weights-v1".into());
    let tensors = net.tensors();
    let bufs: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .into_iter()
        .map(|t| {
            let bytes = t.to_torch(&net.params).iter().flat_map(|x| x.to_le_bytes()).collect();
            (t.name, bytes, t.torch_shape)
        })
        .collect();
    let views: Vec<(String, TensorView)> = bufs
        .iter()
        .map(|(n, b, s)| TensorView::new(Dtype::F32, s.clone(), b).map(|v| (n.clone(), v)))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Weights { path: "<memory>".into(), message: e.to_string() })?;
    serialize(views, meta, Path::new("<memory>"))
}

/// `safetensors::serialize` with the header's keys in sorted order, so that the same tensors and
/// metadata always give the same bytes (the crate writes its metadata map in hash order, which
/// differs between processes). The header stays padded with spaces to a multiple of 8 bytes; the
/// tensor data and its offsets are unchanged. `path` names the file in errors.
fn serialize(views: Vec<(String, TensorView)>, meta: HashMap<String, String>, path: &Path) -> Result<Vec<u8>> {
    let err = |m: String| Error::Weights { path: path.into(), message: m };
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| err(e.to_string()))?;
    let n = u64::from_le_bytes(bytes[..8].try_into().map_err(|_| err("short header".into()))?) as usize;
    // top-level keys sorted by the BTreeMap; the nested objects (tensor entries, the metadata
    // map) come out sorted too, serde_json's objects being ordered maps
    let header: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).map_err(|e| err(format!("header: {e}")))?;
    let mut h = serde_json::to_vec(&header).map_err(|e| err(format!("header: {e}")))?;
    h.resize(h.len().div_ceil(8) * 8, b' ');
    let mut out = Vec::with_capacity(8 + h.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Saves the weights to `path` atomically.
pub fn save(net: &Network, path: &Path, metadata: HashMap<String, String>) -> Result<()> {
    write_atomic(path, &to_bytes(net, metadata)?)
}

/// Loads weights from `path` into `net`, checking every name and shape; returns the metadata.
///
/// # Errors
/// [`Error::Weights`] naming the missing or mis-shaped tensor.
pub fn load(net: &mut Network, path: &Path) -> Result<HashMap<String, String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    load_bytes(net, &bytes, path)
}

/// [`load`] on the bytes of a weights file; `path` names it in errors.
///
/// # Errors
/// As [`load`].
pub fn load_bytes(net: &mut Network, bytes: &[u8], path: &Path) -> Result<HashMap<String, String>> {
    let err = |m: String| Error::Weights { path: path.into(), message: m };
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| err(format!("not a safetensors file ({e})")))?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| err(format!("not a safetensors file ({e})")))?;
    for info in net.tensors() {
        let name = &info.name;
        let t = st.tensor(name).map_err(|_| {
            err(format!("tensor `{name}` is missing: the file was saved for a different architecture than this network"))
        })?;
        if t.dtype() != Dtype::F32 || t.shape() != info.torch_shape.as_slice() {
            return Err(err(format!(
                "tensor `{name}` has {:?} {:?}, expected F32 {:?}: the network's layer sizes differ from the file's",
                t.dtype(),
                t.shape(),
                info.torch_shape
            )));
        }
        let d = t.data();
        info.from_torch(|k| f32::from_le_bytes([d[4 * k], d[4 * k + 1], d[4 * k + 2], d[4 * k + 3]]), &mut net.params);
    }
    if net.params.iter().any(|x| !x.is_finite()) {
        return Err(err("contains NaN or infinite weights".into()));
    }
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// Saves a resumable training checkpoint: the weights (as in [`save`]), the optimizer state
/// (`optim.state0`, `optim.state1`, `optim.state2`, flat f32) and `epochs_done` / `optim_step` in the
/// metadata. Written atomically, so an interrupted run always finds the last complete epoch.
pub fn save_training(
    net: &Network,
    opt: &crate::train::optim::Optimizer,
    epochs_done: usize,
    path: &Path,
    metadata: HashMap<String, String>,
) -> Result<()> {
    let mut meta = metadata;
    let (a, b, c, step) = opt.state();
    meta.insert("epochs_done".into(), epochs_done.to_string());
    meta.insert("optim_step".into(), step.to_string());
    // weights first, then the optimizer state appended as extra tensors
    let weights = to_bytes(net, meta.clone())?;
    let st = SafeTensors::deserialize(&weights).map_err(|e| Error::Weights { path: path.into(), message: e.to_string() })?;
    let mut owned: Vec<(String, Vec<u8>, Vec<usize>)> =
        st.tensors().into_iter().map(|(n, v)| (n, v.data().to_vec(), v.shape().to_vec())).collect();
    for (k, v) in [a, b, c].iter().enumerate() {
        owned.push((format!("optim.state{k}"), v.iter().flat_map(|x| x.to_le_bytes()).collect(), vec![v.len()]));
    }
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(n, d, s)| TensorView::new(Dtype::F32, s.clone(), d).map(|v| (n.clone(), v)))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Weights { path: path.into(), message: e.to_string() })?;
    meta.insert("format".into(), "spikeflux-weights-v1".into());
    write_atomic(path, &serialize(views, meta, path)?)
}

/// Loads a checkpoint written by [`save_training`] into `net` and `opt`; returns the epochs done
/// and the metadata.
///
/// # Errors
/// [`Error::Weights`] when the file does not match the network or lacks the optimizer state.
pub fn load_training(
    net: &mut Network,
    opt: &mut crate::train::optim::Optimizer,
    path: &Path,
) -> Result<(usize, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    load_training_bytes(net, opt, &bytes, path)
}

/// [`load_training`] on the bytes of a checkpoint; `path` names it in errors.
///
/// # Errors
/// As [`load_training`].
pub fn load_training_bytes(
    net: &mut Network,
    opt: &mut crate::train::optim::Optimizer,
    bytes: &[u8],
    path: &Path,
) -> Result<(usize, HashMap<String, String>)> {
    let meta = load_bytes(net, bytes, path)?;
    let err = |m: String| Error::Weights { path: path.into(), message: m };
    let st = SafeTensors::deserialize(bytes).map_err(|e| err(e.to_string()))?;
    let read = |k: usize| -> Result<Vec<f32>> {
        let t = st.tensor(&format!("optim.state{k}")).map_err(|_| err("has no optimizer state; it is a weights file, not a checkpoint".into()))?;
        if t.dtype() != Dtype::F32 {
            return Err(err(format!("optimizer state `optim.state{k}` is {:?}, not F32", t.dtype())));
        }
        let v: Vec<f32> = t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(err(format!("optimizer state `optim.state{k}` contains NaN or infinite values")));
        }
        Ok(v)
    };
    let (a, b, c) = (read(0)?, read(1)?, read(2)?);
    let num = |k: &str| -> Result<u64> {
        meta.get(k).and_then(|v| v.parse().ok()).ok_or_else(|| err(format!("metadata lacks `{k}`")))
    };
    let (epochs, step) = (num("epochs_done")? as usize, num("optim_step")?);
    if !opt.set_state(&a, &b, &c, step) {
        return Err(err("optimizer state has the wrong size for this network".into()));
    }
    Ok((epochs, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Shape;
    use crate::network::{LayerSpec, NetworkSpec};
    use crate::neuron::{LifParams, ReadoutParams, Surrogate};

    fn net() -> Network {
        let spec = NetworkSpec {
            input: Shape::flat(3),
            n_out: 2,
            dt: 1e-3,
            hidden: vec![LayerSpec::dense(4, true, LifParams::default())],
            readout: ReadoutParams::default(),
            surrogate: Surrogate::default(),
            step_order: Default::default(),
        };
        let mut net = Network::zeros(spec).unwrap();
        for (i, w) in net.params.iter_mut().enumerate() {
            *w = i as f32 * 0.25 - 3.0;
        }
        net
    }

    /// Identical weights and metadata give identical bytes, whatever the order of the metadata map
    /// (each HashMap has its own random order), and the file reads back exactly.
    #[test]
    fn same_weights_same_bytes() {
        let n = net();
        let meta = |order: &[usize]| -> HashMap<String, String> {
            let kv = [("config", "a = 1"), ("epochs", "3"), ("seed", "7"), ("train_seconds", "1.5"), ("zeta", "z")];
            order.iter().map(|&i| (kv[i].0.to_string(), kv[i].1.to_string())).collect()
        };
        let a = to_bytes(&n, meta(&[0, 1, 2, 3, 4])).unwrap();
        for _ in 0..8 {
            assert_eq!(a, to_bytes(&n, meta(&[4, 2, 0, 3, 1])).unwrap());
        }
        let hl = u64::from_le_bytes(a[..8].try_into().unwrap()) as usize;
        assert_eq!(hl % 8, 0);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.safetensors");
        std::fs::write(&p, &a).unwrap();
        let mut m = net();
        m.params.fill(0.0);
        let back = load(&mut m, &p).unwrap();
        assert_eq!(m.params, n.params);
        assert_eq!(back.get("seed").map(String::as_str), Some("7"));
    }
}

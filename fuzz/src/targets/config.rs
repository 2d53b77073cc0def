//! TOML configs: a structure-aware mutator over the shipped configs (values replaced by boundary
//! numbers of every type, keys deleted or added from the configs' own vocabulary, arrays of layers
//! duplicated, emptied or cut) and the path `spikeflux train` takes before it touches data: parse,
//! validate, resource check, network spec, and the network built and initialized.

use arbitrary::Unstructured;
use spikeflux_cli::config::RunConfig;
use spikeflux_core::network::Network;
use toml::Value;

use super::Outcome;

/// The memory limit the resource check is given (the `train.max_memory_gib` knob at 1/16 GiB):
/// whatever it accepts must build within it.
pub const LIMIT_BYTES: usize = 64 << 20;

macro_rules! configs {
    ($($name:literal),*) => {
        vec![$(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/", $name)).as_bytes().to_vec()),*]
    };
}

/// Every config in `configs/`.
pub fn seeds() -> Vec<Vec<u8>> {
    configs!(
        "digits-dale.toml",
        "digits.toml",
        "fashion-mnist.toml",
        "fsdd-rcsnn.toml",
        "fsdd-rlif.toml",
        "randman-shallow.toml",
        "shd-dale.toml",
        "shd-deep-ff.toml",
        "shd-rcsnn.toml",
        "ssc-deep-ff.toml",
        "ssc-rcsnn.toml"
    )
}

const INTS: [i64; 14] = [0, 1, -1, 2, 3, 7, 64, 65_536, 65_537, 1 << 24, (1 << 24) + 1, 100_000_000, i64::MAX, i64::MIN];
const FLOATS: [f64; 19] = [
    0.0, -0.0, 1e-12, 1e-9, 1e-6, 1e-3, 0.5, 1.0, 2.0, 1e3, 1e6, 1e9, 1e30, 1e300, -1e300, 5e-324, f64::NAN, f64::INFINITY,
    f64::NEG_INFINITY,
];
const WORDS: [&str; 14] = [
    "", "data", "fd", "fluctuation_driven", "kaiming", "adam", "smorms3", "max_over_time", "sum_over_time", "dense", "none",
    "/nonexistent/file.h5", "../../x.h5", "ÿ\u{0}",
];

fn number(u: &mut Unstructured) -> arbitrary::Result<Value> {
    Ok(match u.int_in_range(0..=3)? {
        0 => Value::Integer(*u.choose(&INTS)?),
        1 => Value::Float(*u.choose(&FLOATS)?),
        2 => Value::Integer(u.int_in_range(-10..=1000)?),
        _ => Value::Float(f64::from(u.int_in_range(-1000..=100_000)?) * 1e-3),
    })
}

fn value(u: &mut Unstructured, vocabulary: &[String]) -> arbitrary::Result<Value> {
    Ok(match u.int_in_range(0..=9)? {
        0..=4 => number(u)?,
        5 => Value::String(u.choose(&WORDS)?.to_string()),
        6 => Value::Boolean(u.arbitrary()?),
        7 => Value::Array((0..u.int_in_range(0..=3)?).map(|_| number(u)).collect::<arbitrary::Result<_>>()?),
        8 => Value::Table(toml::Table::new()),
        _ => {
            let mut t = toml::Table::new();
            t.insert(u.choose(vocabulary)?.clone(), number(u)?);
            Value::Table(t)
        }
    })
}

/// A random node below `v` (never `v` itself when it has children).
fn pick<'a>(u: &mut Unstructured, v: &'a mut Value, root: bool) -> &'a mut Value {
    let n = match v {
        Value::Table(t) => t.len(),
        Value::Array(a) => a.len(),
        _ => 0,
    };
    if n == 0 || (!root && u.ratio(1, 8).unwrap_or(true)) {
        return v;
    }
    let k = u.choose_index(n).unwrap_or(0).min(n - 1);
    if let Value::Array(a) = v {
        return pick(u, &mut a[k], false);
    }
    match v {
        Value::Table(t) => pick(u, t.iter_mut().nth(k).expect("k < the table's length").1, false),
        other => other,
    }
}

fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Table(t) => {
            for (k, c) in t {
                out.push(k.clone());
                keys(c, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| keys(c, out)),
        _ => {}
    }
}

fn mutate_tree(u: &mut Unstructured, root: &mut Value, vocabulary: &[String]) -> arbitrary::Result<()> {
    let op = u.int_in_range(0..=9)?;
    let node = pick(u, root, true);
    match (op, node) {
        // mostly a value of the same type (past the parser, into validation)
        (0..=3, Value::Integer(i)) => *i = *u.choose(&INTS)?,
        (0..=3, Value::Float(x)) => *x = *u.choose(&FLOATS)?,
        (0..=3, Value::String(s)) => *s = u.choose(&WORDS)?.to_string(),
        (0..=4, n) => *n = value(u, vocabulary)?,
        (5, Value::Table(t)) if !t.is_empty() => {
            let k = u.choose_index(t.len())?;
            if let Some(key) = t.keys().nth(k).cloned() {
                t.remove(&key);
            }
        }
        (5 | 6, Value::Table(t)) => {
            t.insert(u.choose(vocabulary)?.clone(), value(u, vocabulary)?);
        }
        (7, Value::Array(a)) if !a.is_empty() => {
            // more layers (up to 40 copies of one), or fewer
            let k = u.choose_index(a.len())?;
            let copies = *u.choose(&[1usize, 2, 5, 40])?;
            let item = a[k].clone();
            a.extend(std::iter::repeat_n(item, copies));
        }
        (8, Value::Array(a)) => a.truncate(u.int_in_range(0..=a.len())?),
        (_, Value::Integer(i)) => *i = i.wrapping_mul(*u.choose(&[-1i64, 10, 1000, 1 << 20])?),
        (_, Value::Float(x)) => *x *= *u.choose(&[-1.0, 1e-3, 10.0, 1e6])?,
        (_, n) => *n = value(u, vocabulary)?,
    }
    Ok(())
}

/// A shipped config with 1–4 structural mutations; one in eight also gets byte mutations of its
/// text (syntax errors, broken UTF-8).
pub fn make(entropy: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut u = Unstructured::new(entropy);
    let seed = u.choose(seeds).cloned().unwrap_or_default();
    let Some(mut tree) = std::str::from_utf8(&seed).ok().and_then(|s| s.parse::<toml::Table>().ok()).map(Value::Table) else {
        return seed;
    };
    let mut vocabulary = Vec::new();
    for s in seeds {
        if let Some(t) = std::str::from_utf8(s).ok().and_then(|s| s.parse::<toml::Table>().ok()) {
            keys(&Value::Table(t), &mut vocabulary);
        }
    }
    vocabulary.sort();
    vocabulary.dedup();
    for _ in 0..u.int_in_range(1..=4).unwrap_or(1) {
        if mutate_tree(&mut u, &mut tree, &vocabulary).is_err() {
            break;
        }
    }
    let mut text = toml::to_string(&tree).unwrap_or_default().into_bytes();
    if u.ratio(1, 8).unwrap_or(false) {
        for _ in 0..u.int_in_range(1..=3).unwrap_or(1) {
            if crate::mutate::mutate_once(&mut u, &mut text, &[]).is_err() {
                break;
            }
        }
    }
    text
}

/// What `spikeflux train` does with a config before it reads or generates data.
pub fn run(b: &[u8]) -> Outcome {
    let text = std::str::from_utf8(b).map_err(|e| format!("not UTF-8: {e}"))?;
    let err = |e: anyhow::Error| format!("{:#}", spikeflux_cli::config::with_toml_keys(e));
    let cfg = RunConfig::parse(text, "input.toml").map_err(err)?;
    cfg.check_resources(Some(LIMIT_BYTES as f64)).map_err(err)?;
    let (n_in, n_out) = cfg.sizes();
    let spec = cfg.network_spec(n_in.unwrap_or(700), n_out.unwrap_or(20).max(2));
    let net = if cfg.nu_from_data() {
        Network::zeros(spec).map_err(|e| err(e.into()))?
    } else {
        let init = cfg.init_spec().map_err(err)?;
        Network::initialized(spec, &init, cfg.train.seed).map_err(|e| err(e.into()))?.0
    };
    Ok(4 * net.params.len())
}

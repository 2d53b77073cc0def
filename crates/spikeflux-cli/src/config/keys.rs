//! The one place where the core's field names meet the config file's: errors from the core name
//! fields by their path in its types (`hidden[0].lif.tau_mem`, `nu`, `lr`); messages shown to a
//! CLI user name the TOML key (`model.hidden[0].tau_mem`, `init.nu`, `train.lr`).

use spikeflux_core::Error;

/// The TOML key of a field named by the core (its path in `NetworkSpec`, the FD target and
/// initializers, or the training options), or `None` if `field` is already a TOML key or unknown.
/// The one place where the core's names meet the config file's.
fn toml_key(field: &str) -> Option<String> {
    const SECTIONS: [&str; 4] = ["data", "model", "init", "train"];
    if SECTIONS.iter().any(|s| field == *s || field.starts_with(&format!("{s}."))) {
        return None;
    }
    let model = |f: &str| {
        let f = f.replace(".lif.adaptation.", ".adaptation.").replace(".lif.", ".").replace(".conv.", ".");
        format!("model.{}", f.replace(".dale.n_inh", ".ei_ratio").replace(".dale.", "."))
    };
    Some(match field {
        "n_out" => "data.n_classes".into(),
        "input" => "data.n_in".into(),
        "surrogate.beta" => "model.surrogate_beta".into(),
        "" => "init".into(),
        "nu" | "xi" | "mu_u" | "sigma_u" | "alpha" => format!("init.{field}"),
        "batch_size" | "lr" => format!("train.{field}"),
        f if f == "dt" || f.starts_with("hidden") || f.starts_with("readout") => model(f),
        _ => return None,
    })
}

/// Renames the field of a core config error to its TOML key (see `toml_key`), so that every
/// message names what the user writes.
pub fn with_toml_keys(mut e: anyhow::Error) -> anyhow::Error {
    if let Some(Error::Config { field, .. } | Error::NonFinite { field, .. }) = e.downcast_mut::<Error>() {
        if let Some(k) = toml_key(field) {
            *field = k;
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_fields_map_to_toml_keys() {
        for (core, toml) in [
            ("hidden[0].lif.tau_mem", "model.hidden[0].tau_mem"),
            ("hidden[1].lif.adaptation.tau_ada", "model.hidden[1].adaptation.tau_ada"),
            ("hidden[2].dale.n_inh", "model.hidden[2].ei_ratio"),
            ("hidden[2].dale.tau_inh", "model.hidden[2].tau_inh"),
            ("hidden[0].conv.rec_kernel", "model.hidden[0].rec_kernel"),
            ("readout.tau_syn", "model.readout.tau_syn"),
            ("surrogate.beta", "model.surrogate_beta"),
            ("dt", "model.dt"),
            ("n_out", "data.n_classes"),
            ("nu", "init.nu"),
            ("", "init"),
            ("lr", "train.lr"),
        ] {
            assert_eq!(toml_key(core).as_deref(), Some(toml), "{core}");
        }
        assert_eq!(toml_key("data.randman.split"), None);
        assert_eq!(toml_key("fig1"), None);
    }
}

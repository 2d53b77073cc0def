//! Networks to and from NIR, the Neuromorphic Intermediate Representation (`nir` on PyPI), the
//! format in which SNNs move between simulators (Norse, snnTorch, Rockpool, Lava, Sinabs, Spyx)
//! and onto neuromorphic chips.
//!
//! - [`tree`]: the HDF5 tree of a `.nir` file, read and written without libhdf5;
//! - [`graph`]: that tree as nodes, edges and metadata;
//! - [`export`]: a [`crate::network::Network`] as a graph; [`import`]: a graph as a network.
//!
//! The mapping, with the equations on both sides and what NIR cannot express, is `docs/nir.md`.

pub mod export;
pub mod graph;
pub mod import;
pub mod tree;

use std::path::Path;

pub use export::{to_graph, Discretization, ExportOptions};
pub use graph::{Graph, Node};
pub use import::{from_graph, ImportOptions};

use crate::error::Result;

/// Reads a NIR file.
///
/// # Errors
/// As [`tree::read`] and [`Graph::from_tree`].
pub fn read(path: &Path) -> Result<Graph> {
    let (tree, _version) = tree::read(path)?;
    Graph::from_tree(&tree, "")
}

/// Reads a NIR file held in memory; `origin` names it in errors.
///
/// # Errors
/// As [`read`].
pub fn read_bytes(bytes: &[u8], origin: &Path) -> Result<Graph> {
    let (tree, _version) = tree::from_bytes(bytes, origin)?;
    Graph::from_tree(&tree, "")
}

/// Encodes a graph as the bytes of a NIR file.
///
/// # Errors
/// As [`tree::to_bytes`].
pub fn to_bytes(g: &Graph, origin: &Path) -> Result<Vec<u8>> {
    tree::to_bytes(&g.to_tree(), origin)
}

/// Writes a graph to `path` (through a temporary file and a rename, so that a killed write
/// leaves no partial file).
///
/// # Errors
/// As [`to_bytes`], and [`crate::Error::Io`] when the file cannot be written.
pub fn write(g: &Graph, path: &Path) -> Result<()> {
    let bytes = to_bytes(g, path)?;
    crate::data::files::write_atomic(path, &bytes)
}

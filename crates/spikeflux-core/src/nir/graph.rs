//! A NIR graph as the `nir` package serializes it: named nodes, each a type name and its fields
//! (`NIRGraph` nodes nest a graph), directed edges between node names, and optional metadata.

use std::collections::BTreeMap;

use super::tree::{Array, ArrayData, Tree, Value};
use crate::error::{Error, Result};

/// A graph: nodes by name, edges `(from, to)`, metadata (a group of arrays; empty if none).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// Directed edges between node names.
    pub edges: Vec<(String, String)>,
    /// The graph's metadata.
    pub metadata: Tree,
}

/// One node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A subgraph (`type = "NIRGraph"`).
    Graph(Graph),
    /// A primitive: its NIR type name (`CubaLIF`, `Linear`, …) and its fields (parameters as
    /// arrays, and `metadata` as a group if present).
    Leaf {
        /// NIR type name.
        kind: String,
        /// Every field but `type`.
        fields: Tree,
    },
}

impl Node {
    /// A primitive node of type `kind` with `fields`.
    pub fn leaf(kind: &str, fields: impl IntoIterator<Item = (&'static str, Array)>) -> Self {
        Node::Leaf { kind: kind.into(), fields: fields.into_iter().map(|(k, a)| (k.to_string(), Value::Array(a))).collect() }
    }
    /// The NIR type name.
    pub fn kind(&self) -> &str {
        match self {
            Node::Graph(_) => "NIRGraph",
            Node::Leaf { kind, .. } => kind,
        }
    }
    /// Adds metadata entries (a `metadata` group) to a primitive node.
    pub fn with_metadata(mut self, entries: impl IntoIterator<Item = (&'static str, Array)>) -> Self {
        if let Node::Leaf { fields, .. } = &mut self {
            let mut m = Tree::new();
            for (k, a) in entries {
                m.insert(k.to_string(), Value::Array(a));
            }
            if !m.is_empty() {
                fields.insert("metadata".into(), Value::Group(m));
            }
        }
        self
    }
}

/// A view of one primitive node's fields that names the node in every error.
pub struct Fields<'a> {
    /// The node's name (dotted inside subgraphs).
    pub name: &'a str,
    /// Its fields.
    pub fields: &'a Tree,
}

impl Fields<'_> {
    fn array(&self, key: &str) -> Result<&Array> {
        match self.fields.get(key) {
            Some(Value::Array(a)) => Ok(a),
            Some(Value::Group(_)) => Err(Error::nir(self.name, format!("`{key}` is a group, not an array"))),
            None => Err(Error::nir(self.name, format!("has no `{key}`"))),
        }
    }
    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }
    /// A numeric field: its shape and values as f64.
    pub fn floats(&self, key: &str) -> Result<(Vec<usize>, Vec<f64>)> {
        let a = self.array(key)?;
        let v = a.as_f64().ok_or_else(|| Error::nir(self.name, format!("`{key}` holds strings, not numbers")))?;
        if let Some(x) = v.iter().find(|x| !x.is_finite()) {
            return Err(Error::nir(self.name, format!("`{key}` holds {x}; every parameter must be finite")));
        }
        Ok((a.shape.clone(), v))
    }
    /// A weight tensor as f32 (f64 values are rounded to f32), with its shape.
    pub fn weights(&self, key: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let a = self.array(key)?;
        let v: Vec<f32> = match &a.data {
            ArrayData::F32(v) => v.clone(),
            _ => self.floats(key)?.1.iter().map(|&x| x as f32).collect(),
        };
        if let Some(x) = v.iter().find(|x| !x.is_finite()) {
            return Err(Error::nir(self.name, format!("`{key}` holds {x} (after rounding to f32); every weight must be finite")));
        }
        Ok((a.shape.clone(), v))
    }
    /// An integer field given as a scalar or as an array of equal entries (`stride = [2]`).
    pub fn int(&self, key: &str) -> Result<i64> {
        let (_, v) = self.floats(key)?;
        let first = *v.first().ok_or_else(|| Error::nir(self.name, format!("`{key}` is empty")))?;
        if v.iter().any(|&x| x != first) || first.fract() != 0.0 || first.abs() > 1e15 {
            return Err(Error::nir(self.name, format!("`{key}` must be one integer, got {v:?}")));
        }
        Ok(first as i64)
    }
    /// A one-dimensional integer field (a shape).
    pub fn shape(&self, key: &str) -> Result<Vec<usize>> {
        let (_, v) = self.floats(key)?;
        v.iter()
            .map(|&x| {
                if x >= 0.0 && x.fract() == 0.0 && x <= (1u64 << 40) as f64 {
                    Ok(x as usize)
                } else {
                    Err(Error::nir(self.name, format!("`{key}` = {v:?} is not a shape")))
                }
            })
            .collect()
    }
    /// A scalar numeric metadata entry, if present.
    pub fn meta_f64(&self, key: &str) -> Option<f64> {
        meta_f64(self.fields.get("metadata"), key)
    }
}

/// A scalar numeric entry of a `metadata` group.
pub fn meta_f64(metadata: Option<&Value>, key: &str) -> Option<f64> {
    match metadata {
        Some(Value::Group(m)) => tree_f64(m, key),
        _ => None,
    }
}

/// A scalar numeric entry of a group.
pub fn tree_f64(m: &Tree, key: &str) -> Option<f64> {
    match m.get(key) {
        Some(Value::Array(a)) if a.len() == 1 => a.as_f64().map(|v| v[0]),
        _ => None,
    }
}

/// A scalar string entry of a `metadata` group.
pub fn meta_str<'a>(m: &'a Tree, key: &str) -> Option<&'a str> {
    match m.get(key) {
        Some(Value::Array(a)) if a.len() == 1 => a.as_strs().map(|v| v[0].as_str()),
        _ => None,
    }
}

fn scalar_str(tree: &Tree, key: &str, at: &str) -> Result<String> {
    match tree.get(key) {
        Some(Value::Array(a)) if a.len() == 1 && a.as_strs().is_some() => Ok(a.as_strs().unwrap_or_default()[0].clone()),
        Some(_) => Err(Error::nir(at, format!("`{key}` is not a string"))),
        None => Err(Error::nir(at, format!("has no `{key}`"))),
    }
}

impl Graph {
    /// Interprets the tree of a `NIRGraph` node (the file's `/node`, or a subgraph); `at` names
    /// it in errors (`""` for the top level).
    ///
    /// # Errors
    /// [`Error::Nir`] naming the node whose `type`, `nodes` or `edges` is missing or malformed, or
    /// an edge naming a node that does not exist.
    pub fn from_tree(tree: &Tree, at: &str) -> Result<Graph> {
        let here = if at.is_empty() { "(graph)" } else { at };
        let kind = scalar_str(tree, "type", here)?;
        if kind != "NIRGraph" {
            return Err(Error::nir(here, format!("is a `{kind}`, not a `NIRGraph`")));
        }
        let Some(Value::Group(nodes_tree)) = tree.get("nodes") else {
            return Err(Error::nir(here, "has no `nodes` group"));
        };
        let mut nodes = BTreeMap::new();
        for (name, v) in nodes_tree {
            let full = if at.is_empty() { name.clone() } else { format!("{at}.{name}") };
            let Value::Group(t) = v else {
                return Err(Error::nir(&full, "is a dataset, not a node group"));
            };
            let k = scalar_str(t, "type", &full)?;
            let node = if k == "NIRGraph" {
                Node::Graph(Graph::from_tree(t, &full)?)
            } else {
                let mut fields = t.clone();
                fields.remove("type");
                Node::Leaf { kind: k, fields }
            };
            nodes.insert(name.clone(), node);
        }
        let edges = match tree.get("edges") {
            Some(Value::Array(a)) => {
                let s = a.as_strs().ok_or_else(|| Error::nir(here, "`edges` is not an array of strings"))?;
                if s.is_empty() {
                    vec![]
                } else if a.shape.len() != 2 || a.shape[1] != 2 {
                    return Err(Error::nir(here, format!("`edges` has shape {:?}; expected [n, 2]", a.shape)));
                } else {
                    s.chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect()
                }
            }
            _ => return Err(Error::nir(here, "has no `edges`")),
        };
        for (a, b) in &edges {
            for n in [a, b] {
                if !nodes.contains_key(n) {
                    return Err(Error::nir(here, format!("edge {a} → {b} names `{n}`, which is not a node")));
                }
            }
        }
        let metadata = match tree.get("metadata") {
            Some(Value::Group(m)) => m.clone(),
            _ => Tree::new(),
        };
        Ok(Graph { nodes, edges, metadata })
    }

    /// The tree `nir.write` would store for this graph.
    pub fn to_tree(&self) -> Tree {
        let mut t = Tree::new();
        t.insert("type".into(), Value::Array(Array::str("NIRGraph")));
        let mut nodes = Tree::new();
        for (name, n) in &self.nodes {
            let sub = match n {
                Node::Graph(g) => g.to_tree(),
                Node::Leaf { kind, fields } => {
                    let mut f = fields.clone();
                    f.insert("type".into(), Value::Array(Array::str(kind.clone())));
                    f
                }
            };
            nodes.insert(name.clone(), Value::Group(sub));
        }
        t.insert("nodes".into(), Value::Group(nodes));
        let flat: Vec<String> = self.edges.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
        t.insert("edges".into(), Value::Array(Array { shape: vec![self.edges.len(), 2], data: ArrayData::Str(flat) }));
        if !self.metadata.is_empty() {
            t.insert("metadata".into(), Value::Group(self.metadata.clone()));
        }
        t
    }

    /// Adds an edge.
    pub fn edge(&mut self, a: &str, b: &str) {
        self.edges.push((a.into(), b.into()));
    }
}

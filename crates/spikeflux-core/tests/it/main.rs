//! Integration tests of spikeflux-core (one binary).
#![allow(clippy::unwrap_used)]
mod common;
mod dale;
mod determinism;
mod golden;
mod nir;
mod gradcheck;
mod group;
mod numerics;
mod semantics;
mod shd_fixture;
mod tape;
mod theory;

//! Integration tests of spikeflux-core (one binary).
mod common;
mod determinism;
mod golden;
mod gradcheck;
mod semantics;
mod shd_fixture;
mod theory;

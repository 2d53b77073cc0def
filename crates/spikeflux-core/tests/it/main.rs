//! Integration tests of spikeflux-core (one binary).
mod common;
mod determinism;
mod gradcheck;
mod semantics;
mod shd_fixture;

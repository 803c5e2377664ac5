//! Helpers shared by more than one integration test.

pub(crate) mod charon_lab;

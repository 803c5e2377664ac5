//! `appliance demo`: the source document's scenario on namespaces and
//! virtual devices. [`topology`] builds the network; [`scenario`] runs the
//! three appliances (two processes each) on it.

pub mod run;
pub mod scenario;
pub mod topology;

//! `appliance demo`: the source document's scenario on namespaces and
//! virtual devices. [`topology`] builds the network.

pub mod topology;

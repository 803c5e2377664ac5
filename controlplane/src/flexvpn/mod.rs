//! FlexVPN glue: what turns an IOS-style configuration into a running hub
//! or spoke control plane.
//!
//! - [`plan`]: the configuration checked and turned into a [`NodePlan`]
//!   (the IKEv2 profile, key material, static tunnels, virtual templates,
//!   NHRP settings, interfaces, static routes).
//! - [`rib`]: candidate routes from every source and the best one per
//!   prefix, as FIB changes for the dataplane.
//! - [`node`]: the sans-IO [`Node`] that runs the IKEv2 endpoint and the
//!   NHRP core together: Virtual-Access cloning from templates, shortcut
//!   tunnels for NHRP, routes, and the commands for the dataplane.
//!
//! `tests/flexvpn_sim.rs` runs the source document's hub and two spokes
//! from their configurations on a virtual clock, with a model of the
//! dataplane's forwarding, through the whole spoke-to-spoke sequence.

pub mod node;
pub mod plan;
pub mod rib;
pub mod show;

pub use node::{Command, Node, NodeCounters, Output, TunnelSpec};
pub use plan::{AuthPlan, Encap, NodePlan, PlanError};
pub use rib::{FibChange, Rib, Source, Target};

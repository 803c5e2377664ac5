//! The appliance: the operator-facing binary's library.
//!
//! - [`cp`]: the control-plane process (`appliance controlplane`): the
//!   FlexVPN node, `show` on a Unix socket, metrics, structured logs.
//! - [`dp`]: the poll-mode dataplane process (`appliance dataplane`).
//! - [`ios`]: the dataplane process's configuration derived from the
//!   IOS-style one.
//! - [`run`]: the supervisor of the two processes (`appliance run`).
//! - [`metrics`]: Prometheus exposition of control-plane and dataplane
//!   counters, and the `/metrics` HTTP endpoint.
//!
//! The control-plane process, the supervisor (`appliance run`) and the
//! `show` commands arrive with later issues.

pub mod cp;
pub mod demo;
pub mod dp;
pub mod ios;
pub mod metrics;
pub mod pki;
pub mod run;

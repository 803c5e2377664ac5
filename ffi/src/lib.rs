//! DPDK binding (bindgen against the system DPDK, plus a C shim for the
//! static-inline fast path).
//!
//! Not implemented yet: this crate is a shell until the DPDK issue lands.

//! Dataplane core of the FlexVPN appliance.
//!
//! Everything here is independent of the I/O layer: it builds and tests
//! without DPDK. The DPDK process (a later crate) feeds bursts of mbufs
//! through the same code that the unit tests feed with [`buffer::VecBuf`].
//!
//! - [`wire`]: zero-copy views over packet bytes that validate every length
//!   once (Ethernet/VLAN, ARP, IPv4, IPv6, UDP, GRE, ESP, UDP-encapsulated ESP).
//! - [`crypto`]: the AEAD trait and its two backends (`ring`, RustCrypto).
//! - [`esp`]: ESP (RFC 4303) seal/open with ESN and the anti-replay window.
//! - [`sa_table`]: lock-free SA and tunnel tables indexed by SPI.
//! - [`fib`]: lock-free IPv4/IPv6 longest-prefix match.
//! - [`pipeline`]: burst processing (inbound ESP, decapsulation, FIB,
//!   encapsulation, outbound ESP) with per-worker drop counters.

pub mod buffer;
pub mod counters;
pub mod crypto;
pub mod ctl;
pub mod esp;
pub mod fib;
#[doc(hidden)]
pub mod fuzzing;
pub mod neighbor;
pub mod pipeline;
pub mod redirect;
pub mod sa_table;
pub mod tunnel;
pub mod wire;

/// Maximum number of packets processed together in one burst.
pub const BURST_MAX: usize = 64;

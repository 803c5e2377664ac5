//! IKEv2 (RFC 7296): message codec, cryptographic suite, configuration and
//! the sans-IO state machines. No I/O and no clock in the core; the
//! [`driver`] module is a thin UDP driver for tests and tools.
//!
//! # The core: [`Endpoint`]
//!
//! One [`Endpoint`] holds every IKE SA of the appliance (a hub's 100k
//! spokes): SAs are found by our SPI in a hash map, timers are one heap,
//! nothing runs per SA. It is built from a [`Config`] and a
//! [`SpiAllocator`] (the dataplane gives out the inbound ESP SPIs, so that
//! an SPI carries its SA table index).
//!
//! Inputs (all take `now`; the core never reads the clock):
//!
//! - [`Endpoint::handle_datagram`]`(now, local, remote, bytes)`: a UDP
//!   payload received on port 500 or 4500 (the non-ESP marker is checked
//!   and removed by the core on the NAT-T port);
//! - [`Endpoint::handle_timeout`]`(now)` at [`Endpoint::poll_timeout`];
//! - requests: [`Endpoint::initiate`] (a spoke to its hub, or a shortcut to
//!   another spoke), [`Endpoint::rekey_child_sa`] (the dataplane's soft
//!   byte/sequence limit), [`Endpoint::rekey_ike_sa`],
//!   [`Endpoint::delete_child_sa`], [`Endpoint::delete_ike_sa`],
//!   [`Endpoint::note_inbound_traffic`] (ESP seen: no DPD needed yet).
//!
//! Outputs:
//!
//! - [`Endpoint::poll_transmit`]: [`Transmit`] `{ local, remote, payload }`,
//!   the UDP payload to send (marker included on the NAT-T port);
//! - [`Endpoint::poll_event`]: [`Event`]s, in order:
//!   - [`Event::TunnelUp`] (peer identity, addresses, NAT, virtual IPs we
//!     got or assigned, DNS, domain) and [`Event::TunnelDown`] with a
//!     [`events::DownReason`];
//!   - [`Event::ChildSaInstalled`]: both directions of an ESP SA (SPIs,
//!     AEAD, key||salt each way, ESN, replay window, lifetimes, traffic
//!     selectors, addresses and ports, UDP encapsulation, and `replaces`
//!     for a rekey: switch outbound to the new SA, keep the old inbound
//!     until its [`Event::ChildSaRemoved`]);
//!   - [`Event::RoutesAdd`] / [`Event::RoutesRemove`]: pushed subnets,
//!     subnets the peer announced, virtual addresses (with their kind);
//!   - [`Event::AuthFailed`] with an [`AuthFailure`] reason;
//!   - [`Event::IkeSaRekeyed`] (the tunnel's handle changes),
//!     [`Event::PeerAddressChanged`] (NAT mapping moved),
//!     [`Event::IkeSaStateChanged`] (for metrics).
//! - [`Endpoint::ike_sas`], [`Endpoint::stats`]: state for `show` commands
//!   and counters.
//!
//! # Tests
//!
//! `tests/ikev2_sim.rs` runs hub and spokes on a virtual clock over links
//! that lose, duplicate and reorder (seeded), with NAT, and checks every
//! datagram with ipsec-parser; `tests/interop_strongswan.rs` talks to
//! strongSwan in a network namespace; `tests/ikev2_udp.rs` goes through
//! the UDP driver; the `ikev2_responder` fuzz target's corpus is replayed
//! by `tests/ikev2_fuzz_corpus.rs`; `tests/state_tables.rs` keeps the
//! transition tables as snapshots.
//!
//! # What it does
//!
//! IKE_SA_INIT (proposal choice, KE, nonces, NAT detection and the move to
//! port 4500, COOKIE above a half-open threshold with a rotating secret,
//! INVALID_KE_PAYLOAD retry, IKEV2_FRAGMENTATION_SUPPORTED); IKE_AUTH with
//! a pre-shared key (method 2) or certificates through the
//! [`Authenticator`] trait (a [`Keyring`] matches peer identities; a
//! [`CertAuthenticator`] signs and verifies methods 1, 9, 10 and 14 (RFC
//! 7427 RSA/ECDSA), sends CERT, CERTREQ and SIGNATURE_HASH_ALGORITHMS, and
//! validates the peer's chain to [`TrustAnchors`] at a wall-clock time
//! derived from `now`, see [`pki`]), identities of every type, the first Child SA with
//! traffic selector narrowing, and the configuration payload (addresses
//! from pools, DNS, domain, pushed routes; the initiator's subnets
//! accepted as routes; addresses released when the SA goes); RFC 7383
//! fragments both ways; CREATE_CHILD_SA rekeys of Child and IKE SAs with
//! optional PFS and RFC 7296 section 2.8 collision handling; INFORMATIONAL
//! DPD and deletes; retransmission with back-off, the response cache,
//! message ID window 1, half-open timeout, INITIAL_CONTACT.
//!
//! Robustness choices beyond the RFC text (each found by the lossy-link
//! simulations in `tests/ikev2_sim.rs`):
//!
//! - the tunnel (Child SAs, addresses, routes) moves to the new IKE SA
//!   before the old one is deleted, also when the old one dies while a
//!   colliding rekey already made its successor;
//! - the responder of an IKE SA rekey holds its own requests over the new
//!   SA until the initiator shows it has it (a message over it, or its
//!   Delete of the old SA; at most `dos.half_open_timeout`);
//! - a rekey or Delete of a Child SA that our own pending exchange is
//!   still creating gets TEMPORARY_FAILURE, or is applied when the SA
//!   appears;
//! - a Child SA rekey collision is resolved by the lowest nonce even when
//!   the old SA was deleted before our own rekey was answered;
//! - a Child SA rekey that failed or was interrupted is always re-armed;
//!   the original initiator of an always-on tunnel creates a new Child SA
//!   when the last one expired or the peer deleted it (not after an
//!   operator's delete).
//!
//! Not done: RSASSA-PSS signatures (verified only),
//! revocation (CRL/OCSP), hash-and-URL certificates, EAP, window sizes above 1, NAT keepalives (the
//! dataplane's), MOBIKE, childless IKE SAs on request, IPcomp, transport
//! mode.

pub mod auth;
pub mod cert_auth;
pub mod codec;
pub mod config;
pub mod crypto;
pub mod driver;
mod endpoint;
pub mod error;
pub mod events;
pub mod identity;
pub mod pki;
pub mod pool;
mod proposal;
mod sa;
pub mod selectors;
pub mod state;

pub use auth::{AuthContext, AuthFailure, Authenticator, Keyring, Psk};
pub use cert_auth::{CertAuthenticator, PrivateKey, WallClock};
pub use config::{Config, ConfigError};
pub use endpoint::{fuzz_responder, Endpoint};
pub use error::Error;
pub use events::{Event, IkeSaId, RandomSource, SpiAllocator, Transmit};
pub use identity::{Identity, IdentityMatch};
pub use pki::{CertError, Certificate, TrustAnchors};
pub use sa::{ChildSaInfo, IkeDebugKeys, IkeSaInfo, Stats};

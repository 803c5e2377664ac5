//! IKEv2 (RFC 7296): message codec and cryptographic suite. No I/O, no clock.

pub mod codec;
pub mod crypto;

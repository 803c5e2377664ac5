//! NHRP (RFC 2332) with Cisco's shortcut-switching extensions: the codec.
//! The sans-IO core (hub redirect, resolution, cache, shortcuts) comes with
//! the NHRP issue.

pub mod codec;

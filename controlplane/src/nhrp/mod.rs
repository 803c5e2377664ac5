//! NHRP (RFC 2332) with Cisco's shortcut-switching extensions: the codec
//! and the sans-IO core (hub redirect, resolution, shortcuts, cache).

pub mod codec;
pub mod core;

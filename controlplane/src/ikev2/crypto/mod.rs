//! IKEv2 cryptographic suite: transforms, PRF, key derivation, Diffie-Hellman
//! and the SK payload's encryption.
//!
//! Not implemented yet.

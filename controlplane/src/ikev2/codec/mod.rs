//! IKEv2 message and payload codec (RFC 7296 section 3, RFC 7383).
//!
//! Not implemented yet.

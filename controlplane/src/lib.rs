//! Control plane: IKEv2 and NHRP sans-IO cores, FlexVPN glue, RIB, config.
//!
//! Work in progress: the IKEv2 core ([`ikev2::Endpoint`]) exists; NHRP,
//! FlexVPN glue, RIB and config do not yet.
#![forbid(unsafe_code)]

pub mod config;
pub mod ikev2;
pub mod nhrp;

//! Control plane: IKEv2 and NHRP sans-IO cores, FlexVPN glue, RIB, config.
//!
//! Work in progress: only the IKEv2 building blocks below exist so far (see
//! the README's feature table). Nothing here is used by the dataplane yet.
#![forbid(unsafe_code)]

pub mod config;
pub mod ikev2;
pub mod nhrp;

//! Control plane: IKEv2 and NHRP sans-IO cores, FlexVPN glue, RIB, config.
//!
//! - [`ikev2`]: the IKEv2 sans-IO core ([`ikev2::Endpoint`]);
//! - [`nhrp`]: the NHRP codec and sans-IO core;
//! - [`config`]: the IOS-style configuration parser;
//! - [`flexvpn`]: the glue (plan from configuration, RIB, the node that
//!   runs IKEv2 and NHRP together and drives the dataplane).
#![forbid(unsafe_code)]

pub mod config;
pub mod flexvpn;
pub mod ikev2;
pub mod nhrp;

//! Control plane: IKEv2 and NHRP sans-IO cores, FlexVPN glue, RIB, config.
//!
//! Not implemented yet: this crate is a shell until the IKEv2 issue lands.
//! Nothing here is used by the dataplane or the benchmarks.
#![forbid(unsafe_code)]

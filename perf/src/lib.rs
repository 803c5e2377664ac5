//! Benchmarks, the packet generator and pcap support.
//!
//! `gen` builds packets independently of the dataplane's own encoders;
//! `pcap` reads and writes classic pcap files; `esp_bench` is the ESP path
//! benchmark that `perf esp` runs; `dpdk_bench` runs the DPDK dataplane
//! worker on virtual devices (`perf dpdk`); `ike_bench` measures IKEv2
//! tunnels per second against our own load generator (`perf ike`).

pub mod dpdk_bench;
pub mod esp_bench;
pub mod gen;
pub mod ike_bench;
pub mod pcap;
pub mod traffic;

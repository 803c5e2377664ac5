//! Our DPDK binding: bindgen against the system DPDK (>= 22.11, found by
//! pkg-config), a C shim exporting DPDK's static-inline fast path, and safe
//! wrappers. This crate and the dataplane's port layer are the only places
//! with `unsafe` code; every block says why it is sound.
//!
//! | module | wraps |
//! | --- | --- |
//! | [`eal`] | `rte_eal_init` (once per process) and `rte_eal_cleanup` |
//! | [`error`] | `rte_errno`, `rte_strerror` |
//! | [`mempool`] | `rte_pktmbuf_pool_create`, `rte_mempool_free` |
//! | [`mbuf`] | mbuf ownership, bursts, [`dataplane::buffer::PacketBuf`] |
//! | [`port`] | ethdev configuration, RSS, start/stop, stats, burst I/O |
//! | [`lcore`] | lcores, `rte_eal_remote_launch`, TSC |
//! | [`ring`] | `rte_ring` of mbufs, split into producer and consumer |
//! | [`shm`] | shared memory between the processes: SPSC rings of messages (not DPDK) |
//! | [`sys`] | the raw bindings |
//!
//! EAL can be initialised once per process: tests that start it each run
//! in a process of their own (one integration-test file each).
#![allow(unsafe_code)]

pub mod eal;
pub mod error;
pub mod lcore;
pub mod mbuf;
pub mod mempool;
pub mod port;
pub mod ring;
pub mod shm;
pub mod sys;

pub use eal::{Eal, EalBuilder};
pub use error::{Error, Result};
pub use mbuf::{Mbuf, MbufBurst};
pub use mempool::{Mempool, MempoolConfig};
pub use port::{Port, PortConfig, PortStats, Rss, RxQueue, TxQueue, RSS_HASH_FUNCTIONS};
pub use ring::{mbuf_ring, RingConsumer, RingProducer, RingSync};

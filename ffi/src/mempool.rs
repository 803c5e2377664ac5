//! Packet mbuf pools (`rte_pktmbuf_pool_create`).

use std::ffi::CString;
use std::fmt;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::eal::Eal;
use crate::error::{errno, Error, Result};
use crate::mbuf::{Mbuf, MbufBurst};
use crate::sys;

/// Parameters of [`Mempool::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Unique name (DPDK limits it to `RTE_MEMPOOL_NAMESIZE - 1` bytes).
    pub name: String,
    /// Number of mbufs. `2^k - 1` is the most memory-efficient.
    pub size: u32,
    /// Per-lcore cache size (0 for none; at most 512 and at most
    /// `size / 1.5`).
    pub cache_size: u32,
    /// Data room of each mbuf, headroom included
    /// (`RTE_MBUF_DEFAULT_BUF_SIZE`: 2048 + 128).
    pub data_room: u16,
    /// NUMA socket, or `None` for any.
    pub socket: Option<u32>,
}

impl MempoolConfig {
    /// `size` mbufs with default data room, a 256-mbuf cache (smaller for
    /// small pools) and any socket.
    pub fn new(name: impl Into<String>, size: u32) -> Self {
        Self {
            name: name.into(),
            size,
            cache_size: (size / 2).min(256),
            data_room: sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
            socket: None,
        }
    }
}

/// A pool of packet mbufs. Cheap to clone (shared); ports hold a clone for
/// their receive queues.
///
/// The pool is freed (`rte_mempool_free`) when the last clone is dropped
/// and every mbuf is back in it. If some mbuf is still out (held by the
/// application, or in flight in a ring or a device queue), the pool and the
/// EAL handle it holds are leaked instead, so that mbuf stays valid: a
/// bounded leak rather than a use after free.
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    ptr: NonNull<sys::rte_mempool>,
    config: MempoolConfig,
    eal: ManuallyDrop<Eal>,
}

// SAFETY: a DPDK mempool is safe to use from several threads at once (its
// ring is multi-producer/multi-consumer and each lcore has its own cache);
// the other fields are plain data.
unsafe impl Send for PoolInner {}
// SAFETY: as above; &PoolInner only allows thread-safe mempool calls.
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        let avail = avail_count(self.ptr);
        if avail != self.config.size {
            // Mbufs are still out: keep the pool (and EAL) alive for them.
            return;
        }
        // SAFETY: every mbuf is back in the pool and no other handle exists
        // (this is the last Arc), so nothing refers to the pool any more.
        unsafe { sys::rte_mempool_free(self.ptr.as_ptr()) };
        // SAFETY: dropped exactly once, here, after the pool is freed.
        unsafe { ManuallyDrop::drop(&mut self.eal) };
    }
}

fn avail_count(p: NonNull<sys::rte_mempool>) -> u32 {
    // SAFETY: p is a live mempool (owned by the caller's PoolInner); the
    // count sums the common pool and the per-lcore caches.
    unsafe { sys::ffi_rte_mempool_avail_count(p.as_ptr()) }
}

impl fmt::Debug for Mempool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mempool")
            .field("config", &self.inner.config)
            .field("available", &self.available())
            .finish()
    }
}

impl Mempool {
    /// Creates a packet mbuf pool (`rte_pktmbuf_pool_create`).
    pub fn new(eal: &Eal, config: &MempoolConfig) -> Result<Self> {
        let name = CString::new(config.name.as_str()).map_err(|_| {
            Error::new(
                "rte_pktmbuf_pool_create",
                errno::EINVAL,
                Some(format!("pool name {:?} contains a NUL byte", config.name)),
            )
        })?;
        if config.size == 0 {
            return Err(Error::new(
                "rte_pktmbuf_pool_create",
                errno::EINVAL,
                Some("a pool needs at least one mbuf".into()),
            ));
        }
        let socket = config
            .socket
            .map_or(sys::SOCKET_ID_ANY, |s| i32::try_from(s).unwrap_or(i32::MAX));
        // SAFETY: EAL is initialised (eal exists); name is NUL-terminated
        // and copied by DPDK; the numbers are range-checked by DPDK.
        let p = unsafe {
            sys::rte_pktmbuf_pool_create(
                name.as_ptr(),
                config.size,
                config.cache_size,
                0,
                config.data_room,
                socket,
            )
        };
        let ptr = NonNull::new(p).ok_or_else(|| {
            Error::from_rte_errno("rte_pktmbuf_pool_create").with_detail(format!(
                "pool '{}' of {} mbufs, cache {}, data room {}",
                config.name, config.size, config.cache_size, config.data_room
            ))
        })?;
        Ok(Self {
            inner: Arc::new(PoolInner {
                ptr,
                config: config.clone(),
                eal: ManuallyDrop::new(eal.clone()),
            }),
        })
    }

    /// The raw pool, for DPDK calls this crate does not wrap. It stays valid
    /// while this handle lives.
    pub fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.inner.ptr.as_ptr()
    }

    /// The configuration the pool was made with.
    pub fn config(&self) -> &MempoolConfig {
        &self.inner.config
    }

    /// The EAL handle this pool holds.
    pub fn eal(&self) -> &Eal {
        &self.inner.eal
    }

    /// Number of mbufs in the pool.
    pub fn size(&self) -> u32 {
        self.inner.config.size
    }

    /// Free mbufs, per-lcore caches included.
    pub fn available(&self) -> u32 {
        avail_count(self.inner.ptr)
    }

    /// Mbufs currently out of the pool.
    pub fn in_use(&self) -> u32 {
        self.size().saturating_sub(self.available())
    }

    /// One mbuf, reset (empty, default headroom), or `None` when the pool is
    /// empty.
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is live (self holds it) and is a pktmbuf pool.
        let m = unsafe { sys::ffi_rte_pktmbuf_alloc(self.as_ptr()) };
        // SAFETY: a non-null result is a fresh mbuf that we now own.
        unsafe { Mbuf::from_raw(m) }
    }

    /// Fills the free space of `burst` with `n` fresh mbufs, all or nothing
    /// (`rte_pktmbuf_alloc_bulk`). Returns `false`, changing nothing, when
    /// `n` exceeds the free space or the pool has fewer than `n` mbufs.
    #[inline]
    pub fn alloc_bulk<const N: usize>(&self, burst: &mut MbufBurst<N>, n: usize) -> bool {
        if n > burst.free_space() {
            return false;
        }
        if n == 0 {
            return true;
        }
        let (ptr, _) = burst.spare_raw();
        // n <= N, and MbufBurst bounds N by u16::MAX.
        let count = n as u32;
        // SAFETY: the pool is live; ptr points at `free_space() >= n`
        // writable slots of the burst.
        let ret = unsafe { sys::ffi_rte_pktmbuf_alloc_bulk(self.as_ptr(), ptr, count) };
        if ret != 0 {
            return false;
        }
        // SAFETY: DPDK wrote n fresh, owned mbufs into those slots.
        unsafe { burst.commit_spare(n) };
        true
    }
}

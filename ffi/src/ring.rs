//! `rte_ring` of mbufs between lcores, split into a producer and a consumer
//! handle so that a single-producer or single-consumer ring is used by one
//! thread at a time (the borrow checker enforces it).

use std::ffi::{c_void, CString};
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::eal::Eal;
use crate::error::{errno, Error, Result};
use crate::mbuf::MbufBurst;
use crate::sys;

/// Who may use each end of a ring at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingSync {
    /// One producer and one consumer (fastest).
    Spsc,
    /// Several producers, one consumer.
    Mpsc,
    /// One producer, several consumers.
    Spmc,
    /// Several of both.
    Mpmc,
}

impl RingSync {
    fn multi_producer(self) -> bool {
        matches!(self, Self::Mpsc | Self::Mpmc)
    }

    fn multi_consumer(self) -> bool {
        matches!(self, Self::Spmc | Self::Mpmc)
    }
}

struct RingInner {
    ptr: NonNull<sys::rte_ring>,
    name: String,
    capacity: u32,
    sync: RingSync,
    _eal: Eal,
}

// SAFETY: the ring is shared memory made for use across lcores; which
// operations may run concurrently is enforced by the handles (a single-
// producer/consumer end has exactly one handle, used through &mut).
unsafe impl Send for RingInner {}
// SAFETY: as above; RingInner itself offers only thread-safe reads.
unsafe impl Sync for RingInner {}

impl Drop for RingInner {
    fn drop(&mut self) {
        // Free the mbufs still queued, then the ring. No handle is left, so
        // nothing else enqueues or dequeues meanwhile.
        let mut burst = MbufBurst::<64>::new();
        for _ in 0..=(self.capacity / 64 + 1) {
            if dequeue(self.ptr, &mut burst) == 0 {
                break;
            }
            burst.clear();
        }
        // SAFETY: the ring was created by `mbuf_ring` and no handle remains.
        unsafe { sys::rte_ring_free(self.ptr.as_ptr()) };
    }
}

fn dequeue<const N: usize>(r: NonNull<sys::rte_ring>, burst: &mut MbufBurst<N>) -> usize {
    let (ptr, free) = burst.spare_raw();
    if free == 0 {
        return 0;
    }
    // SAFETY: the ring holds only owned mbuf pointers put there by
    // `enqueue`; ptr has `free` writable slots; the caller is the only
    // consumer allowed at this time (handle discipline). free <= u16::MAX.
    let n = unsafe {
        sys::ffi_rte_ring_dequeue_burst(
            r.as_ptr(),
            ptr.cast::<*mut c_void>(),
            free as u32,
            std::ptr::null_mut(),
        )
    } as usize;
    let n = n.min(free);
    // SAFETY: the ring handed us n owned mbufs in those slots.
    unsafe { burst.commit_spare(n) };
    n
}

/// Creates a ring holding up to `capacity` mbufs (`rte_ring_create` with
/// `RING_F_EXACT_SZ`), and returns its two ends.
pub fn mbuf_ring(
    eal: &Eal,
    name: &str,
    capacity: u32,
    sync: RingSync,
) -> Result<(RingProducer, RingConsumer)> {
    let func = "rte_ring_create";
    let c = CString::new(name).map_err(|_| {
        Error::new(
            func,
            errno::EINVAL,
            Some(format!("ring name {name:?} contains a NUL byte")),
        )
    })?;
    let mut flags = sys::RING_F_EXACT_SZ;
    if !sync.multi_producer() {
        flags |= sys::RING_F_SP_ENQ;
    }
    if !sync.multi_consumer() {
        flags |= sys::RING_F_SC_DEQ;
    }
    // SAFETY: EAL is up; c is NUL-terminated and copied by DPDK.
    let p = unsafe { sys::rte_ring_create(c.as_ptr(), capacity, sys::SOCKET_ID_ANY, flags) };
    let ptr = NonNull::new(p).ok_or_else(|| {
        Error::from_rte_errno(func).with_detail(format!("ring '{name}' of {capacity} entries"))
    })?;
    let inner = Arc::new(RingInner {
        ptr,
        name: name.to_owned(),
        capacity,
        sync,
        _eal: eal.clone(),
    });
    Ok((
        RingProducer {
            inner: Arc::clone(&inner),
        },
        RingConsumer { inner },
    ))
}

/// The enqueue end of an mbuf ring.
pub struct RingProducer {
    inner: Arc<RingInner>,
}

/// The dequeue end of an mbuf ring.
pub struct RingConsumer {
    inner: Arc<RingInner>,
}

impl fmt::Debug for RingProducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingProducer")
            .field("name", &self.inner.name)
            .field("sync", &self.inner.sync)
            .finish()
    }
}

impl fmt::Debug for RingConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingConsumer")
            .field("name", &self.inner.name)
            .field("sync", &self.inner.sync)
            .finish()
    }
}

fn count(inner: &RingInner) -> u32 {
    // SAFETY: a live ring; reads its head and tail.
    unsafe { sys::ffi_rte_ring_count(inner.ptr.as_ptr()) }
}

impl RingProducer {
    /// Moves as many mbufs of `burst` into the ring as fit, in order, and
    /// returns how many; the rest stay in `burst` (at the front).
    #[inline]
    pub fn enqueue<const N: usize>(&mut self, burst: &mut MbufBurst<N>) -> usize {
        let (ptr, len) = burst.filled_raw();
        if len == 0 {
            return 0;
        }
        // SAFETY: ptr holds `len` owned mbufs (len <= u16::MAX); the ring
        // takes ownership of the first n; this handle is the only producer
        // at this time (single-producer rings have one handle, used by
        // &mut self).
        let n = unsafe {
            sys::ffi_rte_ring_enqueue_burst(
                self.inner.ptr.as_ptr(),
                ptr.cast::<*mut c_void>().cast_const(),
                len as u32,
                std::ptr::null_mut(),
            )
        } as usize;
        let n = n.min(len);
        burst.consume_front(n);
        n
    }

    /// Another producer handle, for a multi-producer ring only.
    pub fn try_clone(&self) -> Option<Self> {
        self.inner.sync.multi_producer().then(|| Self {
            inner: Arc::clone(&self.inner),
        })
    }

    /// Mbufs queued now.
    pub fn len(&self) -> u32 {
        count(&self.inner)
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Most mbufs the ring holds.
    pub fn capacity(&self) -> u32 {
        self.inner.capacity
    }
}

impl RingConsumer {
    /// Moves up to `burst.free_space()` mbufs from the ring into the free
    /// slots of `burst` and returns how many.
    #[inline]
    pub fn dequeue<const N: usize>(&mut self, burst: &mut MbufBurst<N>) -> usize {
        dequeue(self.inner.ptr, burst)
    }

    /// Another consumer handle, for a multi-consumer ring only.
    pub fn try_clone(&self) -> Option<Self> {
        self.inner.sync.multi_consumer().then(|| Self {
            inner: Arc::clone(&self.inner),
        })
    }

    /// Mbufs queued now.
    pub fn len(&self) -> u32 {
        count(&self.inner)
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

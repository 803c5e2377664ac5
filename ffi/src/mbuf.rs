//! Owned mbufs, fixed-size bursts of them, and the dataplane's
//! [`PacketBuf`] over an mbuf.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use dataplane::buffer::PacketBuf;

use crate::sys;

/// An owned packet mbuf (dropping it frees it to its pool).
///
/// Data access is to the first segment: mbufs from this crate's pools and
/// ports are single-segment (scattered receive is not enabled). On a
/// chained mbuf, [`PacketBuf::append`] and [`PacketBuf::trim`] refuse (they
/// would act on the last segment, which [`PacketBuf::data`] does not show);
/// see [`Mbuf::is_contiguous`] and [`Mbuf::linearize`].
///
/// The representation is one non-null pointer (`#[repr(transparent)]`), so
/// a burst of `Mbuf`s is DPDK's `struct rte_mbuf *[]`.
#[repr(transparent)]
pub struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an Mbuf is the unique owner of its mbuf (see `from_raw`), and
// freeing an mbuf to its pool is thread-safe, so ownership may move between
// threads.
unsafe impl Send for Mbuf {}
// SAFETY: &Mbuf only reads the mbuf (no interior mutability).
unsafe impl Sync for Mbuf {}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (and its chain); it is freed exactly once.
        unsafe { sys::ffi_rte_pktmbuf_free(self.0.as_ptr()) };
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbuf")
            .field("ptr", &self.0)
            .field("headroom", &self.headroom())
            .field("data_len", &self.raw().data_len)
            .field("pkt_len", &self.pkt_len())
            .field("tailroom", &self.tailroom())
            .field("nb_segs", &self.nb_segs())
            .finish()
    }
}

impl Mbuf {
    /// Takes ownership of a raw mbuf; `None` for a null pointer.
    ///
    /// # Safety
    ///
    /// `m` must be null or a valid packet mbuf (from a pktmbuf pool that
    /// stays alive while the `Mbuf` lives) that nobody else owns or uses:
    /// refcount 1, direct, not referenced by any other `Mbuf`, ring or
    /// queue. The `Mbuf` frees it when dropped.
    #[inline]
    pub unsafe fn from_raw(m: *mut sys::rte_mbuf) -> Option<Self> {
        NonNull::new(m).map(Self)
    }

    /// Gives up ownership (for a DPDK call that takes it, such as a TX
    /// burst); the caller must see that the mbuf is freed.
    #[inline]
    pub fn into_raw(self) -> *mut sys::rte_mbuf {
        ManuallyDrop::new(self).0.as_ptr()
    }

    /// The raw mbuf, still owned by `self`.
    #[inline]
    pub fn as_ptr(&self) -> *mut sys::rte_mbuf {
        self.0.as_ptr()
    }

    #[inline]
    fn raw(&self) -> &sys::rte_mbuf {
        // SAFETY: we own a valid mbuf; &self gives shared access only.
        unsafe { self.0.as_ref() }
    }

    #[inline]
    fn raw_mut(&mut self) -> &mut sys::rte_mbuf {
        // SAFETY: we own a valid mbuf exclusively (&mut self).
        unsafe { self.0.as_mut() }
    }

    /// Total packet length over all segments.
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        self.raw().pkt_len
    }

    /// Number of segments.
    #[inline]
    pub fn nb_segs(&self) -> u16 {
        self.raw().nb_segs
    }

    /// True when the packet is all in the first segment.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.raw().nb_segs == 1
    }

    /// Size of the data buffer (headroom + data + tailroom of the segment).
    #[inline]
    pub fn buf_len(&self) -> u16 {
        self.raw().buf_len
    }

    /// Input port (set by receive).
    #[inline]
    pub fn port(&self) -> u16 {
        self.raw().port
    }

    /// Offload flags (`RTE_MBUF_F_*`).
    #[inline]
    pub fn ol_flags(&self) -> u64 {
        self.raw().ol_flags
    }

    /// Offload flags, writable (`RTE_MBUF_F_TX_*` requests).
    #[inline]
    pub fn ol_flags_mut(&mut self) -> &mut u64 {
        &mut self.raw_mut().ol_flags
    }

    /// RSS hash of the packet (valid when `RTE_MBUF_F_RX_RSS_HASH` is set).
    #[inline]
    pub fn rss_hash(&self) -> u32 {
        // SAFETY: every variant of the hash union is plain integers; reading
        // the `rss` member of a valid mbuf is always defined.
        unsafe { self.raw().__bindgen_anon_2.hash.rss }
    }

    /// Resets the mbuf to an empty single-segment packet with the default
    /// headroom (`rte_pktmbuf_reset`); frees nothing.
    ///
    /// Refused (returns `false`) on a chained mbuf, whose other segments
    /// would be leaked.
    pub fn reset(&mut self) -> bool {
        if !self.is_contiguous() {
            return false;
        }
        // SAFETY: we own the single-segment mbuf exclusively.
        unsafe { sys::ffi_rte_pktmbuf_reset(self.0.as_ptr()) };
        true
    }

    /// Copies a chained packet into its first segment and frees the others
    /// (`rte_pktmbuf_linearize`). Returns `false`, changing nothing, when the
    /// first segment has no room for it.
    pub fn linearize(&mut self) -> bool {
        if self.is_contiguous() {
            return true;
        }
        // SAFETY: we own the chain exclusively.
        unsafe { sys::ffi_rte_pktmbuf_linearize(self.0.as_ptr()) == 0 }
    }

    /// Replaces the packet with a copy of `bytes` at the current headroom.
    /// Returns `false`, changing nothing, when the segment is too small or
    /// the mbuf is chained.
    pub fn set_data(&mut self, bytes: &[u8]) -> bool {
        if !self.is_contiguous() {
            return false;
        }
        let off = usize::from(self.raw().data_off);
        if bytes.len() > usize::from(self.raw().buf_len).saturating_sub(off) {
            return false;
        }
        let len = bytes.len() as u16; // <= buf_len, a u16
        let m = self.raw_mut();
        m.data_len = len;
        m.pkt_len = u32::from(len);
        self.data_mut().copy_from_slice(bytes);
        true
    }
}

impl PacketBuf for Mbuf {
    #[inline]
    fn data(&self) -> &[u8] {
        let m = self.raw();
        // SAFETY: for a valid mbuf, buf_addr + data_off .. + data_len lies
        // inside its data buffer (DPDK's invariant, kept by every method
        // here), and &self keeps it from changing.
        unsafe {
            std::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let m = self.raw_mut();
        // SAFETY: as in `data`, and we own the buffer exclusively (refcount
        // 1, direct: the `from_raw` contract).
        unsafe {
            std::slice::from_raw_parts_mut(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    #[inline]
    fn headroom(&self) -> usize {
        usize::from(self.raw().data_off)
    }

    #[inline]
    fn tailroom(&self) -> usize {
        let m = self.raw();
        usize::from(m.buf_len).saturating_sub(usize::from(m.data_off) + usize::from(m.data_len))
    }

    // The four operations are rte_pktmbuf_prepend/append/adj/trim on the
    // first segment, in Rust so that they inline; a test checks them
    // against DPDK's own through the shim.

    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        let m = self.raw_mut();
        if n > usize::from(m.data_off) {
            return false;
        }
        let n = n as u16; // <= data_off
        m.data_off -= n;
        m.data_len += n; // data_off + data_len <= buf_len: no overflow
        m.pkt_len += u32::from(n);
        true
    }

    #[inline]
    fn append(&mut self, n: usize) -> bool {
        if !self.is_contiguous() || n > self.tailroom() {
            return false;
        }
        let n = n as u16; // <= tailroom < buf_len
        let m = self.raw_mut();
        m.data_len += n;
        m.pkt_len += u32::from(n);
        true
    }

    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        let m = self.raw_mut();
        if n > usize::from(m.data_len) {
            return false;
        }
        let n = n as u16; // <= data_len
        m.data_off += n;
        m.data_len -= n;
        m.pkt_len -= u32::from(n);
        true
    }

    #[inline]
    fn trim(&mut self, n: usize) -> bool {
        if !self.is_contiguous() {
            return false;
        }
        let m = self.raw_mut();
        if n > usize::from(m.data_len) {
            return false;
        }
        let n = n as u16; // <= data_len
        m.data_len -= n;
        m.pkt_len -= u32::from(n);
        true
    }

    #[inline]
    fn len(&self) -> usize {
        usize::from(self.raw().data_len)
    }
}

/// Up to `N` owned mbufs in a fixed array: what a receive fills, what a
/// transmit drains, and a `&mut [Mbuf]` for the dataplane pipeline
/// (`Deref<Target = [Mbuf]>`), with no allocation.
///
/// Dropping the burst frees the mbufs it still holds, in bulk.
pub struct MbufBurst<const N: usize = { dataplane::BURST_MAX }> {
    /// Slots `0..len` hold owned, non-null mbufs; the rest are unspecified.
    ptrs: [*mut sys::rte_mbuf; N],
    len: usize,
}

// SAFETY: the burst owns its mbufs (as `Mbuf`, which is Send).
unsafe impl<const N: usize> Send for MbufBurst<N> {}
// SAFETY: &MbufBurst only gives &[Mbuf] (Mbuf is Sync).
unsafe impl<const N: usize> Sync for MbufBurst<N> {}

impl<const N: usize> Default for MbufBurst<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for MbufBurst<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const N: usize> MbufBurst<N> {
    const CHECK: () = assert!(
        N > 0 && N <= u16::MAX as usize,
        "a burst holds 1 to 65535 mbufs"
    );

    /// An empty burst.
    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            ptrs: [std::ptr::null_mut(); N],
            len: 0,
        }
    }

    /// Number of mbufs held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no mbuf is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `N`.
    #[inline]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Slots still free.
    #[inline]
    pub fn free_space(&self) -> usize {
        N - self.len
    }

    /// True when every slot holds an mbuf.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// Adds an mbuf at the end, or gives it back when the burst is full.
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.len == N {
            return Err(m);
        }
        self.ptrs[self.len] = m.into_raw();
        self.len += 1;
        Ok(())
    }

    /// Removes the last mbuf.
    #[inline]
    pub fn pop(&mut self) -> Option<Mbuf> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: slot `len` held an owned mbuf, which leaves the burst.
        unsafe { Mbuf::from_raw(self.ptrs[self.len]) }
    }

    /// Removes mbuf `i`, replacing it with the last one (order not kept).
    #[inline]
    pub fn swap_remove(&mut self, i: usize) -> Option<Mbuf> {
        if i >= self.len {
            return None;
        }
        self.len -= 1;
        self.ptrs.swap(i, self.len);
        // SAFETY: the slot held an owned mbuf, which leaves the burst.
        unsafe { Mbuf::from_raw(self.ptrs[self.len]) }
    }

    /// Frees the mbufs past the first `len` (in bulk).
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        let (start, count) = (len, self.len - len);
        self.len = len;
        // SAFETY: slots start..start+count held owned mbufs, which are no
        // longer part of the burst; each is freed once. count <= N <= u16.
        unsafe { sys::ffi_rte_pktmbuf_free_bulk(self.ptrs.as_mut_ptr().add(start), count as u32) };
    }

    /// Frees every mbuf (in bulk).
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Takes every mbuf out, in order; those the iterator has not yielded
    /// when it is dropped are freed.
    pub fn drain(&mut self) -> Drain<'_, N> {
        let end = self.len;
        self.len = 0;
        Drain {
            burst: self,
            next: 0,
            end,
        }
    }

    /// The free slots as a raw array, for a DPDK call that fills them
    /// (receive, bulk allocation): pointer to the first free slot and how
    /// many there are.
    #[inline]
    pub(crate) fn spare_raw(&mut self) -> (*mut *mut sys::rte_mbuf, usize) {
        // SAFETY: len <= N, so the offset stays inside (or one past) ptrs.
        (
            unsafe { self.ptrs.as_mut_ptr().add(self.len) },
            N - self.len,
        )
    }

    /// Counts `n` filled free slots as part of the burst.
    ///
    /// # Safety
    ///
    /// The first `n` free slots (`n <= free_space()`) must hold owned, valid,
    /// non-null mbufs (as `Mbuf::from_raw` requires).
    #[inline]
    pub(crate) unsafe fn commit_spare(&mut self, n: usize) {
        debug_assert!(n <= self.free_space());
        debug_assert!(self.ptrs[self.len..self.len + n]
            .iter()
            .all(|p| !p.is_null()));
        self.len += n;
    }

    /// The held mbufs as a raw array (for a transmit call).
    #[inline]
    pub(crate) fn filled_raw(&mut self) -> (*mut *mut sys::rte_mbuf, usize) {
        (self.ptrs.as_mut_ptr(), self.len)
    }

    /// Forgets the first `n` mbufs (the device took them) and moves the
    /// rest to the front, in order.
    #[inline]
    pub(crate) fn consume_front(&mut self, n: usize) {
        let n = n.min(self.len);
        self.ptrs.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

impl<const N: usize> Deref for MbufBurst<N> {
    type Target = [Mbuf];

    #[inline]
    fn deref(&self) -> &[Mbuf] {
        // SAFETY: slots 0..len hold owned non-null mbuf pointers, and Mbuf is
        // a #[repr(transparent)] NonNull<rte_mbuf>, so they are `len`
        // initialised Mbufs; the slice borrows the burst.
        unsafe { std::slice::from_raw_parts(self.ptrs.as_ptr().cast::<Mbuf>(), self.len) }
    }
}

impl<const N: usize> DerefMut for MbufBurst<N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Mbuf] {
        // SAFETY: as in `deref`, borrowed mutably. Only non-null values can
        // be written through &mut Mbuf, so the invariant holds afterwards.
        unsafe { std::slice::from_raw_parts_mut(self.ptrs.as_mut_ptr().cast::<Mbuf>(), self.len) }
    }
}

impl<const N: usize> Drop for MbufBurst<N> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Iterator of [`MbufBurst::drain`].
pub struct Drain<'a, const N: usize> {
    burst: &'a mut MbufBurst<N>,
    next: usize,
    end: usize,
}

impl<const N: usize> fmt::Debug for Drain<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain")
            .field("remaining", &(self.end - self.next))
            .finish()
    }
}

impl<const N: usize> Iterator for Drain<'_, N> {
    type Item = Mbuf;

    #[inline]
    fn next(&mut self) -> Option<Mbuf> {
        if self.next >= self.end {
            return None;
        }
        let p = self.burst.ptrs[self.next];
        self.next += 1;
        // SAFETY: slots next..end still hold owned mbufs (the burst's len is
        // 0, so only this iterator refers to them); each is taken once.
        unsafe { Mbuf::from_raw(p) }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl<const N: usize> ExactSizeIterator for Drain<'_, N> {}

impl<const N: usize> Drop for Drain<'_, N> {
    fn drop(&mut self) {
        let count = self.end - self.next;
        if count > 0 {
            // SAFETY: slots next..end hold owned mbufs not yielded; each is
            // freed once. count <= N <= u16::MAX.
            unsafe {
                sys::ffi_rte_pktmbuf_free_bulk(
                    self.burst.ptrs.as_mut_ptr().add(self.next),
                    count as u32,
                );
            }
        }
        self.next = self.end;
    }
}

//! Packet buffers: the one abstraction the packet path needs from its I/O
//! layer.
//!
//! A packet is a contiguous byte range inside a larger buffer, with headroom
//! in front (for encapsulation headers) and tailroom behind (for the ESP
//! trailer and ICV). DPDK mbufs (single segment) implement this in the port
//! layer; [`VecBuf`] implements it on the heap for tests, fuzzing and
//! benchmarks. Code on the packet path is generic over [`PacketBuf`], so each
//! backend is monomorphised: no dynamic dispatch per packet.

/// A single-segment packet buffer with headroom and tailroom.
///
/// Every method that changes the size returns `false`, and changes nothing,
/// when the room is not there. None of them panics.
pub trait PacketBuf {
    /// The packet bytes.
    fn data(&self) -> &[u8];
    /// The packet bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Free bytes in front of the packet.
    fn headroom(&self) -> usize;
    /// Free bytes behind the packet.
    fn tailroom(&self) -> usize;
    /// Grows the packet at the front by `n` bytes (contents unspecified).
    fn prepend(&mut self, n: usize) -> bool;
    /// Grows the packet at the back by `n` bytes (contents unspecified).
    fn append(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the front.
    fn adj(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the back.
    fn trim(&mut self, n: usize) -> bool;

    /// Packet length in bytes.
    fn len(&self) -> usize {
        self.data().len()
    }
    /// True when the packet holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Default headroom of a [`VecBuf`], the same as DPDK's `RTE_PKTMBUF_HEADROOM`.
pub const DEFAULT_HEADROOM: usize = 128;

/// A heap buffer with headroom and tailroom, for tests and benchmarks.
#[derive(Clone, Debug)]
pub struct VecBuf {
    storage: Box<[u8]>,
    start: usize,
    end: usize,
}

impl VecBuf {
    /// An empty packet in a buffer of `capacity` bytes, starting `headroom`
    /// bytes in. `headroom` is clamped to `capacity`.
    pub fn with_capacity(capacity: usize, headroom: usize) -> Self {
        let headroom = headroom.min(capacity);
        Self {
            storage: vec![0u8; capacity].into_boxed_slice(),
            start: headroom,
            end: headroom,
        }
    }

    /// A packet holding a copy of `bytes`, with `headroom` bytes in front and
    /// `tailroom` bytes behind.
    pub fn from_slice(bytes: &[u8], headroom: usize, tailroom: usize) -> Self {
        let mut b = Self::with_capacity(headroom + bytes.len() + tailroom, headroom);
        b.end = headroom + bytes.len();
        b.storage[headroom..b.end].copy_from_slice(bytes);
        b
    }

    /// Like [`VecBuf::from_slice`] with the DPDK default headroom and 128
    /// bytes of tailroom (enough for any ESP trailer and ICV).
    pub fn new(bytes: &[u8]) -> Self {
        Self::from_slice(bytes, DEFAULT_HEADROOM, 128)
    }

    /// Resets the packet to a copy of `bytes` at the given headroom, reusing
    /// the storage when it is large enough. Returns `false` if it is not.
    pub fn reset_from(&mut self, bytes: &[u8], headroom: usize) -> bool {
        let Some(end) = headroom.checked_add(bytes.len()) else {
            return false;
        };
        if end > self.storage.len() {
            return false;
        }
        self.start = headroom;
        self.end = end;
        self.storage[headroom..end].copy_from_slice(bytes);
        true
    }

    /// The packet bytes as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.data().to_vec()
    }
}

impl PacketBuf for VecBuf {
    #[inline]
    fn data(&self) -> &[u8] {
        &self.storage[self.start..self.end]
    }
    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.end]
    }
    #[inline]
    fn headroom(&self) -> usize {
        self.start
    }
    #[inline]
    fn tailroom(&self) -> usize {
        self.storage.len() - self.end
    }
    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.start {
            return false;
        }
        self.start -= n;
        true
    }
    #[inline]
    fn append(&mut self, n: usize) -> bool {
        if n > self.tailroom() {
            return false;
        }
        self.end += n;
        true
    }
    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.start += n;
        true
    }
    #[inline]
    fn trim(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.end -= n;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_room_accounting() {
        let mut b = VecBuf::from_slice(&[1, 2, 3, 4], 8, 4);
        assert_eq!((b.headroom(), b.len(), b.tailroom()), (8, 4, 4));
        assert!(b.prepend(8));
        assert!(!b.prepend(1));
        assert_eq!(b.len(), 12);
        assert!(b.append(4));
        assert!(!b.append(1));
        assert!(b.adj(8));
        assert!(b.trim(4));
        assert_eq!(b.data(), &[1, 2, 3, 4]);
        assert!(!b.adj(5));
        assert!(!b.trim(5));
        assert_eq!(b.data(), &[1, 2, 3, 4]);
        assert!(b.reset_from(&[9; 10], 2));
        assert_eq!(b.data(), &[9; 10]);
        assert!(!b.reset_from(&[9; 15], 2));
    }
}

//! Lock-free SA and tunnel tables: one writer, many readers.
//!
//! Both tables are a [`SlotArray`]: a persistent array of `Option<Arc<T>>`
//! in chunks of [`CHUNK`] slots. The writer changes a private working copy
//! (copy-on-write of one chunk and of the chunk index, via `Arc::make_mut`)
//! and publishes it with one atomic pointer store (`arc_swap`). A reader
//! takes a snapshot once per burst (`ArcSwap::load`, no lock, no
//! allocation) and then indexes it with plain loads. An entry removed by the
//! writer stays alive while any snapshot that saw it is alive: the snapshot
//! is the quiescent-state marker, and reclamation is the `Arc` count.
//!
//! The SA table is indexed by SPI: SPIs we allocate carry the table index
//! in their low bits and a tag in the high bits, so inbound lookup is one
//! mask, one index and one comparison with the stored SPI (RFC 4301 section
//! 4.1 leaves the SPI's structure to the receiver that allocates it).

use std::fmt;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

/// Slots per chunk.
pub const CHUNK: usize = 1024;
const CHUNK_BITS: u32 = 10;
/// Largest supported capacity, as a power of two.
pub const MAX_INDEX_BITS: u32 = 22;

/// Errors from table writers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableError {
    /// Capacity must be 2^10 to 2^22 slots.
    BadCapacity,
    /// The index or SPI is outside the table.
    OutOfRange,
    /// The SPI was not allocated by this table, or is already filled.
    NotAllocated,
    /// The slot is already in use.
    Occupied,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadCapacity => "table capacity must be 2^10 to 2^22 entries",
            Self::OutOfRange => "index outside the table",
            Self::NotAllocated => "SPI not allocated by this table, or already filled",
            Self::Occupied => "slot already in use",
        })
    }
}

impl std::error::Error for TableError {}

type Chunk<T> = [Option<Arc<T>>; CHUNK];

/// A persistent array of optional `Arc<T>`, in chunks.
pub struct SlotArray<T> {
    chunks: Vec<Arc<Chunk<T>>>,
}

impl<T> Clone for SlotArray<T> {
    fn clone(&self) -> Self {
        Self {
            chunks: self.chunks.clone(),
        }
    }
}

impl<T> fmt::Debug for SlotArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotArray")
            .field("capacity", &self.capacity())
            .finish()
    }
}

fn empty_chunk<T>() -> Arc<Chunk<T>> {
    Arc::new(std::array::from_fn(|_| None))
}

impl<T> SlotArray<T> {
    /// An empty array of `capacity` slots (rounded up to whole chunks). All
    /// chunks share one empty chunk until written.
    pub fn new(capacity: usize) -> Self {
        let empty = empty_chunk();
        Self {
            chunks: vec![empty; capacity.div_ceil(CHUNK).max(1)],
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    /// The entry at `index`, if any.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&Arc<T>> {
        self.chunks.get(index >> CHUNK_BITS)?[index & (CHUNK - 1)].as_ref()
    }

    /// Sets the slot at `index`, returning what was there. Copies the chunk
    /// if a published version still shares it.
    pub fn set(
        &mut self,
        index: usize,
        value: Option<Arc<T>>,
    ) -> Result<Option<Arc<T>>, TableError> {
        let chunk = self
            .chunks
            .get_mut(index >> CHUNK_BITS)
            .ok_or(TableError::OutOfRange)?;
        let chunk = make_mut_chunk(chunk);
        Ok(std::mem::replace(&mut chunk[index & (CHUNK - 1)], value))
    }
}

/// `Arc::make_mut` for a chunk of `Option<Arc<T>>` without requiring
/// `T: Clone`: copying a chunk clones the `Arc`s, not the entries.
fn make_mut_chunk<T>(this: &mut Arc<Chunk<T>>) -> &mut Chunk<T> {
    if Arc::get_mut(this).is_none() {
        let copy: Chunk<T> = std::array::from_fn(|i| this[i].clone());
        *this = Arc::new(copy);
    }
    Arc::get_mut(this).expect("unique after copy")
}

/// A published table version and a reader's handle to the latest one.
struct Shared<T> {
    current: ArcSwap<SlotArray<T>>,
}

/// The writer's side of a table: a private working copy, the published
/// version, the count of filled slots and whether a publish is due.
struct Staged<T> {
    work: SlotArray<T>,
    shared: Arc<Shared<T>>,
    len: usize,
    dirty: bool,
}

impl<T> Staged<T> {
    fn new(capacity: usize) -> Self {
        let work = SlotArray::new(capacity);
        Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(work.clone()),
            }),
            work,
            len: 0,
            dirty: false,
        }
    }

    /// Sets a slot in the working copy, keeping the count.
    fn set(&mut self, index: usize, value: Option<Arc<T>>) -> Result<Option<Arc<T>>, TableError> {
        let filling = value.is_some();
        let old = self.work.set(index, value)?;
        match (old.is_some(), filling) {
            (false, true) => self.len += 1,
            (true, false) => self.len -= 1,
            _ => {}
        }
        self.dirty = true;
        Ok(old)
    }

    fn publish(&mut self) {
        if self.dirty {
            self.shared.current.store(Arc::new(self.work.clone()));
            self.dirty = false;
        }
    }
}

/// An entry that knows its own SPI.
pub trait SpiEntry {
    /// The SPI the entry was inserted under.
    fn spi(&self) -> u32;
}

/// The SA table's writer. Exactly one exists per table; changes become
/// visible to readers at [`SaTable::publish`], all at once.
pub struct SaTable<T> {
    table: Staged<T>,
    index_bits: u32,
    /// Per index: the SPI allocated there (0 = free).
    allocated: Vec<u32>,
    /// Per index: a counter mixed into the tag so a reused index gets a
    /// different SPI.
    generation: Vec<u16>,
    free: Vec<u32>,
}

impl<T> fmt::Debug for SaTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaTable")
            .field("capacity", &self.table.work.capacity())
            .field("len", &self.table.len)
            .finish()
    }
}

impl<T: SpiEntry> SaTable<T> {
    /// A table of `2^index_bits` SAs (10 to 22 bits).
    pub fn new(index_bits: u32) -> Result<Self, TableError> {
        if !(CHUNK_BITS..=MAX_INDEX_BITS).contains(&index_bits) {
            return Err(TableError::BadCapacity);
        }
        let cap = 1usize << index_bits;
        Ok(Self {
            table: Staged::new(cap),
            index_bits,
            allocated: vec![0; cap],
            generation: vec![0; cap],
            // Pop from the end: low indexes first.
            free: (0..cap as u32).rev().collect(),
        })
    }

    /// A handle for a worker.
    pub fn reader(&self) -> SaTableReader<T> {
        SaTableReader {
            shared: Arc::clone(&self.table.shared),
            mask: (1u32 << self.index_bits) - 1,
        }
    }

    /// Allocates an SPI for an SA to come (the SPI we send the peer in IKE).
    /// `random` is fresh randomness from the caller (the core has no RNG);
    /// the high bits of the SPI are derived from it and from a per-index
    /// generation, and never make the SPI fall in 0..=255 (reserved, RFC 4303
    /// section 2.1). Returns `None` when the table is full.
    pub fn allocate_spi(&mut self, random: u32) -> Option<u32> {
        let index = self.free.pop()?;
        let gen = &mut self.generation[index as usize];
        *gen = gen.wrapping_add(1);
        let tag_bits = 32 - self.index_bits;
        let tag_mask = (1u32 << tag_bits) - 1;
        let mut tag = (random ^ (u32::from(*gen) << (tag_bits.saturating_sub(16)))) & tag_mask;
        if tag == 0 {
            // A zero tag would give SPIs below the index range; 1 keeps the
            // SPI above 2^index_bits > 255.
            tag = 1;
        }
        let spi = (tag << self.index_bits) | index;
        self.allocated[index as usize] = spi;
        Some(spi)
    }

    /// Reserves an SPI chosen by someone else (a static SA in the
    /// configuration, or an SA read back from before a restart) so that
    /// [`SaTable::insert`] accepts it. Its table index is its low
    /// `index_bits`; it fails with [`TableError::Occupied`] when that index
    /// is already allocated (another SPI with the same low bits), and with
    /// [`TableError::OutOfRange`] for SPIs 0 to 255 (reserved, RFC 4303
    /// section 2.1). Not for the packet path: it searches the free list.
    pub fn reserve_spi(&mut self, spi: u32) -> Result<(), TableError> {
        if spi <= 255 {
            return Err(TableError::OutOfRange);
        }
        let index = self.index_of(spi)?;
        if self.allocated[index] != 0 {
            return Err(TableError::Occupied);
        }
        let pos = self
            .free
            .iter()
            .rposition(|&i| i as usize == index)
            .ok_or(TableError::Occupied)?;
        self.free.remove(pos);
        self.allocated[index] = spi;
        Ok(())
    }

    /// The SPI allocated at the table index of `spi`, if any (to name the
    /// SPI that a [`SaTable::reserve_spi`] collided with).
    pub fn allocated_at(&self, spi: u32) -> Option<u32> {
        let index = self.index_of(spi).ok()?;
        Some(self.allocated[index]).filter(|&s| s != 0)
    }

    /// Releases an SPI that was allocated but never filled.
    pub fn release_spi(&mut self, spi: u32) -> Result<(), TableError> {
        let index = self.index_of(spi)?;
        if self.allocated[index] != spi || self.table.work.get(index).is_some() {
            return Err(TableError::NotAllocated);
        }
        self.allocated[index] = 0;
        self.free.push(index as u32);
        Ok(())
    }

    fn index_of(&self, spi: u32) -> Result<usize, TableError> {
        let index = (spi & ((1u32 << self.index_bits) - 1)) as usize;
        if index >= self.allocated.len() {
            return Err(TableError::OutOfRange);
        }
        Ok(index)
    }

    /// Fills an allocated SPI with its SA. Visible after `publish`.
    pub fn insert(&mut self, entry: Arc<T>) -> Result<(), TableError> {
        let spi = entry.spi();
        let index = self.index_of(spi)?;
        if self.allocated[index] != spi {
            return Err(TableError::NotAllocated);
        }
        if self.table.work.get(index).is_some() {
            return Err(TableError::Occupied);
        }
        self.table.set(index, Some(entry))?;
        Ok(())
    }

    /// Removes the SA with this SPI and frees its index for reuse. Readers
    /// holding older snapshots keep the entry alive until they drop them.
    /// Visible after `publish`.
    pub fn remove(&mut self, spi: u32) -> Option<Arc<T>> {
        let index = self.index_of(spi).ok()?;
        if self.allocated[index] != spi {
            return None;
        }
        let old = self.table.set(index, None).ok().flatten()?;
        self.allocated[index] = 0;
        self.free.push(index as u32);
        Some(old)
    }

    /// The SA with this SPI in the working copy (the writer's view).
    pub fn get(&self, spi: u32) -> Option<&Arc<T>> {
        let index = self.index_of(spi).ok()?;
        self.table.work.get(index).filter(|e| e.spi() == spi)
    }

    /// Makes every change since the last publish visible to readers, at
    /// once. Batching changes (a rekey inserts one SA and removes another)
    /// costs one chunk-index copy per publish instead of one per change.
    pub fn publish(&mut self) {
        self.table.publish();
    }

    /// SAs in the working copy.
    pub fn len(&self) -> usize {
        self.table.len
    }

    /// True when no SA is in the working copy.
    pub fn is_empty(&self) -> bool {
        self.table.len == 0
    }
}

/// A worker's handle on the SA table. Cheap to clone; `Send + Sync`.
pub struct SaTableReader<T> {
    shared: Arc<Shared<T>>,
    mask: u32,
}

impl<T> Clone for SaTableReader<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            mask: self.mask,
        }
    }
}

impl<T> fmt::Debug for SaTableReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaTableReader").finish_non_exhaustive()
    }
}

impl<T: SpiEntry> SaTableReader<T> {
    /// The current table version; take it once per burst.
    #[inline]
    pub fn snapshot(&self) -> SaSnapshot<'_, T> {
        SaSnapshot {
            table: self.shared.current.load(),
            mask: self.mask,
            _reader: std::marker::PhantomData,
        }
    }
}

/// One table version, held for the duration of a burst.
pub struct SaSnapshot<'a, T> {
    table: Guard<Arc<SlotArray<T>>>,
    mask: u32,
    _reader: std::marker::PhantomData<&'a ()>,
}

impl<T> fmt::Debug for SaSnapshot<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaSnapshot").finish_non_exhaustive()
    }
}

impl<T: SpiEntry> SaSnapshot<'_, T> {
    /// The SA with this SPI: one index, one compare of the stored SPI.
    #[inline]
    pub fn get(&self, spi: u32) -> Option<&Arc<T>> {
        self.table
            .get((spi & self.mask) as usize)
            .filter(|e| e.spi() == spi)
    }
}

/// The tunnel table's writer: entries by dense tunnel id.
pub struct TunnelTable<T> {
    table: Staged<T>,
}

impl<T> fmt::Debug for TunnelTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelTable")
            .field("capacity", &self.table.work.capacity())
            .field("len", &self.table.len)
            .finish()
    }
}

impl<T> TunnelTable<T> {
    /// A table for tunnel ids `0..2^index_bits` (10 to 22 bits).
    pub fn new(index_bits: u32) -> Result<Self, TableError> {
        if !(CHUNK_BITS..=MAX_INDEX_BITS).contains(&index_bits) {
            return Err(TableError::BadCapacity);
        }
        Ok(Self {
            table: Staged::new(1 << index_bits),
        })
    }

    /// A handle for a worker.
    pub fn reader(&self) -> TunnelTableReader<T> {
        TunnelTableReader {
            shared: Arc::clone(&self.table.shared),
        }
    }

    /// Sets tunnel `id` (inserting or replacing); returns the old value.
    /// Visible after `publish`.
    pub fn insert(&mut self, id: u32, entry: Arc<T>) -> Result<Option<Arc<T>>, TableError> {
        self.table.set(id as usize, Some(entry))
    }

    /// Removes tunnel `id`. Visible after `publish`.
    pub fn remove(&mut self, id: u32) -> Option<Arc<T>> {
        self.table.set(id as usize, None).ok().flatten()
    }

    /// Tunnel `id` in the working copy.
    pub fn get(&self, id: u32) -> Option<&Arc<T>> {
        self.table.work.get(id as usize)
    }

    /// Makes every change since the last publish visible to readers.
    pub fn publish(&mut self) {
        self.table.publish();
    }

    /// Tunnels in the working copy.
    pub fn len(&self) -> usize {
        self.table.len
    }

    /// True when there is no tunnel.
    pub fn is_empty(&self) -> bool {
        self.table.len == 0
    }
}

/// A worker's handle on the tunnel table.
pub struct TunnelTableReader<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for TunnelTableReader<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for TunnelTableReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelTableReader").finish_non_exhaustive()
    }
}

impl<T> TunnelTableReader<T> {
    /// The current table version; take it once per burst.
    #[inline]
    pub fn snapshot(&self) -> TunnelSnapshot<'_, T> {
        TunnelSnapshot {
            table: self.shared.current.load(),
            _reader: std::marker::PhantomData,
        }
    }
}

/// One tunnel-table version, held for a burst.
pub struct TunnelSnapshot<'a, T> {
    table: Guard<Arc<SlotArray<T>>>,
    _reader: std::marker::PhantomData<&'a ()>,
}

impl<T> fmt::Debug for TunnelSnapshot<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelSnapshot").finish_non_exhaustive()
    }
}

impl<T> TunnelSnapshot<'_, T> {
    /// Tunnel `id`.
    #[inline]
    pub fn get(&self, id: u32) -> Option<&Arc<T>> {
        self.table.get(id as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(u32);
    impl SpiEntry for E {
        fn spi(&self) -> u32 {
            self.0
        }
    }

    #[test]
    fn test_capacity_bounds() {
        assert!(SaTable::<E>::new(9).is_err());
        assert!(SaTable::<E>::new(23).is_err());
        assert!(SaTable::<E>::new(10).is_ok());
    }

    #[test]
    fn test_allocate_insert_lookup_remove() {
        let mut t = SaTable::new(10).unwrap();
        let r = t.reader();
        let spi = t.allocate_spi(0xdead_beef).unwrap();
        assert!(spi > 255);
        t.insert(Arc::new(E(spi))).unwrap();
        assert!(r.snapshot().get(spi).is_none(), "invisible before publish");
        t.publish();
        let snap = r.snapshot();
        assert_eq!(snap.get(spi).unwrap().spi(), spi);
        // Same index, other tag: not found.
        assert!(snap.get(spi ^ 0x8000_0000).is_none());
        assert!(t.remove(spi).is_some());
        t.publish();
        assert!(snap.get(spi).is_some(), "old snapshot keeps the entry");
        assert!(r.snapshot().get(spi).is_none());
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn test_spi_rules() {
        let mut t = SaTable::new(10).unwrap();
        // Never reserved SPIs, whatever the randomness.
        for r in [0u32, 1, 0xffff_ffff, 0x003f_ffff] {
            let spi = t.allocate_spi(r).unwrap();
            assert!(spi > 255, "{spi:#x}");
        }
        // Insert requires an allocated SPI; twice is refused.
        assert_eq!(
            t.insert(Arc::new(E(0x1234_5678))),
            Err(TableError::NotAllocated)
        );
        let spi = t.allocate_spi(7).unwrap();
        t.insert(Arc::new(E(spi))).unwrap();
        assert_eq!(t.insert(Arc::new(E(spi))), Err(TableError::Occupied));
        assert_eq!(t.release_spi(spi), Err(TableError::NotAllocated));
        // A reused index gets a different SPI, so a stale SPI misses.
        t.remove(spi).unwrap();
        let mut again = None;
        for _ in 0..1024 {
            let s = t.allocate_spi(7).unwrap();
            if s & 0x3ff == spi & 0x3ff {
                again = Some(s);
                break;
            }
        }
        let again = again.unwrap();
        assert_ne!(again, spi);
    }

    #[test]
    fn test_reserve_given_spi() {
        let mut t = SaTable::new(10).unwrap();
        let r = t.reader();
        // Not allocated yet: insert refuses.
        assert_eq!(
            t.insert(Arc::new(E(0x1234_5001))),
            Err(TableError::NotAllocated)
        );
        t.reserve_spi(0x1234_5001).unwrap();
        t.insert(Arc::new(E(0x1234_5001))).unwrap();
        t.publish();
        assert_eq!(r.snapshot().get(0x1234_5001).unwrap().0, 0x1234_5001);
        // Same low 10 bits: refused, and the holder can be named.
        assert_eq!(t.reserve_spi(0x0000_5401), Err(TableError::Occupied));
        assert_eq!(t.allocated_at(0x0000_5401), Some(0x1234_5001));
        assert_eq!(t.reserve_spi(200), Err(TableError::OutOfRange));
        // Allocation never hands out the reserved index again.
        for _ in 0..1023 {
            let spi = t.allocate_spi(7).unwrap();
            assert_ne!(spi & 0x3ff, 0x001);
        }
        assert_eq!(t.allocate_spi(7), None);
        // Removing frees the index for the next reservation.
        assert!(t.remove(0x1234_5001).is_some());
        t.reserve_spi(0x0000_5401).unwrap();
    }

    #[test]
    fn test_full_table() {
        let mut t = SaTable::<E>::new(10).unwrap();
        for i in 0..1024 {
            assert!(t.allocate_spi(i).is_some());
        }
        assert!(t.allocate_spi(0).is_none());
    }

    #[test]
    fn test_tunnel_table() {
        let mut t = TunnelTable::new(10).unwrap();
        let r = t.reader();
        assert!(t.insert(5, Arc::new(50u32)).unwrap().is_none());
        assert_eq!(t.insert(5, Arc::new(51u32)).unwrap().as_deref(), Some(&50));
        assert_eq!(t.insert(1 << 12, Arc::new(0)), Err(TableError::OutOfRange));
        t.publish();
        assert_eq!(r.snapshot().get(5).map(|a| **a), Some(51));
        assert!(r.snapshot().get(1 << 20).is_none());
        t.remove(5);
        t.publish();
        assert!(r.snapshot().get(5).is_none());
        assert!(t.is_empty());
    }
}

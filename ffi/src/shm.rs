//! Shared memory between the control-plane and dataplane processes: a file
//! in `/dev/shm` mapped by both, holding a header and two single-producer
//! single-consumer rings of fixed-size slots (control plane to dataplane,
//! and back). Nothing here blocks; a full ring is an error the caller
//! counts.
//!
//! ```text
//!  0      header (one page): magic, layout version, sizes, ring offsets,
//!         generation of each side, the control plane's heartbeat
//!  4096   ring 0 (to the dataplane): head | tail | slots
//!  ...    ring 1 (to the control plane): head | tail | slots
//! ```
//!
//! A ring's head is written only by its producer and its tail only by its
//! consumer, each on a cache line of its own (128 bytes apart, so that the
//! adjacent-line prefetcher does not pair them). The producer writes a slot
//! (`u32` length, then the bytes), then publishes it with a release store
//! of the head; the consumer reads the head with an acquire load, copies
//! the slot out, then frees it with a release store of the tail. Both
//! indexes only grow; a slot is `index % slots`.
//!
//! The other process is not trusted: every length read from the region is
//! checked against the layout before use, and a region whose header does
//! not match the layout is refused.
//!
//! The dataplane creates the region (and outlives control-plane restarts);
//! a restarted control plane opens it again and goes on from the indexes
//! it finds, so nothing in flight is lost.

use std::ffi::CString;
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// `FLXVPNSH` in little-endian.
pub const MAGIC: u64 = u64::from_le_bytes(*b"FLXVPNSH");
/// Layout version; a region of another version is refused.
pub const VERSION: u32 = 1;
/// The header's size.
const HEADER: usize = 4096;
/// Bytes from the start of a ring to its slots (head and tail lines).
const RING_META: usize = 256;
/// Offset of the tail in a ring.
const TAIL_OFF: usize = 128;

/// The two rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Commands and injected packets, control plane to dataplane.
    ToDataplane = 0,
    /// Punts, acknowledgements and state dumps, dataplane to control plane.
    ToControl = 1,
}

/// Sizes of the rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Slots per ring (a power of two).
    pub slots: u32,
    /// Bytes per slot, the 4-byte length included (a multiple of 64).
    pub slot_size: u32,
}

impl Default for Layout {
    /// 4096 slots of 2 KiB: a full-size packet with its metadata fits in a
    /// slot; 8 MiB per ring.
    fn default() -> Self {
        Self {
            slots: 4096,
            slot_size: 2048,
        }
    }
}

impl Layout {
    fn ring_bytes(&self) -> usize {
        RING_META + self.slots as usize * self.slot_size as usize
    }

    /// The region's total size.
    #[must_use]
    pub fn total(&self) -> usize {
        HEADER + 2 * self.ring_bytes()
    }

    /// Largest message a slot holds.
    #[must_use]
    pub fn max_message(&self) -> usize {
        self.slot_size as usize - 4
    }

    fn check(&self) -> Result<(), ShmError> {
        if !self.slots.is_power_of_two()
            || self.slots < 2
            || self.slot_size < 64
            || self.slot_size % 64 != 0
            || self.slot_size > 1 << 20
            || self.slots > 1 << 20
        {
            return Err(ShmError::Layout(*self));
        }
        Ok(())
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShmError {
    /// A system call failed: which, and errno's text.
    Os(&'static str, String),
    /// The name is not a plain file name.
    Name(String),
    /// The sizes are not usable.
    Layout(Layout),
    /// The region is not ours or has another layout version.
    Header(String),
    /// The ring is full: the message was not sent.
    Full,
    /// The message is larger than a slot.
    TooBig(usize),
    /// The other side wrote a slot that does not fit the layout.
    Corrupt(String),
    /// Another handle already produces (or consumes) on this ring in this
    /// process.
    InUse(Dir),
}

impl fmt::Display for ShmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Os(call, e) => write!(f, "{call}: {e}"),
            Self::Name(n) => write!(
                f,
                "shared memory name {n:?}: letters, digits, '-', '_' and '.' only"
            ),
            Self::Layout(l) => write!(f, "unusable ring layout {l:?}"),
            Self::Header(why) => write!(f, "not a usable region: {why}"),
            Self::Full => f.write_str("ring full"),
            Self::TooBig(n) => write!(f, "message of {n} bytes does not fit a slot"),
            Self::Corrupt(why) => write!(f, "corrupt slot: {why}"),
            Self::InUse(d) => write!(f, "ring {d:?} already has a handle on this side"),
        }
    }
}

impl std::error::Error for ShmError {}

fn os(call: &'static str) -> ShmError {
    ShmError::Os(call, std::io::Error::last_os_error().to_string())
}

/// Offsets of header fields.
mod hdr {
    pub(super) const MAGIC: usize = 0;
    pub(super) const VERSION: usize = 8;
    pub(super) const SLOTS: usize = 12;
    pub(super) const SLOT_SIZE: usize = 16;
    pub(super) const TOTAL: usize = 24;
    /// Generations and heartbeat, each on its own line.
    pub(super) const DP_GENERATION: usize = 128;
    pub(super) const CP_GENERATION: usize = 256;
    pub(super) const CP_HEARTBEAT: usize = 384;
}

struct Mapping {
    base: NonNull<u8>,
    len: usize,
    layout: Layout,
    /// One producer and one consumer handle per ring in this process.
    producing: [AtomicBool; 2],
    consuming: [AtomicBool; 2],
}

// SAFETY: the mapping is plain shared memory; every access to it goes
// through atomics (indexes, generations) or through slots that the SPSC
// protocol gives to one side at a time.
unsafe impl Send for Mapping {}
// SAFETY: as for Send: concurrent access is only through atomics and
// protocol-owned slots.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: base/len are exactly what mmap returned; nothing borrows
        // the mapping any more (handles hold an Arc to it).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

impl Mapping {
    fn atomic(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off % 8 == 0 && off + 8 <= self.len);
        // SAFETY: `off` is one of the fixed 8-aligned offsets inside the
        // mapping (header fields, ring heads and tails), the mapping is
        // page-aligned and lives as long as `self`, and AtomicU64 has the
        // size and alignment of u64.
        unsafe { &*self.base.as_ptr().add(off).cast::<AtomicU64>() }
    }

    fn read_u32(&self, off: usize) -> u32 {
        debug_assert!(off + 4 <= self.len);
        // SAFETY: in bounds (header fields and slot lengths at fixed
        // offsets checked by the callers), 4-aligned (the mapping is
        // page-aligned, header fields and slots are at multiples of 4); a
        // racing writer can only give us a wrong number, which every
        // caller validates.
        unsafe { self.base.as_ptr().add(off).cast::<u32>().read_volatile() }
    }

    fn ring_off(&self, d: Dir) -> usize {
        HEADER + d as usize * self.layout.ring_bytes()
    }

    fn slot_off(&self, d: Dir, index: u64) -> usize {
        let i = (index & u64::from(self.layout.slots - 1)) as usize;
        self.ring_off(d) + RING_META + i * self.layout.slot_size as usize
    }
}

/// A mapped region.
#[derive(Clone)]
pub struct Region {
    m: Arc<Mapping>,
    name: String,
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("name", &self.name)
            .field("layout", &self.m.layout)
            .finish()
    }
}

fn c_name(name: &str) -> Result<CString, ShmError> {
    if name.is_empty()
        || name.len() > 200
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        || name.starts_with('.')
    {
        return Err(ShmError::Name(name.to_string()));
    }
    CString::new(format!("/{name}")).map_err(|_| ShmError::Name(name.to_string()))
}

fn map(fd: libc::c_int, len: usize) -> Result<NonNull<u8>, ShmError> {
    // SAFETY: a fresh shared mapping of an fd we own, of the file's size;
    // the result is checked against MAP_FAILED.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(os("mmap"));
    }
    NonNull::new(p.cast()).ok_or_else(|| os("mmap"))
}

struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor; the mapping does not need it.
        unsafe {
            libc::close(self.0);
        }
    }
}

impl Region {
    /// Creates (or replaces) `/dev/shm/NAME` with `layout`, mode 0600, and
    /// starts the dataplane's generation at 1. The dataplane calls this.
    ///
    /// # Errors
    ///
    /// A bad name or layout, or a failed system call.
    pub fn create(name: &str, layout: Layout) -> Result<Self, ShmError> {
        layout.check()?;
        let c = c_name(name)?;
        let total = layout.total();
        // SAFETY: plain libc calls on a checked C string; results checked.
        let fd = unsafe {
            libc::shm_unlink(c.as_ptr());
            libc::shm_open(
                c.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_RDWR,
                0o600,
            )
        };
        if fd < 0 {
            return Err(os("shm_open"));
        }
        let fd = Fd(fd);
        let size = libc::off_t::try_from(total).map_err(|_| ShmError::Layout(layout))?;
        // SAFETY: ftruncate on the descriptor we just opened.
        if unsafe { libc::ftruncate(fd.0, size) } != 0 {
            return Err(os("ftruncate"));
        }
        let base = map(fd.0, total)?;
        let m = Mapping {
            base,
            len: total,
            layout,
            producing: [AtomicBool::new(false), AtomicBool::new(false)],
            consuming: [AtomicBool::new(false), AtomicBool::new(false)],
        };
        // The file is fresh (zeroed by ftruncate): write the header, magic
        // last, so that an opener never sees a half-written header.
        // SAFETY: header offsets are inside the first page of the mapping,
        // which no other process uses before the magic is published.
        unsafe {
            let b = m.base.as_ptr();
            b.add(hdr::VERSION).cast::<u32>().write_volatile(VERSION);
            b.add(hdr::SLOTS).cast::<u32>().write_volatile(layout.slots);
            b.add(hdr::SLOT_SIZE)
                .cast::<u32>()
                .write_volatile(layout.slot_size);
            b.add(hdr::TOTAL).cast::<u64>().write_volatile(total as u64);
        }
        m.atomic(hdr::DP_GENERATION).store(1, Ordering::Release);
        m.atomic(hdr::MAGIC).store(MAGIC, Ordering::Release);
        Ok(Self {
            m: Arc::new(m),
            name: name.to_string(),
        })
    }

    /// Opens a region the dataplane created; checks its header. The
    /// control plane calls this, and bumps its generation.
    ///
    /// # Errors
    ///
    /// No such region, or a header that does not match.
    pub fn open(name: &str) -> Result<Self, ShmError> {
        let c = c_name(name)?;
        // SAFETY: plain libc call on a checked C string; result checked.
        let fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_RDWR, 0) };
        if fd < 0 {
            return Err(os("shm_open"));
        }
        let fd = Fd(fd);
        // SAFETY: fstat into a zeroed struct we own.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on our descriptor into our struct.
        if unsafe { libc::fstat(fd.0, &mut st) } != 0 {
            return Err(os("fstat"));
        }
        let len = usize::try_from(st.st_size).unwrap_or(0);
        if len < HEADER {
            return Err(ShmError::Header(format!("{len} bytes, less than a header")));
        }
        let base = map(fd.0, len)?;
        let mut m = Mapping {
            base,
            len,
            layout: Layout {
                slots: 0,
                slot_size: 0,
            },
            producing: [AtomicBool::new(false), AtomicBool::new(false)],
            consuming: [AtomicBool::new(false), AtomicBool::new(false)],
        };
        let magic = m.atomic(hdr::MAGIC).load(Ordering::Acquire);
        if magic != MAGIC {
            return Err(ShmError::Header(format!("magic {magic:#x}")));
        }
        let version = m.read_u32(hdr::VERSION);
        if version != VERSION {
            return Err(ShmError::Header(format!(
                "layout version {version}, this program has {VERSION}"
            )));
        }
        let layout = Layout {
            slots: m.read_u32(hdr::SLOTS),
            slot_size: m.read_u32(hdr::SLOT_SIZE),
        };
        layout
            .check()
            .map_err(|_| ShmError::Header(format!("bad layout {layout:?}")))?;
        let total = m.atomic(hdr::TOTAL).load(Ordering::Acquire);
        if total != layout.total() as u64 || len != layout.total() {
            return Err(ShmError::Header(format!(
                "size {len} (header says {total}) does not fit {layout:?}"
            )));
        }
        m.layout = layout;
        Ok(Self {
            m: Arc::new(m),
            name: name.to_string(),
        })
    }

    /// Removes the name (mappings stay valid until dropped).
    pub fn unlink(name: &str) {
        if let Ok(c) = c_name(name) {
            // SAFETY: plain libc call on a checked C string.
            unsafe {
                libc::shm_unlink(c.as_ptr());
            }
        }
    }

    /// Its name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its layout.
    #[must_use]
    pub fn layout(&self) -> Layout {
        self.m.layout
    }

    /// The dataplane's generation (bumped when it re-creates the region).
    #[must_use]
    pub fn dp_generation(&self) -> u64 {
        self.m.atomic(hdr::DP_GENERATION).load(Ordering::Acquire)
    }

    /// The control plane's generation: bumped by each control plane that
    /// attaches, so the dataplane sees a restart.
    #[must_use]
    pub fn cp_generation(&self) -> u64 {
        self.m.atomic(hdr::CP_GENERATION).load(Ordering::Acquire)
    }

    /// A control plane attaches: its generation, one more than the last.
    pub fn attach_control(&self) -> u64 {
        self.m
            .atomic(hdr::CP_GENERATION)
            .fetch_add(1, Ordering::AcqRel)
            + 1
    }

    /// The control plane's heartbeat (any increasing value, e.g. its
    /// uptime in milliseconds).
    pub fn set_heartbeat(&self, v: u64) {
        self.m.atomic(hdr::CP_HEARTBEAT).store(v, Ordering::Release);
    }

    /// The last heartbeat.
    #[must_use]
    pub fn heartbeat(&self) -> u64 {
        self.m.atomic(hdr::CP_HEARTBEAT).load(Ordering::Acquire)
    }

    /// The producer end of a ring (one per ring per process at a time).
    ///
    /// # Errors
    ///
    /// [`ShmError::InUse`].
    pub fn producer(&self, d: Dir) -> Result<Producer, ShmError> {
        if self.m.producing[d as usize].swap(true, Ordering::AcqRel) {
            return Err(ShmError::InUse(d));
        }
        Ok(Producer {
            m: Arc::clone(&self.m),
            d,
        })
    }

    /// The consumer end of a ring (one per ring per process at a time).
    ///
    /// # Errors
    ///
    /// [`ShmError::InUse`].
    pub fn consumer(&self, d: Dir) -> Result<Consumer, ShmError> {
        if self.m.consuming[d as usize].swap(true, Ordering::AcqRel) {
            return Err(ShmError::InUse(d));
        }
        Ok(Consumer {
            m: Arc::clone(&self.m),
            d,
        })
    }
}

/// Writes messages into a ring.
pub struct Producer {
    m: Arc<Mapping>,
    d: Dir,
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer").field("dir", &self.d).finish()
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.m.producing[self.d as usize].store(false, Ordering::Release);
    }
}

impl Producer {
    fn head(&self) -> &AtomicU64 {
        self.m.atomic(self.m.ring_off(self.d))
    }

    fn tail(&self) -> &AtomicU64 {
        self.m.atomic(self.m.ring_off(self.d) + TAIL_OFF)
    }

    /// Free slots now.
    #[must_use]
    pub fn free(&self) -> u64 {
        let head = self.head().load(Ordering::Relaxed);
        let tail = self.tail().load(Ordering::Acquire);
        u64::from(self.m.layout.slots).saturating_sub(head.wrapping_sub(tail))
    }

    /// Sends one message.
    ///
    /// # Errors
    ///
    /// [`ShmError::TooBig`] or [`ShmError::Full`] (nothing was written).
    pub fn push(&mut self, msg: &[u8]) -> Result<(), ShmError> {
        if msg.len() > self.m.layout.max_message() {
            return Err(ShmError::TooBig(msg.len()));
        }
        // Only we write the head.
        let head = self.head().load(Ordering::Relaxed);
        let tail = self.tail().load(Ordering::Acquire);
        if head.wrapping_sub(tail) >= u64::from(self.m.layout.slots) {
            return Err(ShmError::Full);
        }
        let off = self.m.slot_off(self.d, head);
        let len = u32::try_from(msg.len()).map_err(|_| ShmError::TooBig(msg.len()))?;
        // SAFETY: the slot at `head` is free (head - tail < slots, and the
        // consumer's release store of the tail says it is done with it);
        // off + 4 + len <= slot end because len <= slot_size - 4; only the
        // single producer writes it until the head moves past it.
        unsafe {
            let p = self.m.base.as_ptr().add(off);
            p.cast::<u32>().write_unaligned(len);
            std::ptr::copy_nonoverlapping(msg.as_ptr(), p.add(4), msg.len());
        }
        self.head().store(head.wrapping_add(1), Ordering::Release);
        Ok(())
    }
}

/// Reads messages from a ring.
pub struct Consumer {
    m: Arc<Mapping>,
    d: Dir,
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer").field("dir", &self.d).finish()
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.m.consuming[self.d as usize].store(false, Ordering::Release);
    }
}

impl Consumer {
    fn head(&self) -> &AtomicU64 {
        self.m.atomic(self.m.ring_off(self.d))
    }

    fn tail(&self) -> &AtomicU64 {
        self.m.atomic(self.m.ring_off(self.d) + TAIL_OFF)
    }

    /// Messages waiting.
    #[must_use]
    pub fn pending(&self) -> u64 {
        let head = self.head().load(Ordering::Acquire);
        let tail = self.tail().load(Ordering::Relaxed);
        head.wrapping_sub(tail).min(u64::from(self.m.layout.slots))
    }

    /// Copies the next message into `out` (cleared first); `Ok(false)`
    /// when the ring is empty.
    ///
    /// # Errors
    ///
    /// [`ShmError::Corrupt`]: the slot's length does not fit (the slot is
    /// skipped), or the indexes are inconsistent.
    pub fn pop(&mut self, out: &mut Vec<u8>) -> Result<bool, ShmError> {
        out.clear();
        let tail = self.tail().load(Ordering::Relaxed);
        let head = self.head().load(Ordering::Acquire);
        if head == tail {
            return Ok(false);
        }
        if head.wrapping_sub(tail) > u64::from(self.m.layout.slots) {
            // The producer claims more than the ring holds: skip to it.
            self.tail().store(head, Ordering::Release);
            return Err(ShmError::Corrupt(format!("head {head} tail {tail}")));
        }
        let off = self.m.slot_off(self.d, tail);
        let len = self.m.read_u32(off) as usize;
        let r = if len > self.m.layout.max_message() {
            Err(ShmError::Corrupt(format!("length {len}")))
        } else {
            out.reserve(len);
            // SAFETY: the slot at `tail` was published by the producer's
            // release store of the head (acquired above) and is not
            // reused before our release store of the tail below; len was
            // checked to fit the slot; `out` has room for len bytes, and
            // set_len covers exactly the bytes just copied.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    self.m.base.as_ptr().add(off + 4),
                    out.as_mut_ptr(),
                    len,
                );
                out.set_len(len);
            }
            Ok(true)
        };
        self.tail().store(tail.wrapping_add(1), Ordering::Release);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(t: &str) -> String {
        format!("flexvpn-test-{t}-{}", std::process::id())
    }

    struct Unlink(String);
    impl Drop for Unlink {
        fn drop(&mut self) {
            Region::unlink(&self.0);
        }
    }

    #[test]
    fn test_roundtrip_wrap_full_and_checks() {
        let n = name("basic");
        let _u = Unlink(n.clone());
        let layout = Layout {
            slots: 4,
            slot_size: 64,
        };
        let dp = Region::create(&n, layout).unwrap();
        let cp = Region::open(&n).unwrap();
        assert_eq!(cp.layout(), layout);
        assert_eq!(cp.dp_generation(), 1);
        assert_eq!(cp.attach_control(), 1);
        assert_eq!(dp.cp_generation(), 1);
        let mut tx = cp.producer(Dir::ToDataplane).unwrap();
        assert!(matches!(
            cp.producer(Dir::ToDataplane),
            Err(ShmError::InUse(_))
        ));
        let mut rx = dp.consumer(Dir::ToDataplane).unwrap();
        let mut buf = Vec::new();
        assert!(!rx.pop(&mut buf).unwrap());
        // Many rounds through a 4-slot ring: wrap-around, full, order.
        let mut next = 0u32;
        let mut expect = 0u32;
        for round in 0..50 {
            loop {
                let m = next.to_le_bytes().repeat(1 + (next % 15) as usize);
                match tx.push(&m) {
                    Ok(()) => next += 1,
                    Err(ShmError::Full) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(tx.free(), 0);
            for _ in 0..=(round % 4) {
                if rx.pop(&mut buf).unwrap() {
                    assert_eq!(buf, expect.to_le_bytes().repeat(1 + (expect % 15) as usize));
                    expect += 1;
                }
            }
        }
        while rx.pop(&mut buf).unwrap() {
            expect += 1;
        }
        assert_eq!(expect, next);
        assert_eq!(tx.push(&[0; 61]), Err(ShmError::TooBig(61)));
        tx.push(&[7; 60]).unwrap();
        assert!(rx.pop(&mut buf).unwrap());
        assert_eq!(buf, vec![7; 60]);
        // Handles can be taken again once dropped.
        drop(tx);
        let _tx = cp.producer(Dir::ToDataplane).unwrap();
    }

    #[test]
    fn test_refuses_foreign_regions() {
        let n = name("foreign");
        let _u = Unlink(n.clone());
        assert!(matches!(Region::open(&n), Err(ShmError::Os("shm_open", _))));
        std::fs::write(format!("/dev/shm/{n}"), vec![0u8; 8192]).unwrap();
        assert!(matches!(Region::open(&n), Err(ShmError::Header(_))));
        let mut h = vec![0u8; 8192];
        h[..8].copy_from_slice(&MAGIC.to_le_bytes());
        h[8..12].copy_from_slice(&99u32.to_le_bytes());
        std::fs::write(format!("/dev/shm/{n}"), &h).unwrap();
        let e = Region::open(&n).unwrap_err();
        assert!(e.to_string().contains("version 99"), "{e}");
        // Right version, sizes that do not match the file.
        h[8..12].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&4u32.to_le_bytes());
        h[16..20].copy_from_slice(&64u32.to_le_bytes());
        h[24..32].copy_from_slice(&1_000_000u64.to_le_bytes());
        std::fs::write(format!("/dev/shm/{n}"), &h).unwrap();
        assert!(matches!(Region::open(&n), Err(ShmError::Header(_))));
        assert!(matches!(
            Region::create("../x", Layout::default()),
            Err(ShmError::Name(_))
        ));
        assert!(matches!(
            Region::create(
                &n,
                Layout {
                    slots: 3,
                    slot_size: 64
                }
            ),
            Err(ShmError::Layout(_))
        ));
    }

    #[test]
    fn test_corrupt_length_is_skipped() {
        let n = name("corrupt");
        let _u = Unlink(n.clone());
        let layout = Layout {
            slots: 4,
            slot_size: 64,
        };
        let r = Region::create(&n, layout).unwrap();
        let mut tx = r.producer(Dir::ToControl).unwrap();
        let mut rx = r.consumer(Dir::ToControl).unwrap();
        tx.push(b"one").unwrap();
        tx.push(b"two").unwrap();
        // The other side scribbles a huge length into the first slot.
        let slot0 = HEADER + layout.ring_bytes() + RING_META;
        {
            use std::io::{Seek, SeekFrom, Write};
            let mut fh = std::fs::OpenOptions::new()
                .write(true)
                .open(format!("/dev/shm/{n}"))
                .unwrap();
            fh.seek(SeekFrom::Start(slot0 as u64)).unwrap();
            fh.write_all(&u32::MAX.to_le_bytes()).unwrap();
        }
        let mut buf = Vec::new();
        assert!(matches!(rx.pop(&mut buf), Err(ShmError::Corrupt(_))));
        assert!(rx.pop(&mut buf).unwrap());
        assert_eq!(buf, b"two");
    }

    #[test]
    fn test_two_threads_in_order() {
        let n = name("threads");
        let _u = Unlink(n.clone());
        let r = Region::create(
            &n,
            Layout {
                slots: 64,
                slot_size: 128,
            },
        )
        .unwrap();
        let mut tx = r.producer(Dir::ToDataplane).unwrap();
        let mut rx = Region::open(&n)
            .unwrap()
            .consumer(Dir::ToDataplane)
            .unwrap();
        const N: u64 = 200_000;
        let t = std::thread::spawn(move || {
            let mut i = 0u64;
            while i < N {
                let mut m = i.to_le_bytes().to_vec();
                m.resize(8 + (i % 100) as usize, (i % 251) as u8);
                match tx.push(&m) {
                    Ok(()) => i += 1,
                    Err(ShmError::Full) => std::hint::spin_loop(),
                    Err(e) => panic!("{e}"),
                }
            }
        });
        let mut buf = Vec::new();
        let mut expect = 0u64;
        while expect < N {
            if rx.pop(&mut buf).unwrap() {
                assert_eq!(u64::from_le_bytes(buf[..8].try_into().unwrap()), expect);
                assert_eq!(buf.len(), 8 + (expect % 100) as usize);
                assert!(buf[8..].iter().all(|b| *b == (expect % 251) as u8));
                expect += 1;
            } else {
                std::hint::spin_loop();
            }
        }
        t.join().unwrap();
    }
}

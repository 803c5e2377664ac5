//! The anti-replay window (RFC 4303 section 3.4.3 and Appendix A), shared by
//! every worker that receives packets of one SA, without a lock.
//!
//! Layout: `N = size/32 + 2` slots of one `AtomicU64` each. Sequence number
//! `s` belongs to block `b = s >> 5`, kept in slot `b % N`; a slot holds the
//! low 32 bits of its block number (the tag) and a 32-bit bitmap of the
//! numbers seen in that block. `top` is the highest authenticated number.
//!
//! - [`ReplayWindow::check`] runs before decryption and only reads.
//! - [`ReplayWindow::commit`] runs after the ICV verified: one
//!   compare-and-swap on the slot sets the bit (or recycles a stale slot
//!   for a newer block), then `top` advances with `fetch_max`. Two workers
//!   committing the same number race on the same word: exactly one wins.
//!
//! Why a slot with a newer tag means "too old": it holds a block at least
//! `N` blocks ahead, so some authenticated number is more than `size`
//! ahead of `s`. Why recycling a stale slot is safe: every number of the
//! stale block is more than `size` behind `s`, hence left of the window
//! once `top` reaches `s`; until then the newer tag already rejects them.
//!
//! Tags are compared with serial-number arithmetic on 32 bits. The one case
//! this gets wrong needs a slot left untouched while the peer's sequence
//! advances by about 2^36 (a multiple of 2^37 less a few blocks): the
//! packet is then wrongly dropped as too old, never wrongly accepted.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::counters::DropReason;

/// Smallest window.
pub const MIN_WINDOW: u32 = 64;
/// Largest window.
pub const MAX_WINDOW: u32 = 4096;

/// A lock-free anti-replay window.
#[derive(Debug)]
pub struct ReplayWindow {
    size: u64,
    slots: Box<[AtomicU64]>,
    top: AtomicU64,
}

/// The window size is outside 64..=4096.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSizeError(pub u32);

impl std::fmt::Display for WindowSizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "replay window {} outside {MIN_WINDOW}..={MAX_WINDOW}",
            self.0
        )
    }
}

impl std::error::Error for WindowSizeError {}

impl ReplayWindow {
    /// A window of `size` sequence numbers (64 to 4096; rounded up to a
    /// multiple of 32).
    pub fn new(size: u32) -> Result<Self, WindowSizeError> {
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&size) {
            return Err(WindowSizeError(size));
        }
        let size = size.div_ceil(32) * 32;
        let n = (size / 32 + 2) as usize;
        Ok(Self {
            size: u64::from(size),
            slots: (0..n).map(|_| AtomicU64::new(0)).collect(),
            top: AtomicU64::new(0),
        })
    }

    /// The window size in sequence numbers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The highest authenticated sequence number so far (0: none).
    pub fn top(&self) -> u64 {
        self.top.load(Ordering::Acquire)
    }

    #[inline]
    fn slot(&self, seq: u64) -> &AtomicU64 {
        let block = seq >> 5;
        // len() >= 4, so the index is in range.
        &self.slots[(block % self.slots.len() as u64) as usize]
    }

    /// True if the slot value `v` holds a block newer than `seq`'s.
    /// `top` must be read after `v`.
    #[inline]
    fn slot_is_newer(v: u64, seq: u64, top: u64) -> bool {
        let ahead = (top >> 5).saturating_sub(seq >> 5);
        let d = ((v >> 32) as u32).wrapping_sub((seq >> 5) as u32);
        d != 0 && u64::from(d) <= ahead
    }

    /// Before decryption: may `seq` be new? Reads only.
    ///
    /// Sequence number 0 is never sent (RFC 4303 section 3.3.3: the first
    /// packet carries 1), so it is refused as a replay.
    #[inline]
    pub fn check(&self, seq: u64) -> Result<(), DropReason> {
        if seq == 0 {
            return Err(DropReason::Replay);
        }
        let top = self.top.load(Ordering::Acquire);
        if seq > top {
            return Ok(());
        }
        //= https://www.rfc-editor.org/rfc/rfc4303#section-3.4.3
        //# If the received packet falls within the window and is not new,
        //# or if the packet is to the left of the window, then the receiver
        //# MUST discard the packet.
        if seq.checked_add(self.size).is_some_and(|end| end <= top) {
            return Err(DropReason::ReplayTooOld);
        }
        let v = self.slot(seq).load(Ordering::Acquire);
        let top = self.top.load(Ordering::Acquire);
        if (v >> 32) as u32 == (seq >> 5) as u32 {
            if v as u32 & (1 << (seq & 31)) != 0 {
                return Err(DropReason::Replay);
            }
        } else if Self::slot_is_newer(v, seq, top) {
            return Err(DropReason::ReplayTooOld);
        }
        Ok(())
    }

    /// After the ICV verified: records `seq`. Fails if another packet with
    /// the same number got there first, or if the window moved past it.
    ///
    //= https://www.rfc-editor.org/rfc/rfc4303#section-3.4.3
    //# The receive window is updated only if the integrity verification
    //# succeeds.
    #[inline]
    pub fn commit(&self, seq: u64) -> Result<(), DropReason> {
        if seq == 0 {
            return Err(DropReason::Replay);
        }
        // Raise `top` before writing the slot (see the module notes). The
        // number is authenticated, so it may raise `top` even if it then
        // turns out to be a duplicate.
        let top = self.top.fetch_max(seq, Ordering::AcqRel).max(seq);
        if seq.checked_add(self.size).is_some_and(|end| end <= top) {
            return Err(DropReason::ReplayTooOld);
        }
        let slot = self.slot(seq);
        let btag = (seq >> 5) as u32;
        let bit = 1u32 << (seq & 31);
        let mut v = slot.load(Ordering::Acquire);
        loop {
            let new = if (v >> 32) as u32 == btag {
                if v as u32 & bit != 0 {
                    return Err(DropReason::Replay);
                }
                v | u64::from(bit)
            } else if Self::slot_is_newer(v, seq, self.top.load(Ordering::Acquire)) {
                return Err(DropReason::ReplayTooOld);
            } else {
                // The slot holds an older block: recycle it.
                (u64::from(btag) << 32) | u64::from(bit)
            };
            match slot.compare_exchange_weak(v, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(()),
                Err(cur) => v = cur,
            }
        }
    }

    /// The full 64-bit sequence number of a packet carrying `seq_lo`, for an
    /// SA with extended sequence numbers (RFC 4303 Appendix A2.2), from the
    /// window's current top.
    #[inline]
    pub fn esn_infer(&self, seq_lo: u32) -> u64 {
        let top = self.top.load(Ordering::Acquire);
        let (th, tl) = ((top >> 32) as u32, top as u32);
        let w = self.size as u32;
        let hi = if tl >= w - 1 {
            // Case A: the window lies within one sub-space.
            if seq_lo >= tl - (w - 1) {
                th
            } else {
                th.wrapping_add(1)
            }
        } else {
            // Case B: the window spans two sub-spaces.
            if seq_lo >= tl.wrapping_sub(w - 1) {
                // In the previous sub-space (there is none before 0).
                th.saturating_sub(1)
            } else {
                th
            }
        };
        (u64::from(hi) << 32) | u64::from(seq_lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    /// The reference: a set of every accepted number and the top.
    struct Model {
        seen: BTreeSet<u64>,
        top: u64,
        size: u64,
    }

    impl Model {
        fn accept(&mut self, s: u64) -> Result<(), DropReason> {
            if s == 0 || self.seen.contains(&s) && s + self.size > self.top {
                return Err(DropReason::Replay);
            }
            if s + self.size <= self.top {
                return Err(DropReason::ReplayTooOld);
            }
            self.seen.insert(s);
            self.top = self.top.max(s);
            Ok(())
        }
    }

    fn accept(w: &ReplayWindow, s: u64) -> Result<(), DropReason> {
        w.check(s)?;
        w.commit(s)
    }

    #[test]
    fn test_sizes() {
        assert!(ReplayWindow::new(63).is_err());
        assert!(ReplayWindow::new(4097).is_err());
        assert_eq!(ReplayWindow::new(100).unwrap().size(), 128);
        assert_eq!(ReplayWindow::new(4096).unwrap().size(), 4096);
    }

    #[test]
    fn test_basic() {
        let w = ReplayWindow::new(64).unwrap();
        assert_eq!(accept(&w, 0), Err(DropReason::Replay));
        assert_eq!(accept(&w, 1), Ok(()));
        assert_eq!(accept(&w, 1), Err(DropReason::Replay));
        assert_eq!(accept(&w, 100), Ok(()));
        assert_eq!(accept(&w, 36), Err(DropReason::ReplayTooOld));
        assert_eq!(accept(&w, 37), Ok(()));
        assert_eq!(accept(&w, 37), Err(DropReason::Replay));
        assert_eq!(accept(&w, 5000), Ok(()));
        assert_eq!(accept(&w, 100), Err(DropReason::ReplayTooOld));
        // check alone changes nothing
        assert_eq!(w.check(4999), Ok(()));
        assert_eq!(w.check(4999), Ok(()));
    }

    #[test]
    fn test_esn_infer() {
        let w = ReplayWindow::new(64).unwrap();
        assert_eq!(w.esn_infer(5), 5);
        accept(&w, (1 << 32) - 10).unwrap();
        // Near the top of sub-space 0, a small low half is the next one.
        assert_eq!(w.esn_infer(3), (1 << 32) + 3);
        assert_eq!(w.esn_infer(0xffff_fff0), 0xffff_fff0);
        accept(&w, (1 << 32) + 3).unwrap();
        // Window spans two sub-spaces now.
        assert_eq!(w.esn_infer(0xffff_fff0), 0xffff_fff0);
        assert_eq!(w.esn_infer(10), (1 << 32) + 10);
    }

    proptest! {
        #[test]
        fn matches_model(size in prop_oneof![Just(64u32), Just(128), Just(1024)],
                         steps in prop::collection::vec((0u64..6000, 0u64..3), 1..400)) {
            let w = ReplayWindow::new(size).unwrap();
            let mut m = Model { seen: BTreeSet::new(), top: 0, size: w.size() };
            let mut last = 1u64;
            for (x, kind) in steps {
                // Mostly near the top, sometimes far ahead or far back.
                let s = match kind {
                    0 => last + x % 40,
                    1 => last.saturating_sub(x % (2 * u64::from(size))),
                    _ => x * 1000,
                };
                prop_assert_eq!(accept(&w, s), m.accept(s), "seq {}", s);
                last = m.top.max(1);
            }
        }
    }

    #[test]
    fn test_concurrent_commits_accept_each_number_once() {
        let w = Arc::new(ReplayWindow::new(1024).unwrap());
        let accepted: Vec<Vec<u64>> = (0..4)
            .map(|t| {
                let w = Arc::clone(&w);
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    // Every thread tries every number, starting at
                    // different offsets, in a moving window.
                    for base in (0..200_000u64).step_by(256) {
                        for k in 0..256u64 {
                            let s = 1 + base + (k * 7 + t * 64) % 256;
                            if w.check(s).is_ok() && w.commit(s).is_ok() {
                                mine.push(s);
                            }
                        }
                    }
                    mine
                })
            })
            .map(|h| h.join().unwrap())
            .collect();
        let mut all: Vec<u64> = accepted.into_iter().flatten().collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a sequence number was accepted twice");
        assert!(n > 150_000, "most numbers accepted once: {n}");
    }
}

//! Readers hammer SA lookups from several threads while the writer adds,
//! rekeys (insert the new SA, publish, remove the old, publish) and removes
//! SAs. Every hit must be the SA that was looked up; an SA is found from its
//! publish until its removal is published; and once every snapshot is gone,
//! exactly the SAs still in the table are alive (old ones were reclaimed).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use dataplane::sa_table::{SaTable, SpiEntry};

static LIVE: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
struct Entry {
    spi: u32,
    check: u64,
}

impl Entry {
    fn new(spi: u32) -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Self {
            spi,
            check: u64::from(spi).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SpiEntry for Entry {
    fn spi(&self) -> u32 {
        self.spi
    }
}

#[test]
fn sa_table_hammer() {
    let mut table: SaTable<Entry> = SaTable::new(12).unwrap();
    // SPIs whose presence the readers may assert: published and not yet
    // scheduled for removal. Index i holds an SPI or 0.
    const STABLE: usize = 64;
    let stable: Arc<Vec<AtomicU64>> = Arc::new((0..STABLE).map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut current: Vec<u32> = Vec::new();
    for i in 0..STABLE {
        let spi = table.allocate_spi(next() as u32).unwrap();
        table.insert(Arc::new(Entry::new(spi))).unwrap();
        current.push(spi);
        stable[i].store(u64::from(spi), Ordering::SeqCst);
    }
    table.publish();

    let readers: Vec<_> = (0..3)
        .map(|t| {
            let r = table.reader();
            let stable = Arc::clone(&stable);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = 0x9e37u64 + t;
                let (mut hits, mut lookups) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) && lookups < 20_000_000 {
                    // An SPI marked stable before and after the snapshot
                    // was taken was published before the snapshot and not
                    // yet removed: the snapshot must hold it.
                    let slots: Vec<usize> = (0..4).map(|k| (x as usize + k) % STABLE).collect();
                    let before: Vec<u64> = slots
                        .iter()
                        .map(|&i| stable[i].load(Ordering::SeqCst))
                        .collect();
                    let snap = r.snapshot();
                    for (&i, &b) in slots.iter().zip(&before) {
                        let spi = b as u32;
                        if spi == 0 || stable[i].load(Ordering::SeqCst) != b {
                            continue;
                        }
                        let e = snap
                            .get(spi)
                            .unwrap_or_else(|| panic!("stable SPI {spi:#x} missing"));
                        assert_eq!(e.spi, spi);
                        assert_eq!(e.check, u64::from(spi).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    }
                    for _ in 0..64 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let spi = x as u32;
                        lookups += 1;
                        if let Some(e) = snap.get(spi) {
                            assert_eq!(e.spi, spi, "lookup returned another SA");
                            hits += 1;
                        }
                    }
                }
                (hits, lookups)
            })
        })
        .collect();

    for round in 0..20_000u32 {
        let i = (next() as usize) % STABLE;
        let old = current[i];
        match round % 3 {
            // Rekey: new SA in, publish, then old SA out.
            0 | 1 => {
                let Some(spi) = table.allocate_spi(next() as u32) else {
                    continue;
                };
                table.insert(Arc::new(Entry::new(spi))).unwrap();
                table.publish();
                stable[i].store(0, Ordering::SeqCst);
                assert!(table.remove(old).is_some());
                table.publish();
                current[i] = spi;
                stable[i].store(u64::from(spi), Ordering::SeqCst);
            }
            // Remove and add back later in the round.
            _ => {
                stable[i].store(0, Ordering::SeqCst);
                assert!(table.remove(old).is_some());
                table.publish();
                let spi = table.allocate_spi(next() as u32).unwrap();
                table.insert(Arc::new(Entry::new(spi))).unwrap();
                table.publish();
                current[i] = spi;
                stable[i].store(u64::from(spi), Ordering::SeqCst);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for r in readers {
        let (_hits, lookups) = r.join().unwrap();
        total += lookups;
    }
    assert!(total > 0);
    assert_eq!(table.len(), STABLE);
    // All snapshots are gone: only the SAs in the table are alive.
    assert_eq!(LIVE.load(Ordering::SeqCst), STABLE);
    drop(table);
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}

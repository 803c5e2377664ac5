//! An SPSC rte_ring of mbufs between a worker lcore (producer) and the main
//! lcore (consumer): every mbuf arrives once, in order; a full ring hands
//! the rest back; mbufs left in the ring are freed with it.

mod common;

use dataplane::buffer::PacketBuf;
use ffi::{lcore, mbuf_ring, MbufBurst, Mempool, MempoolConfig, RingSync};

const TOTAL: u32 = 20_000;

#[test]
fn spsc_ring_between_lcores() {
    let eal = common::eal("0-1").init().expect("EAL init");
    let pool = Mempool::new(&eal, &MempoolConfig::new("ring_pool", 1023)).expect("pool");
    let (mut tx, mut rx) = mbuf_ring(&eal, "test_ring", 100, RingSync::Spsc).expect("ring");
    assert_eq!(tx.capacity(), 100);
    assert!(
        tx.try_clone().is_none() && rx.try_clone().is_none(),
        "single ends"
    );
    // The same name twice is a DPDK error.
    assert!(mbuf_ring(&eal, "test_ring", 100, RingSync::Mpmc).is_err());

    // A full ring hands back what does not fit.
    let mut burst = MbufBurst::<64>::new();
    assert!(pool.alloc_bulk(&mut burst, 64));
    assert_eq!(tx.enqueue(&mut burst), 64);
    assert!(pool.alloc_bulk(&mut burst, 64));
    assert_eq!(tx.enqueue(&mut burst), 36);
    assert_eq!(burst.len(), 28);
    burst.clear();
    let mut out = MbufBurst::<64>::new();
    for _ in 0..4 {
        rx.dequeue(&mut out);
        out.clear();
    }
    assert!(rx.is_empty());
    assert_eq!(pool.available(), pool.size());

    let p2 = pool.clone();
    let producer = lcore::launch(&eal, 1, move || {
        let mut burst = MbufBurst::<32>::new();
        let mut next = 0u32;
        let mut spins = 0u64;
        while next < TOTAL || !burst.is_empty() {
            while next < TOTAL && !burst.is_full() {
                let Some(mut m) = p2.alloc() else { break };
                if !m.set_data(&next.to_be_bytes()) {
                    return Err("set_data");
                }
                let _ = burst.push(m);
                next += 1;
            }
            tx.enqueue(&mut burst);
            spins += 1;
            if spins > 50_000_000 {
                return Err("consumer stalled");
            }
        }
        Ok(next)
    })
    .expect("launch");

    let mut seen = 0u32;
    let mut out = MbufBurst::<32>::new();
    for _ in 0..50_000_000u64 {
        if seen == TOTAL {
            break;
        }
        if rx.dequeue(&mut out) == 0 {
            std::hint::spin_loop();
            continue;
        }
        for m in out.drain() {
            assert_eq!(m.data(), &seen.to_be_bytes());
            seen += 1;
        }
    }
    assert_eq!(producer.join().expect("no panic"), Ok(TOTAL));
    assert_eq!(seen, TOTAL);
    assert_eq!(pool.available(), pool.size());

    // Mbufs left in a ring are freed when both ends are gone.
    let (mut tx2, rx2) = mbuf_ring(&eal, "left_over", 64, RingSync::Mpsc).expect("ring");
    let mut tx3 = tx2.try_clone().expect("multi-producer end clones");
    assert!(pool.alloc_bulk(&mut burst, 40));
    assert_eq!(tx2.enqueue(&mut burst), 40);
    assert!(pool.alloc_bulk(&mut burst, 10));
    assert_eq!(tx3.enqueue(&mut burst), 10);
    assert_eq!(rx2.len(), 50);
    assert_eq!(pool.in_use(), 50);
    drop((tx2, tx3, rx2));
    assert_eq!(pool.available(), pool.size());
}

//! net_ring: packets sent on a queue come back byte-identical on the same
//! queue (a net_ring vdev loops each queue's ring back to itself); two
//! queues fall back clearly from RSS; unsent mbufs stay with the caller;
//! queue handles and port life cycle errors.

mod common;

use dataplane::buffer::PacketBuf;
use ffi::error::errno;
use ffi::{MbufBurst, Mempool, MempoolConfig, Port, PortConfig, Rss};

const POOL: u32 = 2047;

/// A frame that says which queue and which packet it is.
fn frame(queue: u8, i: u16, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, queue]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 1, queue]);
    f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes()); // local experimental
    f[14..16].copy_from_slice(&i.to_be_bytes());
    for (k, b) in f.iter_mut().enumerate().skip(16) {
        *b = (k as u8) ^ queue ^ (i as u8);
    }
    f
}

#[test]
fn net_ring_round_trip() {
    let eal = common::eal("0").vdev("net_ring0").init().expect("EAL init");
    assert_eq!(eal.port_count(), 1);
    let pool = Mempool::new(&eal, &MempoolConfig::new("ring_pool", POOL)).expect("pool");

    // A name that is not a port: a clear error.
    let e = Port::open_by_name(&eal, "net_ring9", &pool, &PortConfig::default()).unwrap_err();
    assert!(e.to_string().contains("net_ring9"), "{e}");
    assert!(Port::open(&eal, 7, &pool, &PortConfig::default()).is_err());
    // Too many queues: refused with the device's limits in the text.
    let e = Port::open_by_name(&eal, "net_ring0", &pool, &PortConfig::with_queues(1000, 1))
        .unwrap_err();
    assert_eq!(e.errno(), errno::EINVAL);
    assert!(e.to_string().contains("1000 rx"), "{e}");

    let mut port =
        Port::open_by_name(&eal, "net_ring0", &pool, &PortConfig::with_queues(2, 2)).expect("open");
    assert_eq!(port.name(), "net_ring0");
    assert_eq!(port.driver(), "net_ring");
    assert!(
        matches!(port.rss(), Rss::Unsupported { .. }),
        "{}",
        port.rss()
    );
    assert!(port.rss().to_string().contains("without RSS"));
    // The same device cannot be opened twice.
    let e = Port::open(&eal, port.id(), &pool, &PortConfig::default()).unwrap_err();
    assert_eq!(e.errno(), errno::EBUSY, "{e}");
    // No queue handle before start.
    assert!(port.rx_queue(0).is_err());

    port.start().expect("start");
    // net_ring leaves its MAC address at zero; reading it must still work.
    assert_eq!(port.mac_addr().expect("mac"), [0; 6]);
    let link = port.link().expect("link");
    assert!(link.up, "{link:?}");
    port.set_promiscuous(true).expect("promiscuous on");
    assert!(port.promiscuous());
    port.reset_stats().expect("reset stats");

    let mut rx = [
        port.rx_queue(0).expect("rxq0"),
        port.rx_queue(1).expect("rxq1"),
    ];
    let mut tx = [
        port.tx_queue(0).expect("txq0"),
        port.tx_queue(1).expect("txq1"),
    ];
    assert_eq!(port.rx_queue(0).unwrap_err().errno(), errno::EBUSY);
    assert_eq!(port.tx_queue(2).unwrap_err().errno(), errno::EINVAL);
    // Stopping under live handles is refused.
    assert_eq!(port.stop().unwrap_err().errno(), errno::EBUSY);

    // Send 40 frames of varied sizes on each queue; they come back on the
    // same queue, in order, byte for byte.
    let mut sent = 0u64;
    let mut bytes = 0u64;
    for q in 0..2u8 {
        let mut burst = MbufBurst::<64>::new();
        let mut expect = Vec::new();
        for i in 0..40u16 {
            let f = frame(q, i, 60 + usize::from(i) * 37);
            let mut m = pool.alloc().expect("alloc");
            assert!(m.set_data(&f));
            burst.push(m).expect("room");
            bytes += f.len() as u64;
            expect.push(f);
        }
        assert_eq!(tx[usize::from(q)].tx_burst(&mut burst), 40);
        assert!(burst.is_empty());
        sent += 40;
        let mut got = MbufBurst::<64>::new();
        for _ in 0..10 {
            if rx[usize::from(q)].rx_burst(&mut got) == 0 {
                break;
            }
        }
        assert_eq!(got.len(), 40, "queue {q}");
        for (m, f) in got.iter().zip(&expect) {
            assert_eq!(m.data(), &f[..]);
            assert_eq!(m.pkt_len() as usize, f.len());
        }
    }
    // The other queue saw nothing of it.
    let mut none = MbufBurst::<8>::new();
    assert_eq!(rx[0].rx_burst(&mut none), 0);
    let stats = port.stats().expect("stats");
    assert_eq!((stats.opackets, stats.ipackets), (sent, sent));
    // net_ring counts packets only (its byte counters stay at 0).
    assert!(stats.obytes == 0 || stats.obytes == bytes);
    assert_eq!(stats.oerrors, 0);
    assert_eq!(pool.available(), POOL, "everything received was freed");

    // A full ring: tx_burst hands back what it could not send, in order.
    let mut total = 0usize;
    let mut refused = None;
    for round in 0..40u16 {
        let mut burst = MbufBurst::<64>::new();
        assert!(pool.alloc_bulk(&mut burst, 64));
        for (i, m) in burst.iter_mut().enumerate() {
            assert!(m.set_data(&frame(0, round * 64 + i as u16, 64)));
        }
        let n = tx[0].tx_burst(&mut burst);
        total += n;
        if n < 64 {
            assert_eq!(burst.len(), 64 - n);
            // The first unsent one is the next in sequence.
            assert_eq!(
                &burst[0].data()[14..16],
                &(round * 64 + n as u16).to_be_bytes()
            );
            refused = Some(burst.len());
            break; // dropping the burst frees the unsent mbufs
        }
    }
    assert!(refused.is_some(), "the ring never filled ({total} sent)");
    assert_eq!(pool.in_use() as usize, total, "only the ring holds mbufs");
    // Drain the ring: every frame comes back once, in order.
    let mut seen = 0usize;
    for _ in 0..10_000 {
        let mut got = MbufBurst::<64>::new();
        if rx[0].rx_burst(&mut got) == 0 {
            break;
        }
        for m in got.iter() {
            assert_eq!(&m.data()[14..16], &(seen as u16).to_be_bytes());
            seen += 1;
        }
    }
    assert_eq!(seen, total);
    assert_eq!(pool.available(), POOL);

    drop(rx);
    drop(tx);
    port.stop().expect("stop");
    assert!(!port.is_started());
    port.start().expect("restart");
    let mut txq = port.tx_queue(0).expect("txq after restart");
    let mut burst = MbufBurst::<1>::new();
    burst.push(pool.alloc().expect("alloc")).expect("room");
    assert_eq!(txq.tx_burst(&mut burst), 1);
    // Close with a live handle: refused now, done when the handle goes.
    let e = port.close().unwrap_err();
    assert_eq!(e.errno(), errno::EBUSY, "{e}");
    drop(txq);
    // The packet still in the closed ring is not ours to check: the pool is
    // then leaked on purpose rather than freed under it.
    drop(pool);
    drop(eal);
}

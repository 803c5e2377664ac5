//! net_null: receive bursts hand out mbufs from our pool, transmit frees
//! them; afterwards the pool is full again (nothing leaked). The received
//! mbufs run through the dataplane's PacketBuf operations zero-copy.

mod common;

use dataplane::buffer::PacketBuf;
use ffi::{MbufBurst, Mempool, MempoolConfig, Port, PortConfig, Rss};

const POOL: u32 = 1023;

#[test]
fn net_null_rx_tx_no_leak() {
    let eal = common::eal("0").vdev("net_null0").init().expect("EAL init");
    let pool = Mempool::new(&eal, &MempoolConfig::new("null_pool", POOL)).expect("pool");
    let mut port =
        Port::open_by_name(&eal, "net_null0", &pool, &PortConfig::default()).expect("open");
    assert_eq!(port.rss(), Rss::SingleQueue);
    port.start().expect("start");
    let mut rxq = port.rx_queue(0).expect("rxq");
    let mut txq = port.tx_queue(0).expect("txq");

    let mut received = 0u64;
    let mut sent = 0u64;
    let mut burst = MbufBurst::<32>::new();
    for round in 0..100 {
        let n = rxq.rx_burst(&mut burst);
        assert_eq!(n, 32, "round {round}: net_null always fills the burst");
        assert_eq!(pool.in_use(), 32);
        received += n as u64;
        for m in burst.iter_mut() {
            // net_null's packets are 64 bytes, single segment, from our pool.
            assert_eq!(m.len(), 64);
            assert!(m.is_contiguous());
            assert!(m.prepend(14));
            assert!(m.append(4));
            m.data_mut().fill(0xab);
            assert!(m.adj(14) && m.trim(4));
            assert_eq!(m.len(), 64);
        }
        // Send a part; free the rest by truncation, or send all.
        if round % 2 == 0 {
            sent += txq.tx_burst(&mut burst) as u64;
            assert!(burst.is_empty(), "net_null takes everything");
        } else {
            burst.truncate(16);
            sent += txq.tx_burst(&mut burst) as u64;
        }
        assert_eq!(pool.available(), POOL, "round {round}");
    }
    // A burst that already holds mbufs receives only into its free slots.
    assert!(pool.alloc_bulk(&mut burst, 30));
    assert_eq!(rxq.rx_burst(&mut burst), 2);
    assert_eq!(rxq.rx_burst(&mut burst), 0, "no free slot");
    sent += txq.tx_burst(&mut burst) as u64;
    received += 2;

    let stats = port.stats().expect("stats");
    assert_eq!(stats.ipackets, received);
    assert_eq!(stats.opackets, sent);
    assert_eq!(pool.available(), POOL);
    drop((rxq, txq));
    port.close().expect("close");
    assert_eq!(pool.available(), POOL);
}

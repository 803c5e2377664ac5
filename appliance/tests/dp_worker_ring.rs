//! The worker loop alone, in this process, as a benchmark drives it:
//! `run_worker` on a worker lcore over two `net_ring` ports (each loops its
//! transmit side back to its receive side). Frames go in through the
//! inject ring (as the main lcore hands them over), leave on port 0, come
//! back in on port 0 and through the pipeline: forwarded ones leave on
//! port 1 (read here), punts arrive on the punt ring with their metadata,
//! bad frames are dropped and counted. EAL starts once per process: this
//! file holds one test.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use appliance::dp::idle::IdlePolicy;
use appliance::dp::meta::{self, Meta};
use appliance::dp::worker::{run_worker, WorkerCtx};
use dataplane::buffer::PacketBuf;
use dataplane::counters::DropReason;
use dataplane::fib::{Fib, Ipv4Prefix, NextHop};
use dataplane::pipeline::{PortInfo, Punt, Tables, Worker};
use dataplane::sa_table::{SaTable, TunnelTable};
use ffi::{lcore, Eal, MbufBurst, Mempool, MempoolConfig, Port, PortConfig, RingSync};

const P0_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
const P1_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x20];
const NH_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x21];
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];

fn udp(dst: &str, i: u8) -> Vec<u8> {
    let ip = perf::gen::udp_packet(
        "192.168.1.10".parse().unwrap(),
        dst.parse().unwrap(),
        1000 + u16::from(i),
        53,
        60 + usize::from(i) * 10,
        i,
    );
    perf::gen::ethernet(P0_MAC, HOST_MAC, &ip)
}

#[test]
fn worker_loop_forwards_punts_drops_and_sends_injected_frames() {
    let eal = Eal::builder()
        .program("dp-worker-test")
        .cores("0-1")
        .no_huge()
        .no_shconf()
        .memory_mb(256)
        .no_pci()
        .no_telemetry()
        .vdev("net_ring0")
        .vdev("net_ring1")
        .init()
        .expect("EAL init");
    let pool = Mempool::new(&eal, &MempoolConfig::new("wk_pool", 2047)).unwrap();
    let mut p0 = Port::open_by_name(&eal, "net_ring0", &pool, &PortConfig::default()).unwrap();
    let mut p1 = Port::open_by_name(&eal, "net_ring1", &pool, &PortConfig::default()).unwrap();
    p0.start().unwrap();
    p1.start().unwrap();

    let sas = SaTable::new(10).unwrap();
    let tunnels = TunnelTable::new(10).unwrap();
    let mut fib = Fib::new();
    fib.insert_v4(
        Ipv4Prefix::new([10, 1, 0, 0], 16).unwrap(),
        NextHop::Port {
            port: 1,
            mac: NH_MAC,
        },
    );
    fib.insert_v4(
        Ipv4Prefix::new([10, 2, 0, 0], 16).unwrap(),
        NextHop::Glean { port: 1 },
    );
    fib.publish();
    let tables = Tables {
        sas: sas.reader(),
        tunnels: tunnels.reader(),
        fib: fib.reader(),
    };
    let (punt_tx, mut punt_rx) = ffi::mbuf_ring(&eal, "wk_punt", 256, RingSync::Spsc).unwrap();
    let (mut inj_tx, inj_rx) = ffi::mbuf_ring(&eal, "wk_inject", 256, RingSync::Spsc).unwrap();
    let ctx = WorkerCtx {
        worker: Worker::new(tables, vec![PortInfo::new(P0_MAC), PortInfo::new(P1_MAC)]),
        rx: vec![(0, p0.rx_queue(0).unwrap())],
        tx: vec![Some(p0.tx_queue(0).unwrap()), Some(p1.tx_queue(0).unwrap())],
        punt: Some(punt_tx),
        inject: Some(inj_rx),
        idle: IdlePolicy::adaptive(),
        mirror: None,
        pool: None,
    };
    let mut rx1 = p1.rx_queue(0).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_w = Arc::clone(&stop);
    let lc = lcore::workers(&eal)[0];
    let join = lcore::launch(&eal, lc, move || run_worker(ctx, &stop_w)).unwrap();

    // 10 to forward, 3 to glean (punted for resolution), 1 ARP (punted),
    // 2 bad (dropped).
    let forward: Vec<Vec<u8>> = (0..10).map(|i| udp("10.1.0.7", i)).collect();
    let mut frames = forward.clone();
    frames.extend((0..3).map(|i| udp("10.2.0.5", 20 + i)));
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&HOST_MAC);
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0u8; 46]);
    frames.push(arp);
    let mut odd = perf::gen::ethernet(P0_MAC, HOST_MAC, &[0u8; 46]);
    odd[12..14].copy_from_slice(&[0x12, 0x34]);
    frames.push(odd);
    frames.push(perf::gen::ethernet(P0_MAC, HOST_MAC, &[0x45, 0, 0]));
    let mut burst = MbufBurst::<64>::new();
    for f in &frames {
        let mut m = pool.alloc().unwrap();
        assert!(m.set_data(f));
        assert!(meta::push(&mut m, Meta::Tx { port: 0 }));
        burst.push(m).unwrap();
    }
    assert_eq!(inj_tx.enqueue(&mut burst), frames.len());

    // Collect what comes out, bounded.
    let mut out = Vec::new();
    let mut punts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while (out.len() < forward.len() || punts.len() < 4) && Instant::now() < deadline {
        if rx1.rx_burst(&mut burst) > 0 {
            out.extend(burst.iter().map(|m| m.data().to_vec()));
            burst.clear();
        }
        if punt_rx.dequeue(&mut burst) > 0 {
            for mut m in burst.drain() {
                punts.push(meta::pop(&mut m).expect("punt metadata"));
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Relaxed);
    let s = join.join().expect("worker returned");

    assert_eq!(out.len(), forward.len());
    for (got, sent) in out.iter().zip(&forward) {
        assert_eq!(&got[..6], &NH_MAC);
        assert_eq!(&got[6..12], &P1_MAC);
        assert_eq!(&got[14..], &perf::gen::after_hop(&sent[14..])[..]);
    }
    let next_hop: IpAddr = "10.2.0.5".parse().unwrap();
    let resolve = Meta::Punt {
        rx_port: 0,
        punt: Punt::Resolve { port: 1, next_hop },
    };
    assert_eq!(
        punts.iter().filter(|p| **p == resolve).count(),
        3,
        "{punts:?}"
    );
    assert!(punts.contains(&Meta::Punt {
        rx_port: 0,
        punt: Punt::Arp
    }));

    let n = frames.len() as u64;
    assert_eq!(s.injected, n);
    assert_eq!(s.pipeline.rx_packets, n);
    assert_eq!(s.pipeline.tx_packets, 10);
    assert_eq!(s.pipeline.punted, 4);
    assert_eq!(s.punt_sent, 4);
    assert_eq!(s.pipeline.drops_for(DropReason::Unsupported), 1);
    assert_eq!(s.pipeline.drops_for(DropReason::Malformed), 1);
    assert_eq!(s.tx_sent, n + 10, "injected frames and forwarded ones");
    assert_eq!(s.unaccounted(), 0);
    drop(rx1);
    drop(burst);
    drop(punt_rx);
    drop(inj_tx);
    assert_eq!(pool.in_use(), 0, "every mbuf back in the pool");
}

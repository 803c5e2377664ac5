//! Two workers in one EAL, each with its own receive queue on its own
//! `net_ring` port pair (`net_ring` has no RSS: one queue per worker on
//! separate ports), sharing one set of tables. Both must forward what they
//! were given, and their counters must add up to what went in and out.
//! Both worker lcores are mapped onto CPU 0 (`--lcores`), so the test runs
//! on a machine with a single CPU; they use the adaptive idle policy. EAL
//! starts once per process: this file holds one test.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use appliance::dp::idle::IdlePolicy;
use appliance::dp::stats::{StatsMirror, WorkerStats};
use appliance::dp::worker::{run_worker, WorkerCtx};
use dataplane::buffer::PacketBuf;
use dataplane::fib::{Fib, Ipv4Prefix, NextHop};
use dataplane::pipeline::{PortInfo, Tables, Worker};
use dataplane::sa_table::{SaTable, TunnelTable};
use ffi::{lcore, Eal, MbufBurst, Mempool, MempoolConfig, Port, PortConfig};

const IN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
const OUT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x20];
const NH_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x21];
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];

fn udp(dst: &str, i: u16) -> Vec<u8> {
    let ip = perf::gen::udp_packet(
        "192.168.1.10".parse().unwrap(),
        dst.parse().unwrap(),
        1000 + i,
        53,
        64 + usize::from(i % 50),
        i as u8,
    );
    perf::gen::ethernet(IN_MAC, HOST_MAC, &ip)
}

#[test]
fn two_workers_each_forward_their_queue_and_counters_add_up() {
    let eal = Eal::builder()
        .program("dp-two-workers")
        .arg("--lcores=0@0,1@0,2@0")
        .no_huge()
        .no_shconf()
        .memory_mb(256)
        .no_pci()
        .no_telemetry()
        .vdev("net_ring0")
        .vdev("net_ring1")
        .vdev("net_ring2")
        .vdev("net_ring3")
        .init()
        .expect("EAL init");
    let pool = Mempool::new(&eal, &MempoolConfig::new("tw_pool", 4095)).unwrap();
    let mut ports: Vec<Port> = (0..4)
        .map(|i| {
            let mut p =
                Port::open_by_name(&eal, &format!("net_ring{i}"), &pool, &PortConfig::default())
                    .unwrap();
            p.start().unwrap();
            p
        })
        .collect();

    // Port numbering shared by both workers: 0 and 2 are inputs, 1 and 3
    // outputs; 10.1/16 leaves on 1 (worker A's), 10.3/16 on 3 (worker B's).
    let sas = SaTable::new(10).unwrap();
    let tunnels = TunnelTable::new(10).unwrap();
    let mut fib = Fib::new();
    for (net, port) in [(1u8, 1u16), (3, 3)] {
        fib.insert_v4(
            Ipv4Prefix::new([10, net, 0, 0], 16).unwrap(),
            NextHop::Port { port, mac: NH_MAC },
        );
    }
    fib.publish();
    let tables = Tables {
        sas: sas.reader(),
        tunnels: tunnels.reader(),
        fib: fib.reader(),
    };
    let infos = vec![
        PortInfo::new(IN_MAC),
        PortInfo::new(OUT_MAC),
        PortInfo::new(IN_MAC),
        PortInfo::new(OUT_MAC),
    ];
    let workers = lcore::workers(&eal);
    assert_eq!(workers.len(), 2, "two worker lcores");
    let stop = Arc::new(AtomicBool::new(false));
    let mut joins = Vec::new();
    let mut mirrors = Vec::new();
    for (w, &lc) in workers.iter().enumerate() {
        let (rx_port, tx_port) = (2 * w, 2 * w + 1);
        let mut tx = vec![None, None, None, None];
        tx[tx_port] = Some(ports[tx_port].tx_queue(0).unwrap());
        let mirror = Arc::new(StatsMirror::default());
        let ctx = WorkerCtx {
            worker: Worker::new(tables.clone(), infos.clone()),
            rx: vec![(rx_port as u16, ports[rx_port].rx_queue(0).unwrap())],
            tx,
            punt: None,
            inject: None,
            idle: IdlePolicy::adaptive(),
            mirror: Some(Arc::clone(&mirror)),
            pool: None,
        };
        mirrors.push(mirror);
        let stop_w = Arc::clone(&stop);
        joins.push(lcore::launch(&eal, lc, move || run_worker(ctx, &stop_w)).unwrap());
    }

    // Different loads so the counters cannot be swapped unnoticed.
    let want = [300usize, 170];
    let dst = ["10.1.0.7", "10.3.0.9"];
    let mut got = [0usize; 2];
    let mut burst = MbufBurst::<32>::new();
    for w in 0..2 {
        let mut txq = ports[2 * w].tx_queue(0).unwrap();
        let mut rxq = ports[2 * w + 1].rx_queue(0).unwrap();
        let mut sent = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while (sent < want[w] || got[w] < want[w]) && Instant::now() < deadline {
            if sent < want[w] && burst.is_empty() {
                let n = (want[w] - sent).min(32);
                for i in 0..n {
                    let mut m = pool.alloc().expect("mbuf");
                    assert!(m.set_data(&udp(dst[w], (sent + i) as u16)));
                    burst.push(m).unwrap();
                }
            }
            if !burst.is_empty() {
                let before = burst.len();
                txq.tx_burst(&mut burst);
                sent += before - burst.len();
            }
            let mut out = MbufBurst::<32>::new();
            if rxq.rx_burst(&mut out) > 0 {
                for m in out.iter() {
                    assert_eq!(&m.data()[..6], &NH_MAC);
                    assert_eq!(&m.data()[6..12], &OUT_MAC);
                }
                got[w] += out.len();
                out.clear();
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        assert_eq!(sent, want[w], "worker {w}: all fed");
    }
    stop.store(true, Ordering::Relaxed);
    let stats: Vec<WorkerStats> = joins
        .into_iter()
        .map(|j| j.join().expect("worker returned"))
        .collect();
    assert_eq!(got, want, "each worker forwarded its own queue");
    let mut total_rx = 0;
    let mut total_tx = 0;
    for (w, s) in stats.iter().enumerate() {
        assert_eq!(s.pipeline.rx_packets, want[w] as u64, "worker {w} rx");
        assert_eq!(s.pipeline.tx_packets, want[w] as u64, "worker {w} tx");
        assert_eq!(s.tx_sent, want[w] as u64, "worker {w} sent");
        assert_eq!(s.unaccounted(), 0, "worker {w}");
        assert_eq!(mirrors[w].load().tx_sent, s.tx_sent, "worker {w} mirror");
        total_rx += s.pipeline.rx_packets;
        total_tx += s.tx_sent;
    }
    assert_eq!(total_rx, (want[0] + want[1]) as u64);
    assert_eq!(total_tx, got.iter().sum::<usize>() as u64);
    drop(burst);
    for p in &mut ports {
        p.stop().unwrap();
    }
    assert_eq!(pool.in_use(), 0, "every mbuf back in the pool");
}

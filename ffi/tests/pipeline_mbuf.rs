//! The dataplane pipeline runs zero-copy on mbufs: frames received on one
//! net_ring port go through `Worker::process_burst` as `&mut [Mbuf]`, are
//! routed by the FIB (TTL decremented, L2 rewritten in place) and sent on a
//! second net_ring port, where they come back as the pipeline left them.

mod common;

use dataplane::buffer::PacketBuf;
use dataplane::fib::{Fib, Ipv4Prefix, NextHop};
use dataplane::pipeline::{Action, PortInfo, Tables, Worker};
use dataplane::sa_table::{SaTable, TunnelTable};
use dataplane::BURST_MAX;
use ffi::{MbufBurst, Mempool, MempoolConfig, Port, PortConfig};

const NEXT_HOP_MAC: [u8; 6] = [0x02, 0xaa, 0, 0, 0, 1];
const PORT1_MAC: [u8; 6] = [0x02, 0xbb, 0, 0, 0, 2];

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 + UDP to 10.1.2.3, with `payload_len` bytes of payload.
fn frame(i: u8, payload_len: usize) -> Vec<u8> {
    let total = 20 + 8 + payload_len;
    let mut f = Vec::with_capacity(14 + total);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 9]);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 8]);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&[0, i, 0x40, 0, 64, 17, 0, 0]);
    ip.extend_from_slice(&[192, 168, 1, 2, 10, 1, 2, 3]);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&1234u16.to_be_bytes());
    f.extend_from_slice(&5678u16.to_be_bytes());
    f.extend_from_slice(&((8 + payload_len) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend((0..payload_len).map(|k| (k as u8) ^ i));
    f
}

#[test]
fn pipeline_forwards_mbufs_zero_copy() {
    let eal = common::eal("0")
        .vdev("net_ring0")
        .vdev("net_ring1")
        .init()
        .expect("EAL init");
    let pool = Mempool::new(&eal, &MempoolConfig::new("pipe_pool", 511)).expect("pool");
    let mut p0 = Port::open_by_name(&eal, "net_ring0", &pool, &PortConfig::default()).expect("p0");
    let mut p1 = Port::open_by_name(&eal, "net_ring1", &pool, &PortConfig::default()).expect("p1");
    p0.start().expect("start p0");
    p1.start().expect("start p1");
    let (mut rx0, mut tx0) = (p0.rx_queue(0).expect("rx0"), p0.tx_queue(0).expect("tx0"));
    let (mut rx1, mut tx1) = (p1.rx_queue(0).expect("rx1"), p1.tx_queue(0).expect("tx1"));

    let sas = SaTable::new(10).expect("sa table");
    let tunnels = TunnelTable::new(10).expect("tunnel table");
    let mut fib = Fib::new();
    let prefix = Ipv4Prefix::new([10, 0, 0, 0], 8).expect("prefix");
    fib.insert_v4(
        prefix,
        NextHop::Port {
            port: 1,
            mac: NEXT_HOP_MAC,
        },
    );
    fib.publish();
    let tables = Tables {
        sas: sas.reader(),
        tunnels: tunnels.reader(),
        fib: fib.reader(),
    };
    let mut worker = Worker::new(
        tables,
        vec![
            PortInfo::new([0x02, 0xbb, 0, 0, 0, 1]),
            PortInfo::new(PORT1_MAC),
        ],
    );

    // Inject 48 frames on port 0 (it loops back to itself).
    let frames: Vec<Vec<u8>> = (0..48u8)
        .map(|i| frame(i, 18 + usize::from(i) * 29))
        .collect();
    let mut burst = MbufBurst::<BURST_MAX>::new();
    for f in &frames {
        let mut m = pool.alloc().expect("alloc");
        assert!(m.set_data(f));
        burst.push(m).expect("room");
    }
    assert_eq!(tx0.tx_burst(&mut burst), frames.len());

    // Receive, run the pipeline on the mbufs themselves, send per action.
    assert_eq!(rx0.rx_burst(&mut burst), frames.len());
    let addrs: Vec<usize> = burst.iter().map(|m| m.data().as_ptr() as usize).collect();
    let mut actions = [Action::Consumed; BURST_MAX];
    let n = worker.process_burst(0, &mut burst[..], &mut actions);
    assert_eq!(n, frames.len());
    let mut out = MbufBurst::<BURST_MAX>::new();
    for (m, a) in burst.drain().zip(actions) {
        assert_eq!(a, Action::Tx { port: 1 });
        out.push(m).expect("room");
    }
    assert_eq!(tx1.tx_burst(&mut out), frames.len());
    assert_eq!(rx1.rx_burst(&mut out), frames.len());

    for ((m, f), addr) in out.iter().zip(&frames).zip(&addrs) {
        let d = m.data();
        assert_eq!(d.len(), f.len());
        // Zero copy: the frame still starts at the same address of the same
        // buffer (Ethernet header removed, then a new one prepended).
        assert_eq!(d.as_ptr() as usize, *addr);
        assert_eq!(&d[..6], &NEXT_HOP_MAC);
        assert_eq!(&d[6..12], &PORT1_MAC);
        assert_eq!(&d[12..22], &f[12..22]);
        assert_eq!(d[22], f[22] - 1, "TTL decremented");
        assert_eq!(checksum(&d[14..34]), 0, "IPv4 checksum still valid");
        assert_eq!(&d[26..], &f[26..]);
    }
    assert_eq!(worker.counters.tx_packets, frames.len() as u64);
    drop(out);
    assert_eq!(pool.available(), pool.size());
}

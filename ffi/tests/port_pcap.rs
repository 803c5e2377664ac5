//! net_pcap golden-file round trip: frames from a pcap the test writes are
//! received, sent back out to another pcap, and the two files hold the
//! same frames byte for byte.

mod common;

use dataplane::buffer::PacketBuf;
use ffi::{MbufBurst, Mempool, MempoolConfig, Port, PortConfig};

#[test]
fn net_pcap_round_trip() {
    let dir = common::scratch_dir("pcap");
    let (input, output) = (dir.join("in.pcap"), dir.join("out.pcap"));
    let frames: Vec<Vec<u8>> = (0..100u32)
        .map(|i| {
            let len = 60 + (i as usize * 97) % 1455; // 60..=1514
            (0..len)
                .map(|k| (k as u32 ^ i.wrapping_mul(31)) as u8)
                .collect()
        })
        .collect();
    common::write_pcap(&input, &frames);

    let vdev = format!(
        "net_pcap0,rx_pcap={},tx_pcap={}",
        input.display(),
        output.display()
    );
    let eal = common::eal("0").vdev(vdev).init().expect("EAL init");
    let pool = Mempool::new(&eal, &MempoolConfig::new("pcap_pool", 511)).expect("pool");
    let mut port =
        Port::open_by_name(&eal, "net_pcap0", &pool, &PortConfig::default()).expect("open");
    port.start().expect("start");
    let mut rxq = port.rx_queue(0).expect("rxq");
    let mut txq = port.tx_queue(0).expect("txq");

    let mut received = Vec::new();
    let mut idle = 0;
    for _ in 0..10_000 {
        let mut burst = MbufBurst::<32>::new();
        if rxq.rx_burst(&mut burst) == 0 {
            idle += 1;
            if idle > 100 || received.len() == frames.len() {
                break;
            }
            continue;
        }
        received.extend(burst.iter().map(|m| m.data().to_vec()));
        for _ in 0..100 {
            if burst.is_empty() {
                break;
            }
            txq.tx_burst(&mut burst);
        }
        assert!(burst.is_empty(), "net_pcap refused to send");
    }
    assert_eq!(received.len(), frames.len());
    assert_eq!(received, frames);
    drop((rxq, txq));
    port.close().expect("close flushes the output pcap");
    assert_eq!(pool.available(), pool.size());

    let written = common::read_pcap(&output).expect("readable output pcap");
    assert_eq!(written.len(), frames.len());
    assert!(written == frames, "output pcap differs from input");
    let _ = std::fs::remove_dir_all(&dir);
}

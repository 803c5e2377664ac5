//! The dataplane's ESP code runs zero-copy on mbufs: sealing an mbuf gives
//! the same bytes as sealing a VecBuf, the sealed mbuf crosses a net_ring
//! port, and opening it on the other side gives the plaintext back.

mod common;

use dataplane::buffer::{PacketBuf, VecBuf};
use dataplane::crypto::{Algorithm, Backend};
use dataplane::esp::{self, Sa, SaConfig};
use ffi::{MbufBurst, Mempool, MempoolConfig, Port, PortConfig};

fn sa() -> Sa {
    Sa::new(SaConfig {
        spi: 0x1000_0001,
        algorithm: Algorithm::AesGcm128,
        backend: Backend::Ring,
        key: (0u8..20).collect(),
        esn: false,
        replay_window: 64,
    })
    .expect("SA")
}

#[test]
fn esp_seal_open_on_mbufs() {
    let eal = common::eal("0").vdev("net_ring0").init().expect("EAL init");
    let pool = Mempool::new(&eal, &MempoolConfig::new("esp_pool", 255)).expect("pool");
    let mut port =
        Port::open_by_name(&eal, "net_ring0", &pool, &PortConfig::default()).expect("open");
    port.start().expect("start");
    let (mut rxq, mut txq) = (
        port.rx_queue(0).expect("rxq"),
        port.tx_queue(0).expect("txq"),
    );

    let (out_sa, in_sa, ref_sa) = (sa(), sa(), sa());
    let payloads: Vec<Vec<u8>> = (0..20usize)
        .map(|i| (0..40 + i * 61).map(|k| (k * 7 + i) as u8).collect())
        .collect();
    let mut burst = MbufBurst::<32>::new();
    for p in &payloads {
        let mut m = pool.alloc().expect("alloc");
        assert!(m.set_data(p));
        let seq = esp::seal(&out_sa, &mut m, 4).expect("seal mbuf");
        let mut v = VecBuf::new(p);
        assert_eq!(esp::seal(&ref_sa, &mut v, 4).expect("seal vec"), seq);
        assert_eq!(m.data(), v.data(), "mbuf and VecBuf seal alike");
        burst.push(m).expect("room");
    }
    assert_eq!(txq.tx_burst(&mut burst), payloads.len());
    assert_eq!(rxq.rx_burst(&mut burst), payloads.len());
    for (m, p) in burst.iter_mut().zip(&payloads) {
        let opened = esp::open(&in_sa, m).expect("open");
        assert_eq!(opened.next_header, 4);
        assert_eq!(m.data(), &p[..]);
    }
    // A tampered packet is refused, not a panic.
    let mut m = pool.alloc().expect("alloc");
    assert!(m.set_data(&payloads[0]));
    esp::seal(&out_sa, &mut m, 4).expect("seal");
    let last = m.len() - 1;
    m.data_mut()[last] ^= 1;
    assert!(esp::open(&in_sa, &mut m).is_err());
    drop(m);
    // No headroom: the seal is refused without touching the packet.
    let mut m = pool.alloc().expect("alloc");
    assert!(m.set_data(&payloads[0]));
    assert!(m.prepend(m.headroom()));
    let before = m.data().to_vec();
    assert!(esp::seal(&out_sa, &mut m, 4).is_err());
    assert_eq!(m.data(), &before[..]);
    drop((m, burst, rxq, txq));
    assert_eq!(pool.available(), pool.size());
}

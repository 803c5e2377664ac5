//! `perf esp`: the ESP path against the bare AEAD call, on the same buffers,
//! in one run; and SA-table and FIB lookups from 1 to 1,000,000 entries.
//!
//! What each figure measures (all per packet, single thread):
//! - `copy`: restoring the packet into its buffer (a memcpy of the packet).
//!   Every variant below starts with this copy, because ESP works in place.
//! - `aead seal`: copy, then the bare AEAD seal over exactly the bytes that
//!   ESP encrypts for this packet (GRE header, packet, padding, trailer),
//!   at the same buffer offset (hence the same alignment), with the same
//!   8-byte AAD and a 12-byte nonce.
//! - `esp encap`: copy, then `Tunnel::encapsulate_with_seq`: GRE header,
//!   ESP header, sequence number and IV, padding and trailer, AEAD seal,
//!   outer IPv4 header with checksum; and, once per 64 packets as the
//!   pipeline does, the sequence-number reservation (one atomic add) and the
//!   per-SA byte counter.
//! - `aead open`: copy of the ciphertext to the offset it has in the ESP
//!   path, then the bare AEAD open (tag verified) over it.
//! - `esp decap`: copy of the outer IPv4 packet, then: IPv4 header check and
//!   checksum, SPI read, anti-replay check, AEAD open, replay-window update,
//!   padding check, trailer removal, tunnel check and GRE removal; and, once
//!   per 64 packets, the per-SA counters. A fresh SA
//!   (key schedule included) is built every 256 packets so the replay window
//!   accepts the same sequence numbers again; its cost is in the figure.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use dataplane::buffer::{PacketBuf, VecBuf};
use dataplane::crypto::{Aead, AeadKey, Algorithm, Backend};
use dataplane::esp::{self, Sa, SaConfig};
use dataplane::fib::{Fib, Ipv4Prefix, Ipv6Prefix, NextHop};
use dataplane::sa_table::{SaTable, SpiEntry};
use dataplane::tunnel::{InnerProto, Tunnel, TunnelMode};
use dataplane::wire;

use crate::gen;

const POOL: usize = 256;
const HEADROOM: usize = 128;

/// Benchmark settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Seconds of measurement per variant (split over `rounds`).
    pub seconds: f64,
    /// Interleaved rounds per variant; the median is reported.
    pub rounds: usize,
    /// Largest table size for the lookup benchmark.
    pub max_entries: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seconds: 0.4,
            rounds: 5,
            max_entries: 1_000_000,
        }
    }
}

/// A packet size class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Every packet of this IP size.
    Fixed(usize),
    /// The IMIX mix ([`gen::IMIX`]).
    Imix,
}

impl Size {
    /// Label for tables.
    pub fn label(self) -> String {
        match self {
            Self::Fixed(n) => format!("{n} B"),
            Self::Imix => "IMIX".to_string(),
        }
    }
    fn sizes(self) -> Vec<usize> {
        match self {
            Self::Fixed(n) => vec![n],
            Self::Imix => gen::IMIX.to_vec(),
        }
    }
}

/// One row of results: nanoseconds per packet for each variant.
#[derive(Clone, Debug)]
pub struct EspRow {
    /// Algorithm.
    pub alg: Algorithm,
    /// Backend.
    pub backend: Backend,
    /// Size class.
    pub size: Size,
    /// Mean inner IP packet size in bytes.
    pub mean_bytes: f64,
    /// Copy only.
    pub copy_ns: f64,
    /// Copy + bare AEAD seal.
    pub aead_seal_ns: f64,
    /// Copy + ESP encapsulation.
    pub esp_encap_ns: f64,
    /// Copy + bare AEAD open.
    pub aead_open_ns: f64,
    /// Copy + ESP decapsulation.
    pub esp_decap_ns: f64,
}

impl EspRow {
    /// Gbit/s of inner IP bytes at `ns` per packet.
    pub fn gbps(&self, ns: f64) -> f64 {
        self.mean_bytes * 8.0 / ns
    }
}

fn key_for(alg: Algorithm) -> Vec<u8> {
    (0..alg.keymat_len())
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(1))
        .collect()
}

fn sa(alg: Algorithm, backend: Backend, spi: u32) -> Sa {
    Sa::new(SaConfig {
        spi,
        algorithm: alg,
        backend,
        key: key_for(alg),
        esn: false,
        replay_window: 1024,
    })
    .expect("valid SA config")
}

fn tunnel(outbound: Option<Arc<Sa>>) -> Tunnel {
    Tunnel {
        id: 1,
        local: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
        remote: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
        mode: TunnelMode::Gre { key: None },
        nat_t: None,
        mtu: 9000,
        outer_ttl: 64,
        nhrp_network_id: 0,
        redirect: false,
        outbound,
    }
}

/// Runs `f` over the pool until `secs` have passed; returns ns per packet.
fn time_loop(secs: f64, mut lap: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut packets = 0usize;
    loop {
        packets += lap();
        let el = start.elapsed().as_secs_f64();
        if el >= secs {
            return el * 1e9 / packets as f64;
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Measures one (algorithm, backend, size) row.
pub fn esp_row(cfg: &Config, alg: Algorithm, backend: Backend, size: Size) -> EspRow {
    let sizes = size.sizes();
    let plain: Vec<Vec<u8>> = (0..POOL)
        .map(|i| {
            gen::udp_packet(
                "10.1.0.1".parse().unwrap(),
                "10.2.0.1".parse().unwrap(),
                1024 + i as u16,
                4791,
                sizes[i % sizes.len()],
                i as u8,
            )
        })
        .collect();
    let mean_bytes = plain.iter().map(Vec::len).sum::<usize>() as f64 / POOL as f64;
    let mut bufs: Vec<VecBuf> = (0..POOL)
        .map(|_| VecBuf::with_capacity(HEADROOM + 1600, HEADROOM))
        .collect();
    let tx_sa = Arc::new(sa(alg, backend, 0x1000));
    let tx_tunnel = tunnel(Some(Arc::clone(&tx_sa)));
    let aead = AeadKey::new(backend, alg, &key_for(alg)[..alg.key_len()]).expect("key");

    // ESP plaintext length for a packet: GRE (4) + packet + pad + 2, 4-aligned.
    let esp_plain_len = |n: usize| (4 + n + 2).div_ceil(4) * 4;

    // Pre-sealed packets for the inbound direction, with their nonce and
    // AAD for the bare AEAD variant.
    let sender = tunnel(Some(Arc::new(sa(alg, backend, 0x2000))));
    let sealed: Vec<Vec<u8>> = plain
        .iter()
        .map(|p| {
            let mut b = VecBuf::from_slice(p, HEADROOM, 64);
            sender.encapsulate(&mut b, InnerProto::Ipv4).expect("seal");
            b.to_vec()
        })
        .collect();
    let open_params: Vec<([u8; 12], [u8; 8])> = sealed
        .iter()
        .map(|s| {
            let esp = &s[20..];
            let mut nonce = [0u8; 12];
            nonce[..4].copy_from_slice(&key_for(alg)[alg.key_len()..]);
            nonce[4..].copy_from_slice(&esp[8..16]);
            let mut aad = [0u8; 8];
            aad.copy_from_slice(&esp[..8]);
            (nonce, aad)
        })
        .collect();
    let rx_tunnel = tunnel(None);

    let per = cfg.seconds / cfg.rounds as f64;
    let (mut copy, mut aseal, mut eenc, mut aopen, mut edec) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..cfg.rounds {
        copy.push(time_loop(per, || {
            for (b, p) in bufs.iter_mut().zip(&plain) {
                b.reset_from(p, HEADROOM);
                black_box(b.data());
            }
            POOL
        }));
        aseal.push(time_loop(per, || {
            let nonce = [3u8; 12];
            let aad = [5u8; 8];
            for (b, p) in bufs.iter_mut().zip(&plain) {
                // The ESP path encrypts from 4 bytes before the packet
                // (the GRE header): use the same offset, hence alignment.
                b.reset_from(p, HEADROOM - 4);
                let n = esp_plain_len(p.len());
                b.append(n - p.len());
                black_box(aead.seal_in_place_detached(&nonce, &aad, b.data_mut()));
            }
            POOL
        }));
        eenc.push(time_loop(per, || {
            // As the pipeline does: per-SA counters added once per burst.
            // and sequence numbers reserved once per burst.
            for (bs, ps) in bufs.chunks_mut(BURST).zip(plain.chunks(BURST)) {
                let mut bytes = 0;
                let range = tx_sa
                    .reserve_seq(bs.len() as u64)
                    .expect("sequence numbers");
                for (k, (b, p)) in bs.iter_mut().zip(ps).enumerate() {
                    b.reset_from(p, HEADROOM);
                    bytes += (p.len() + tx_tunnel.inner_overhead()) as u64;
                    let seq = range.get(k as u64).expect("reserved");
                    black_box(
                        tx_tunnel
                            .encapsulate_with_seq(b, InnerProto::Ipv4, seq)
                            .is_ok(),
                    );
                }
                tx_sa.count(0, bytes);
            }
            POOL
        }));
        aopen.push(time_loop(per, || {
            for ((b, s), (nonce, aad)) in bufs.iter_mut().zip(&sealed).zip(&open_params) {
                // Same offset as the ciphertext in the ESP path: the frame
                // copied at HEADROOM, then 20 (IPv4) + 16 (ESP header, IV).
                b.reset_from(&s[20 + 16..], HEADROOM + 20 + 16);
                let len = b.len() - 16;
                let (ct, tag) = b.data_mut().split_at_mut(len);
                let tag: [u8; 16] = tag.try_into().expect("16-byte tag");
                assert!(aead.open_in_place_detached(nonce, aad, ct, &tag).is_ok());
            }
            POOL
        }));
        edec.push(time_loop(per, || {
            let rx = sa(alg, backend, 0x2000);
            for (bs, ss) in bufs.chunks_mut(BURST).zip(sealed.chunks(BURST)) {
                let mut bytes = 0;
                for (b, s) in bs.iter_mut().zip(ss) {
                    b.reset_from(s, HEADROOM);
                    let ok = decap(&rx, &rx_tunnel, b);
                    assert!(ok, "inbound path rejected a good packet");
                    bytes += b.len() as u64;
                }
                rx.count(ss.len() as u64, bytes);
            }
            POOL
        }));
    }
    EspRow {
        alg,
        backend,
        size,
        mean_bytes,
        copy_ns: median(copy),
        aead_seal_ns: median(aseal),
        esp_encap_ns: median(eenc),
        aead_open_ns: median(aopen),
        esp_decap_ns: median(edec),
    }
}

/// The inbound path from the outer IPv4 header to the inner packet.
#[inline(never)]
fn decap(sa: &Sa, tunnel: &Tunnel, buf: &mut VecBuf) -> bool {
    let hlen = match wire::ipv4::Ipv4Packet::new_checked(buf.data()) {
        Ok(ip) if ip.verify_checksum() && ip.protocol() == wire::IpProtocol::ESP => ip.header_len(),
        _ => return false,
    };
    buf.adj(hlen);
    if esp::peek_spi(buf.data()) != Some(sa.spi()) {
        return false;
    }
    match esp::open(sa, buf) {
        Ok(o) => tunnel.decapsulate(buf, o.next_header).is_ok(),
        Err(_) => false,
    }
}

/// Lookup figures for one table size.
#[derive(Clone, Debug)]
pub struct LookupRow {
    /// Entries in the table.
    pub entries: usize,
    /// SA lookup, 1024 hot SPIs cycled (a snapshot per 64 lookups).
    pub sa_hot_ns: f64,
    /// SA lookup, uniformly over every SPI in the table (cache-cold).
    pub sa_all_ns: f64,
    /// IPv4 FIB lookup (random /24s), 1024 hot destinations cycled.
    pub fib4_hot_ns: f64,
    /// IPv4 FIB lookup, destinations spread over every route.
    pub fib4_all_ns: f64,
    /// IPv6 FIB lookup (random /48s), 1024 hot destinations cycled.
    pub fib6_hot_ns: f64,
    /// IPv6 FIB lookup, destinations spread over every route.
    pub fib6_all_ns: f64,
}

#[derive(Debug)]
struct Entry(u32);
impl SpiEntry for Entry {
    fn spi(&self) -> u32 {
        self.0
    }
}

/// A tiny deterministic PRNG (xorshift64*), so runs are repeatable.
#[derive(Debug)]
pub struct Rng(u64);
impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const HOT: usize = 1024;
const BURST: usize = dataplane::BURST_MAX;

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Measures SA and FIB lookups with `n` entries.
pub fn lookup_row(cfg: &Config, n: usize) -> LookupRow {
    let mut rng = Rng::new(n as u64 + 17);
    let per = cfg.seconds / cfg.rounds as f64;
    let bits = (n.max(2)).next_power_of_two().trailing_zeros().max(10);
    let mut table: SaTable<Entry> = SaTable::new(bits).expect("table");
    let reader = table.reader();
    let mut spis = Vec::with_capacity(n);
    for _ in 0..n {
        let spi = table.allocate_spi(rng.next_u64() as u32).expect("room");
        table.insert(Arc::new(Entry(spi))).expect("insert");
        spis.push(spi);
    }
    table.publish();

    let mut fib = Fib::new();
    let freader = fib.reader();
    let mut d4 = Vec::with_capacity(n);
    let mut d6 = Vec::with_capacity(n);
    for i in 0..n {
        let a = (rng.next_u64() as u32) & 0xffff_ff00;
        let p4 = Ipv4Prefix::new(a.to_be_bytes(), 24).expect("prefix");
        fib.insert_v4(p4, NextHop::Tunnel(i as u32));
        d4.push((a | 7).to_be_bytes());
        let hi = rng.next_u64() & 0xffff_ffff_ffff_0000;
        let mut b6 = [0u8; 16];
        b6[..8].copy_from_slice(&hi.to_be_bytes());
        b6[0] = 0x20;
        fib.insert_v6(
            Ipv6Prefix::new(b6, 48).expect("prefix"),
            NextHop::Tunnel(i as u32),
        );
        b6[15] = 9;
        d6.push(b6);
    }
    fib.publish();

    shuffle(&mut spis, &mut rng);
    shuffle(&mut d4, &mut rng);
    shuffle(&mut d6, &mut rng);

    // Hot sets: 1024 keys (cycling through the table when it is smaller).
    // All sets: every key once, in random order (at least 1024 lookups). Either way a snapshot is
    // taken per 64 lookups, as a worker takes one per burst.
    let hot_of = |n: usize| -> Vec<usize> { (0..HOT).map(|i| i % n.max(1)).collect() };
    let all_of = |n: usize| -> Vec<usize> { (0..n.max(HOT)).map(|i| i % n.max(1)).collect() };
    let mut rows: [Vec<f64>; 6] = Default::default();
    for _ in 0..cfg.rounds {
        for (k, idx) in [(0usize, hot_of(n)), (1, all_of(n))] {
            rows[k].push(time_loop(per, || {
                let mut hits = 0usize;
                for chunk in idx.chunks(BURST) {
                    let snap = reader.snapshot();
                    for &i in chunk {
                        hits += usize::from(snap.get(black_box(spis[i])).is_some());
                    }
                }
                assert_eq!(hits, idx.len());
                idx.len()
            }));
            rows[2 + k].push(time_loop(per, || {
                let mut hits = 0usize;
                for chunk in idx.chunks(BURST) {
                    let snap = freader.snapshot();
                    for &i in chunk {
                        hits += usize::from(snap.lookup_v4(black_box(d4[i])).is_some());
                    }
                }
                assert_eq!(hits, idx.len());
                idx.len()
            }));
            rows[4 + k].push(time_loop(per, || {
                let mut hits = 0usize;
                for chunk in idx.chunks(BURST) {
                    let snap = freader.snapshot();
                    for &i in chunk {
                        hits += usize::from(snap.lookup_v6(black_box(d6[i])).is_some());
                    }
                }
                assert_eq!(hits, idx.len());
                idx.len()
            }));
        }
    }
    let [a, b, c, d, e, f] = rows.map(median);
    LookupRow {
        entries: n,
        sa_hot_ns: a,
        sa_all_ns: b,
        fib4_hot_ns: c,
        fib4_all_ns: d,
        fib6_hot_ns: e,
        fib6_all_ns: f,
    }
}

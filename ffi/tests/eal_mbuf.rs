//! EAL init, a mempool, and every mbuf operation: the PacketBuf operations
//! keep their bounds and agree with DPDK's own rte_pktmbuf_* functions.

// The differential check calls the raw shim, as only this crate may.
#![allow(unsafe_code)]

mod common;

use dataplane::buffer::PacketBuf;
use ffi::{sys, MbufBurst, Mempool, MempoolConfig};

const POOL: u32 = 255;

#[test]
fn eal_mempool_mbuf_packetbuf() {
    let eal = common::eal("0").init().expect("EAL init");
    assert_eq!(eal.lcore_count(), 1);
    assert_eq!(ffi::lcore::current(), Some(eal.main_lcore()));
    assert!(!eal.has_hugepages());
    assert!(ffi::lcore::tsc::hz() > 0);

    let pool = Mempool::new(&eal, &MempoolConfig::new("test_pool", POOL)).expect("pool");
    assert_eq!(pool.size(), POOL);
    assert_eq!(pool.available(), POOL);
    // The same name twice is a DPDK error with a meaningful text.
    let e = Mempool::new(&eal, &MempoolConfig::new("test_pool", 15)).unwrap_err();
    assert_eq!(e.errno(), ffi::error::errno::EEXIST, "{e}");
    assert!(e.to_string().contains("test_pool"), "{e}");

    // A fresh mbuf: empty, default headroom, the rest tailroom.
    let mut m = pool.alloc().expect("alloc");
    assert_eq!(pool.in_use(), 1);
    let room = usize::from(m.buf_len());
    assert_eq!(m.headroom(), sys::RTE_PKTMBUF_HEADROOM as usize);
    assert_eq!(m.len(), 0);
    assert!(m.is_empty());
    assert_eq!(m.tailroom(), room - m.headroom());
    assert!(m.is_contiguous());

    // append / prepend / adj / trim, at and past their bounds.
    let (head, tail) = (m.headroom(), m.tailroom());
    assert!(!m.append(tail + 1));
    assert!(!m.prepend(head + 1));
    assert!(!m.adj(1));
    assert!(!m.trim(1));
    assert_eq!((m.headroom(), m.len(), m.tailroom()), (head, 0, tail));
    assert!(m.append(4));
    m.data_mut().copy_from_slice(&[1, 2, 3, 4]);
    assert!(m.prepend(2));
    m.data_mut()[..2].copy_from_slice(&[9, 9]);
    assert_eq!(m.data(), &[9, 9, 1, 2, 3, 4]);
    assert_eq!(m.pkt_len(), 6);
    assert!(m.adj(2));
    assert!(m.trim(1));
    assert_eq!(m.data(), &[1, 2, 3]);
    assert!(!m.adj(4));
    assert!(!m.trim(4));
    assert_eq!(m.data(), &[1, 2, 3]);
    assert!(m.prepend(m.headroom()));
    assert_eq!(m.headroom(), 0);
    assert!(!m.prepend(1));
    assert!(m.append(m.tailroom()));
    assert_eq!(m.tailroom(), 0);
    assert!(!m.append(1));
    assert_eq!(m.len(), room);
    assert!(m.trim(room));
    assert!(m.is_empty());
    assert!(m.set_data(b"hello"));
    assert_eq!(m.data(), b"hello");
    assert!(!m.set_data(&vec![0u8; room + 1]));
    assert_eq!(m.data(), b"hello");
    assert!(m.reset());
    assert_eq!((m.headroom(), m.len()), (head, 0));

    // Differential check against DPDK's inline functions (through the
    // shim): the same operation sequence on two mbufs leaves the same
    // offsets and lengths, and each refusal matches DPDK's.
    let r = pool.alloc().expect("alloc");
    let ops: &[(u8, usize)] = &[
        (b'a', 100),
        (b'p', 14),
        (b'p', 200),
        (b'j', 20),
        (b't', 30),
        (b'a', 5000),
        (b'j', 500),
        (b't', 95),
        (b'p', 128),
        (b'a', 1),
        (b't', 0),
        (b'j', 0),
    ];
    let mut x = 0x1234_5678u32;
    let mut seq: Vec<(u8, usize)> = ops.to_vec();
    for _ in 0..500 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let op = [b'a', b'p', b'j', b't'][(x % 4) as usize];
        seq.push((op, ((x >> 8) % 300) as usize));
    }
    for (op, n) in seq {
        let raw = r.as_ptr();
        let n16 = n as u16;
        // SAFETY: raw is the mbuf r owns; the shim functions check bounds
        // themselves and r is not borrowed during the call.
        let dpdk_ok = unsafe {
            match op {
                b'a' => !sys::ffi_rte_pktmbuf_append(raw, n16).is_null(),
                b'p' => !sys::ffi_rte_pktmbuf_prepend(raw, n16).is_null(),
                b'j' => !sys::ffi_rte_pktmbuf_adj(raw, n16).is_null(),
                _ => sys::ffi_rte_pktmbuf_trim(raw, n16) == 0,
            }
        };
        let ours = match op {
            b'a' => m.append(n),
            b'p' => m.prepend(n),
            b'j' => m.adj(n),
            _ => m.trim(n),
        };
        assert_eq!(ours, dpdk_ok, "op {} {n}", op as char);
        assert_eq!(
            (m.headroom(), m.len(), m.tailroom()),
            (r.headroom(), r.len(), r.tailroom())
        );
        assert_eq!(m.pkt_len(), r.pkt_len());
        // SAFETY: as above; read-only helpers.
        unsafe {
            assert_eq!(
                usize::from(sys::ffi_rte_pktmbuf_headroom(m.as_ptr())),
                m.headroom()
            );
            assert_eq!(
                usize::from(sys::ffi_rte_pktmbuf_tailroom(m.as_ptr())),
                m.tailroom()
            );
            assert_eq!(
                sys::ffi_rte_pktmbuf_mtod(m.as_ptr())
                    .cast::<u8>()
                    .cast_const(),
                m.data().as_ptr()
            );
        }
    }
    drop((m, r));
    assert_eq!(pool.available(), POOL);

    // Bulk allocation: all or nothing, into a fixed array.
    let mut burst = MbufBurst::<32>::new();
    assert!(pool.alloc_bulk(&mut burst, 20));
    assert_eq!(burst.len(), 20);
    assert!(
        !pool.alloc_bulk(&mut burst, 13),
        "past the burst's capacity"
    );
    assert_eq!(burst.len(), 20);
    assert!(pool.alloc_bulk(&mut burst, 12));
    assert!(burst.is_full());
    assert_eq!(pool.in_use(), 32);
    for (i, m) in burst.iter_mut().enumerate() {
        assert!(m.set_data(&[i as u8; 60]));
    }
    let last = burst.pop().expect("pop");
    assert_eq!(last.data(), &[31u8; 60]);
    assert!(burst.push(last).is_ok());
    let m = burst.swap_remove(0).expect("swap_remove");
    assert_eq!(m.data()[0], 0);
    assert_eq!(burst[0].data()[0], 31);
    drop(m);
    burst.truncate(10);
    assert_eq!(pool.in_use(), 10);
    let got: Vec<u8> = burst.drain().take(3).map(|m| m.data()[0]).collect();
    assert_eq!(got, [31, 1, 2]);
    assert!(burst.is_empty());
    assert_eq!(pool.available(), POOL, "drain freed what it did not yield");

    // Raw hand-over: into_raw then from_raw frees exactly once.
    let m = pool.alloc().expect("alloc");
    let raw = m.into_raw();
    assert_eq!(pool.in_use(), 1);
    // SAFETY: raw came from into_raw just above and is owned by nobody.
    let m = unsafe { ffi::Mbuf::from_raw(raw) }.expect("non-null");
    drop(m);
    assert_eq!(pool.available(), POOL);

    // Exhaustion is a None / false, not a panic.
    let mut big = MbufBurst::<256>::new();
    assert!(pool.alloc_bulk(&mut big, 255));
    assert!(pool.alloc().is_none());
    let mut one = MbufBurst::<1>::new();
    assert!(!pool.alloc_bulk(&mut one, 1));
    drop(big);
    assert_eq!(pool.available(), POOL);
}

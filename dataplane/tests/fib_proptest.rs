//! The FIB against a naive reference (a linear scan for the longest
//! matching prefix), on random prefix sets with overlaps and removals, for
//! IPv4 and IPv6; and readers running while the writer publishes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dataplane::fib::{Fib, NextHop, Prefix};
use proptest::prelude::*;

fn reference<const N: usize>(routes: &[(Prefix<N>, NextHop)], addr: &[u8; N]) -> Option<NextHop> {
    routes
        .iter()
        .filter(|(p, _)| p.contains(addr))
        .max_by_key(|(p, _)| p.len())
        .map(|(_, nh)| *nh)
}

#[derive(Clone, Debug)]
enum Op<const N: usize> {
    Insert([u8; N], u8, u32),
    Remove(usize),
}

fn ops<const N: usize>() -> impl Strategy<Value = Vec<Op<N>>> {
    // Few distinct top bytes so that prefixes overlap a lot.
    let addr =
        prop::array::uniform::<_, N>(prop_oneof![Just(0u8), Just(10), Just(255), any::<u8>()]);
    let op = prop_oneof![
        4 => (addr, 0..=(N as u8 * 8), any::<u32>()).prop_map(|(a, l, t)| Op::Insert(a, l, t)),
        1 => any::<usize>().prop_map(Op::Remove),
    ];
    prop::collection::vec(op, 1..80)
}

fn check<const N: usize>(
    ops: Vec<Op<N>>,
    probes: Vec<[u8; N]>,
    insert: fn(&mut Fib, Prefix<N>, NextHop),
    remove: fn(&mut Fib, Prefix<N>),
    lookup: fn(&mut Fib, [u8; N]) -> Option<NextHop>,
) -> Result<(), TestCaseError> {
    let mut fib = Fib::new();
    let mut model: Vec<(Prefix<N>, NextHop)> = Vec::new();
    for op in ops {
        match op {
            Op::Insert(a, l, t) => {
                let p = Prefix::new(a, l).unwrap();
                let nh = if t % 5 == 0 {
                    NextHop::Port {
                        port: (t % 4096) as u16,
                        mac: [t as u8; 6],
                    }
                } else {
                    NextHop::Tunnel(t)
                };
                insert(&mut fib, p, nh);
                model.retain(|(q, _)| *q != p);
                model.push((p, nh));
            }
            Op::Remove(i) if !model.is_empty() => {
                let (p, _) = model.remove(i % model.len());
                remove(&mut fib, p);
            }
            Op::Remove(_) => {}
        }
    }
    // Probe random addresses, and addresses inside and at the edges of
    // every prefix.
    let mut all = probes;
    for (p, _) in &model {
        let mut last = p.addr();
        for (i, b) in last.iter_mut().enumerate() {
            let keep = usize::from(p.len()).saturating_sub(i * 8).min(8);
            *b |= if keep == 8 { 0 } else { 0xffu8 >> keep };
        }
        all.push(p.addr());
        all.push(last);
    }
    for a in all {
        prop_assert_eq!(
            lookup(&mut fib, a),
            reference(&model, &a),
            "address {:?}",
            a
        );
    }
    // The shape depends only on the route set: the same routes inserted
    // afresh, in another order, take the same memory; removing every route
    // gives back all of it.
    let mut fresh = Fib::new();
    for (p, nh) in model.iter().rev() {
        insert(&mut fresh, *p, *nh);
    }
    prop_assert_eq!(fresh.memory_bytes(), fib.memory_bytes());
    for (p, _) in &model {
        remove(&mut fib, *p);
    }
    prop_assert_eq!(fib.memory_bytes(), Fib::new().memory_bytes());
    Ok(())
}

fn look_v4(f: &mut Fib, a: [u8; 4]) -> Option<NextHop> {
    f.publish();
    let r = f.reader();
    let snap = r.snapshot();
    let got = snap.lookup_v4(a);
    assert_eq!(got, f.lookup_v4(a), "writer view and published view agree");
    got
}

fn look_v6(f: &mut Fib, a: [u8; 16]) -> Option<NextHop> {
    f.publish();
    let r = f.reader();
    let snap = r.snapshot();
    let got = snap.lookup_v6(a);
    assert_eq!(got, f.lookup_v6(a), "writer view and published view agree");
    got
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fib_v4_matches_reference(ops in ops::<4>(), probes in prop::collection::vec(any::<[u8; 4]>(), 64)) {
        check(ops, probes, |f, p, nh| { f.insert_v4(p, nh); }, |f, p| { f.remove_v4(p); }, look_v4)?;
    }

    #[test]
    fn fib_v6_matches_reference(ops in ops::<16>(), probes in prop::collection::vec(any::<[u8; 16]>(), 64)) {
        check(ops, probes, |f, p, nh| { f.insert_v6(p, nh); }, |f, p| { f.remove_v6(p); }, look_v6)?;
    }
}

/// Readers never see a torn FIB: each publish moves one /24 from tunnel k
/// to tunnel k+1 (in a single insert), so any answer must be a tunnel id
/// the writer has published, and answers never go backwards for one reader.
#[test]
fn fib_readers_see_whole_versions() {
    let mut fib = Fib::new();
    let p: Prefix<4> = "10.1.2.0/24".parse().unwrap();
    fib.insert_v4("10.0.0.0/8".parse().unwrap(), NextHop::Blackhole);
    fib.insert_v4(p, NextHop::Tunnel(0));
    fib.publish();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let r = fib.reader();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut last = 0u32;
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) && n < 5_000_000 {
                    let snap = r.snapshot();
                    for _ in 0..64 {
                        match snap.lookup_v4([10, 1, 2, 77]) {
                            Some(NextHop::Tunnel(k)) => {
                                assert!(k >= last, "went back from {last} to {k}");
                                last = k;
                            }
                            other => panic!("torn read: {other:?}"),
                        }
                        assert_eq!(snap.lookup_v4([10, 9, 9, 9]), Some(NextHop::Blackhole));
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    for k in 1..=2000u32 {
        fib.insert_v4(p, NextHop::Tunnel(k));
        // Churn elsewhere in the same node, so path copies happen.
        fib.insert_v4(
            Prefix::new([10, 1, (k % 200) as u8 + 3, 0], 24).unwrap(),
            NextHop::Tunnel(k),
        );
        fib.publish();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}

//! Launching closures on a worker lcore: the result comes back, a panic
//! comes back as an error, bad lcores are refused, and a worker can own a
//! port's queues (here forwarding net_null bursts).

mod common;

use ffi::error::errno;
use ffi::lcore;
use ffi::{MbufBurst, Mempool, MempoolConfig, Port, PortConfig};

const POOL: u32 = 511;

#[test]
fn launch_on_worker_lcore() {
    let eal = common::eal("0-1")
        .vdev("net_null0")
        .init()
        .expect("EAL init");
    assert_eq!(eal.main_lcore(), 0);
    assert_eq!(lcore::workers(&eal), [1]);
    assert_eq!(lcore::current(), Some(0));
    // A thread EAL does not know has no lcore id.
    assert_eq!(std::thread::spawn(lcore::current).join().unwrap(), None);

    let data: Vec<u64> = (1..=1000).collect();
    let h = lcore::launch(&eal, 1, move || {
        (lcore::current(), data.iter().sum::<u64>())
    })
    .expect("launch");
    assert_eq!(h.lcore(), 1);
    assert_eq!(h.join().expect("no panic"), (Some(1), 500_500));

    // Bad lcores are errors, not UB.
    let e = lcore::launch(&eal, 0, || ()).unwrap_err();
    assert_eq!(e.errno(), errno::EINVAL);
    assert!(e.to_string().contains("lcore 0"), "{e}");
    assert!(lcore::launch(&eal, 5, || ()).is_err());
    assert!(lcore::launch(&eal, u32::MAX, || ()).is_err());

    // A panic on the worker comes back as Err, and the lcore is reusable.
    // (Silence the default panic message for this expected panic.)
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let h = lcore::launch(&eal, 1, || -> u32 { panic!("boom on lcore 1") }).expect("launch");
    let payload = h.join().unwrap_err();
    std::panic::set_hook(hook);
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom on lcore 1"));

    // The worker is busy until the first closure ends: a second launch on
    // it is refused. The closure waits on a flag so this is deterministic.
    let go = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let g = go.clone();
    let h = lcore::launch(&eal, 1, move || {
        // Bounded: gives up after 60 s so a failing test cannot hang.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if g.load(std::sync::atomic::Ordering::Acquire) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_micros(10));
        }
        false
    })
    .expect("launch");
    let e = lcore::launch(&eal, 1, || ()).unwrap_err();
    assert!(e.to_string().contains("busy"), "{e}");
    go.store(true, std::sync::atomic::Ordering::Release);
    assert!(h.join().expect("no panic"));

    // The worker owns the queues of a port and forwards bursts.
    let pool = Mempool::new(&eal, &MempoolConfig::new("lcore_pool", POOL)).expect("pool");
    let mut port =
        Port::open_by_name(&eal, "net_null0", &pool, &PortConfig::default()).expect("open");
    port.start().expect("start");
    let mut rxq = port.rx_queue(0).expect("rxq");
    let mut txq = port.tx_queue(0).expect("txq");
    let h = lcore::launch(&eal, 1, move || {
        let mut burst = MbufBurst::<32>::new();
        let (mut rx, mut tx) = (0usize, 0usize);
        for _ in 0..1000 {
            rx += rxq.rx_burst(&mut burst);
            tx += txq.tx_burst(&mut burst);
        }
        (rx, tx, lcore::tsc::now())
    })
    .expect("launch");
    let (rx, tx, tsc) = h.join().expect("forwarder");
    assert_eq!(rx, 32_000);
    assert_eq!(tx, rx);
    assert!(tsc > 0);
    // The handles went away with the closure: the port can stop now.
    port.stop().expect("stop");
    let stats = port.stats().expect("stats");
    assert_eq!(stats.opackets, 32_000);
    assert_eq!(pool.available(), POOL);
}

//! rte_eal_init succeeds once per process: a second Eal::init is a clear
//! error (no DPDK call, no UB), the first EAL keeps working, and even after
//! cleanup EAL cannot come back.

mod common;

use ffi::error::errno;
use ffi::{Mempool, MempoolConfig};

#[test]
fn second_init_is_a_clear_error() {
    let eal = common::eal("0").init().expect("first init");
    let e = common::eal("0").init().unwrap_err();
    assert_eq!(e.func(), "rte_eal_init");
    assert_eq!(e.errno(), errno::EALREADY);
    let text = e.to_string();
    assert!(text.contains("already initialised"), "{text}");
    assert!(text.contains("once per process"), "{text}");

    // The first EAL is unharmed; a clone is the way to share it.
    let eal2 = eal.clone();
    let pool = Mempool::new(&eal2, &MempoolConfig::new("after_second", 63)).expect("pool");
    assert!(pool.alloc().is_some());
    assert_eq!(pool.available(), 63);
    drop((pool, eal2, eal)); // last handle: rte_eal_cleanup

    let e = common::eal("0").init().unwrap_err();
    assert_eq!(e.errno(), errno::EALREADY, "{e}");
}

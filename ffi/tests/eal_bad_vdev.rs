//! A vdev of an unknown driver makes Eal::init fail with a meaningful error
//! (errno, and what EAL logged about it); after that, EAL cannot be
//! initialised again in this process, and the second call says so.

mod common;

use ffi::error::errno;

#[test]
fn unknown_vdev_driver_is_a_clear_error() {
    let e = common::eal("0")
        .vdev("net_null0")
        .vdev("net_nosuchdriver0,foo=bar")
        .init()
        .unwrap_err();
    assert_eq!(e.func(), "rte_eal_init");
    assert_eq!(e.errno(), errno::ENODEV, "{e}");
    assert_eq!(e.message(), "No such device");
    let text = e.to_string();
    // EAL's own explanation is quoted, with the arguments.
    assert!(
        text.contains("Unable to parse device 'net_nosuchdriver0,foo=bar'"),
        "{text}"
    );
    assert!(text.contains("--vdev=net_nosuchdriver0,foo=bar"), "{text}");

    let e2 = common::eal("0").init().unwrap_err();
    assert_eq!(e2.errno(), errno::EALREADY);
    assert!(e2.to_string().contains("once per process"), "{e2}");
}

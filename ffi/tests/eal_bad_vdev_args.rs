//! A vdev whose driver exists but refuses its arguments: EAL only logs the
//! failed probe and succeeds, so Eal::init checks that every net_* vdev
//! became a port, and fails (cleaning EAL up) with a meaningful error.

mod common;

use ffi::error::errno;

#[test]
fn vdev_refusing_its_arguments_is_a_clear_error() {
    let missing = common::scratch_dir("bad_vdev_args").join("no-such-file.pcap");
    let vdev = format!("net_pcap0,rx_pcap={}", missing.display());
    let e = common::eal("0")
        .vdev("net_null0")
        .vdev(vdev.clone())
        .init()
        .unwrap_err();
    assert_eq!(e.func(), "rte_eal_init");
    assert_eq!(e.errno(), errno::ENODEV, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "--vdev '{vdev}' did not create an ethdev port named 'net_pcap0'"
        )),
        "{text}"
    );
    // The driver's own complaint, from the EAL log.
    assert!(text.contains("net_pcap0"), "{text}");
    assert!(text.contains("EAL said:"), "{text}");
}

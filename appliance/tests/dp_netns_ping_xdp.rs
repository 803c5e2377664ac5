//! The namespace ping scenario (`netns_ping/mod.rs`) with the dataplane's
//! ports on `net_af_xdp` (AF_XDP sockets on the veth ends, the kernel's
//! generic XDP path). Needs root and iproute2; CI runs as root.

mod common;
#[path = "netns_ping/mod.rs"]
mod netns_ping;

#[test]
fn kernel_host_pings_through_the_dataplane_af_xdp() {
    netns_ping::kernel_host_pings_through_the_dataplane("net_af_xdp");
}

#!/usr/bin/env bash
# The appliance's main job on an embedded default: `appliance demo`, the
# source document's FlexVPN spoke-to-spoke scenario in network namespaces
# (hub, spoke1, spoke2, host1, host2), each appliance a DPDK dataplane
# process (net_af_packet virtual devices, no hugepages) and a control-plane
# process. Needs root (network namespaces). Prints a timeline: tunnels up,
# first packets via the hub, redirect, shortcut up, latency before and
# after, throughput over the shortcut. `--keep` leaves it running until
# Enter, to look around with `appliance show`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked -p appliance
exec target/release/appliance demo "$@"

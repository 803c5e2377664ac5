#!/usr/bin/env bash
# The appliance's main job on an embedded default. Until the DPDK dataplane
# and the appliance exist (see README, feature status), this runs the
# dataplane benchmark: the real ESP encapsulate/seal and open/decapsulate path
# against the bare AEAD on the same buffers, for every algorithm and backend.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Tables on transparent huge pages, as the dataplane process keeps them
# (docs/PERFORMANCE.md shows the lookups with and without).
export GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}"
cargo run --release --locked -p perf -- esp "$@"

#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine with only the Rust
# toolchain: installs what it needs, then runs formatting and lint checks,
# every unit/integration test (RFC vectors, scapy and tshark cross-checks,
# concurrency and property tests, fuzz-corpus replay).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "suite: %d passed, %d failed\n", p, f }' "$log"
exit "$status"

#!/usr/bin/env bash
# Installs everything the appliance, its tests and its benchmarks need on a
# fresh Debian 12 machine that has only the Rust toolchain. Idempotent: a
# second run installs nothing. Needs root (or sudo) for apt.
#
#   scripts/install-deps.sh            # apt packages (DPDK included) + Python venv (.venv) with scapy
#
# Environment: SKIP_APT=1 skips the apt step (for machines set up by hand).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  tshark          # validator: dissects and decrypts our ESP pcaps
  python3-venv    # isolated Python for scapy (independent ESP oracle)
  python3-pip
  iproute2        # network namespaces for end-to-end tests
  iputils-ping    # the kernel hosts of the namespace tests ping through the dataplane
  ethtool         # the namespace hosts turn checksum offload off (net_af_packet reads partial checksums)
  libdpdk-dev     # DPDK 22.11 (headers, shared libraries, PMD plugins) for ffi/
  libipsec-mb-dev # Intel IPsec Multi-Buffer library: AES-GCM for ESP (ffi/ipsec-mb)
  pkg-config      # ffi/build.rs finds DPDK with it
  libclang-dev    # bindgen (ffi/build.rs) parses the DPDK headers with libclang
  clang
  strongswan-charon               # a real IKEv2 peer for controlplane/tests/interop_strongswan.rs
  strongswan-swanctl
  libcharon-extra-plugins         # kernel-libipsec (userspace ESP), attr
  libstrongswan-extra-plugins     # curve25519
  libstrongswan-standard-plugins  # openssl, gmp
  openssl                         # test PKI: controlplane/tests/fixtures/pki/gen.sh (interop_strongswan_cert.rs)
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

apt_install() {
  $SUDO apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

if [ "${SKIP_APT:-0}" != 1 ] && [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  # Debian mirrors occasionally lose a .deb mid-install: retry once.
  apt_install "${missing[@]}" || { echo "install-deps: apt failed, retrying once"; sleep 3; apt_install "${missing[@]}"; }
fi

# scapy from PyPI (2.8 has ChaCha20-Poly1305 ESP), in a project-local venv.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import scapy, cryptography' 2>/dev/null; then
  echo "install-deps: creating .venv with scapy"
  "$PY" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check 'scapy==2.8.0' 'cryptography>=42' ||
    { sleep 3; .venv/bin/pip install -q --disable-pip-version-check 'scapy==2.8.0' 'cryptography>=42'; }
fi
echo "install-deps: ok"

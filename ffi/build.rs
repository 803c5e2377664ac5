//! Builds the DPDK binding against the system DPDK (>= 22.11):
//!
//! 1. `pkg-config` finds libdpdk and emits the (dynamic) link flags;
//! 2. the raw `pkg-config --cflags libdpdk` output is split and handed to
//!    bindgen and to `cc` as it is (the `pkg-config` crate drops
//!    `-include rte_config.h` and `-march=...`, which DPDK's headers need);
//! 3. bindgen generates bindings for an allowlist of the EAL, lcore, mempool,
//!    mbuf, ethdev, ring, errno and cycles APIs (binding every header fails
//!    on packed protocol structs), with `clang_macro_fallback()` so that
//!    `RTE_BIT64()`-built flags are evaluated, and a callback typing them u64;
//! 4. `cc` compiles `shim/shim.c`, which exports DPDK's static-inline fast
//!    path (burst I/O, mbuf helpers, `rte_lcore_id`, `rte_errno`, rings,
//!    TSC) as real symbols.

use std::env;
use std::path::PathBuf;
use std::process::Command;

use bindgen::callbacks::{IntKind, ParseCallbacks};

const MIN_VERSION: &str = "22.11";

/// Flag families DPDK builds with `RTE_BIT64()` or 64-bit literals: make
/// them `u64` whatever clang's evaluation would pick.
const U64_PREFIXES: &[&str] = &[
    "RTE_ETH_RSS_",
    "RTE_ETH_RX_OFFLOAD_",
    "RTE_ETH_TX_OFFLOAD_",
    "RTE_ETH_LINK_SPEED_",
    "RTE_MBUF_F_",
    "RTE_ETH_DEV_CAPA_",
];

#[derive(Debug)]
struct Callbacks;

impl ParseCallbacks for Callbacks {
    fn int_macro(&self, name: &str, _value: i64) -> Option<IntKind> {
        if U64_PREFIXES.iter().any(|p| name.starts_with(p)) {
            Some(IntKind::U64)
        } else {
            None
        }
    }
}

fn raw_cflags() -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run pkg-config: {e} (apt-get install pkg-config)"));
    assert!(
        out.status.success(),
        "pkg-config --cflags libdpdk failed: {} (apt-get install libdpdk-dev)",
        String::from_utf8_lossy(&out.stderr)
    );
    // DPDK's flags hold no quoted arguments: whitespace splitting is exact.
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let shim_dir = manifest.join("shim");
    for f in ["build.rs", "shim/shim.c", "shim/shim.h", "shim/wrapper.h"] {
        println!("cargo:rerun-if-changed={}", manifest.join(f).display());
    }
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    // Link flags (dynamic: EAL then loads the PMD plugins by itself).
    let lib = pkg_config::Config::new()
        .atleast_version(MIN_VERSION)
        .cargo_metadata(true)
        .probe("libdpdk")
        .unwrap_or_else(|e| {
            panic!("libdpdk >= {MIN_VERSION} not found by pkg-config: {e}\n(apt-get install libdpdk-dev pkg-config)")
        });
    println!("cargo:version={}", lib.version);
    let cflags = raw_cflags();

    // The fast-path shim.
    let mut build = cc::Build::new();
    build.file(shim_dir.join("shim.c")).include(&shim_dir);
    for f in &cflags {
        build.flag(f);
    }
    build
        .flag_if_supported("-Wno-deprecated-declarations")
        .opt_level(3)
        .compile("ffi_dpdk_shim");

    // Bindings.
    let bindings = bindgen::Builder::default()
        .header(shim_dir.join("wrapper.h").display().to_string())
        .clang_args(&cflags)
        .clang_arg(format!("-I{}", shim_dir.display()))
        .clang_macro_fallback()
        .parse_callbacks(Box::new(Callbacks))
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .use_core()
        .layout_tests(false)
        .derive_default(true)
        .derive_debug(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        // EAL and lcores.
        .allowlist_function("rte_eal_(init|cleanup|mp_wait_lcore|wait_lcore|remote_launch|process_type|has_hugepages)")
        .allowlist_function("rte_(get_main_lcore|get_next_lcore|lcore_count|lcore_is_enabled|lcore_to_socket_id|socket_id|eal_get_lcore_state)")
        .allowlist_function("rte_strerror")
        .allowlist_function("rte_openlog_stream")
        .allowlist_type("rte_lcore_state_t")
        .allowlist_var("LCORE_ID_ANY|SOCKET_ID_ANY|RTE_MAX_LCORE|RTE_MAX_ETHPORTS|RTE_MAX_QUEUES_PER_PORT")
        .allowlist_var("E_RTE_.*|RTE_MAX_ERRNO")
        // Mempool and mbuf.
        .allowlist_function("rte_pktmbuf_pool_create")
        .allowlist_function("rte_mempool_(free|in_use_count|lookup)")
        .allowlist_type("rte_mbuf|rte_mempool")
        .allowlist_var("RTE_PKTMBUF_HEADROOM|RTE_MBUF_DEFAULT_.*|RTE_MBUF_F_.*|RTE_MEMPOOL_NAMESIZE")
        // ethdev.
        .allowlist_function("rte_eth_dev_(adjust_nb_rx_tx_desc|count_avail|get_port_by_name|get_name_by_port|info_get|configure|start|stop|close|is_valid_port|socket_id|set_mtu|get_mtu)")
        .allowlist_function("rte_eth_(rx_queue_setup|tx_queue_setup|macaddr_get|promiscuous_enable|promiscuous_disable|promiscuous_get|link_get_nowait|stats_get|stats_reset|find_next_owned_by)")
        .allowlist_type("rte_eth_conf|rte_eth_dev_info|rte_eth_stats|rte_eth_link|rte_ether_addr|rte_eth_rxconf|rte_eth_txconf")
        .allowlist_var("RTE_ETH_RSS_.*|RTE_ETH_MQ_.*|RTE_ETH_RX_OFFLOAD_.*|RTE_ETH_TX_OFFLOAD_.*|RTE_ETH_LINK_.*|RTE_ETH_NAME_MAX_LEN|RTE_ETHER_ADDR_LEN|RTE_ETH_DEV_NO_OWNER")
        // Rings.
        .allowlist_function("rte_ring_(create|free|lookup)")
        .allowlist_type("rte_ring")
        .allowlist_var("RING_F_.*|RTE_RING_NAMESIZE")
        // Cycles.
        .allowlist_function("rte_get_tsc_hz|rte_delay_us_block")
        // The shim.
        .allowlist_function("ffi_.*")
        .generate()
        .expect("bindgen failed on the DPDK headers");
    bindings
        .write_to_file(out_dir.join("bindings.rs"))
        .expect("cannot write bindings.rs");
}

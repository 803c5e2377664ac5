//! Ethernet ports: configuration (queues, RSS), start/stop/close, MAC
//! address, promiscuous mode, link, statistics, and per-queue handles for
//! the burst I/O of the packet path.

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::eal::Eal;
use crate::error::{errno, Error, Result};
use crate::mbuf::MbufBurst;
use crate::mempool::Mempool;
use crate::sys;

const MAX_PORTS: usize = sys::RTE_MAX_ETHPORTS as usize;

/// Ports opened by this process: a second [`Port`] on the same device would
/// reconfigure it under the first.
static OPEN_PORTS: [AtomicBool; MAX_PORTS] = [const { AtomicBool::new(false) }; MAX_PORTS];

/// The hash functions asked for when RSS spreads packets over several
/// receive queues: IPv4/IPv6 addresses, and UDP ports.
pub const RSS_HASH_FUNCTIONS: u64 = sys::RTE_ETH_RSS_IP | sys::RTE_ETH_RSS_UDP;

/// The port id of an ethdev by device name (`rte_eth_dev_get_port_by_name`;
/// a vdev's port has the vdev's name, e.g. `net_ring0`).
pub fn port_id_by_name(name: &str) -> Result<u16> {
    let func = "rte_eth_dev_get_port_by_name";
    let c = CString::new(name).map_err(|_| {
        Error::new(
            func,
            errno::EINVAL,
            Some(format!("name {name:?} contains a NUL byte")),
        )
    })?;
    let mut id = 0u16;
    // SAFETY: c is NUL-terminated; id is a valid out pointer. The call only
    // reads the port table (EAL must be up: callers hold an Eal, or are
    // Eal::init itself after a successful rte_eal_init).
    let ret = unsafe { sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) };
    if ret != 0 {
        return Err(Error::from_ret(func, ret).with_detail(format!(
            "no ethdev port named '{name}' (is there a --vdev={name} or an allowed PCI device of that name in the EAL arguments?)"
        )));
    }
    Ok(id)
}

/// How a [`Port`] is configured by [`Port::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Receive queues (one per worker lcore, typically). Default 1.
    pub rx_queues: u16,
    /// Transmit queues. Default 1.
    pub tx_queues: u16,
    /// Descriptors per receive queue (adjusted to the device's limits).
    /// Default 1024.
    pub rx_descriptors: u16,
    /// Descriptors per transmit queue (adjusted likewise). Default 1024.
    pub tx_descriptors: u16,
    /// With several receive queues, spread packets by RSS hash (IP and UDP)
    /// when the device can. Default true.
    pub rss: bool,
    /// Promiscuous mode from start. Default false.
    pub promiscuous: bool,
    /// MTU to set, or `None` for the device default.
    pub mtu: Option<u16>,
}

impl Default for PortConfig {
    fn default() -> Self {
        Self {
            rx_queues: 1,
            tx_queues: 1,
            rx_descriptors: 1024,
            tx_descriptors: 1024,
            rss: true,
            promiscuous: false,
            mtu: None,
        }
    }
}

impl PortConfig {
    /// The default configuration with `rx` receive and `tx` transmit queues.
    pub fn with_queues(rx: u16, tx: u16) -> Self {
        Self {
            rx_queues: rx,
            tx_queues: tx,
            ..Self::default()
        }
    }
}

/// Whether receive-side scaling spreads packets over the receive queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rss {
    /// One receive queue: nothing to spread.
    SingleQueue,
    /// RSS is on with these hash functions (`RTE_ETH_RSS_*` bits).
    Enabled {
        /// The hash functions in use.
        hash_functions: u64,
    },
    /// Several receive queues, RSS not asked for ([`PortConfig::rss`] false).
    Disabled,
    /// Several receive queues were asked for but the device hashes none of
    /// the IP/UDP flow types: the port runs without RSS, and which queue a
    /// packet lands in is up to the driver (each `net_ring` queue, for
    /// instance, is a ring of its own).
    Unsupported {
        /// What the device can hash (`flow_type_rss_offloads`).
        device_hash_functions: u64,
    },
}

impl fmt::Display for Rss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SingleQueue => f.write_str("single receive queue"),
            Self::Enabled { hash_functions } => write!(f, "RSS on (hash functions {hash_functions:#x})"),
            Self::Disabled => f.write_str("RSS off by configuration"),
            Self::Unsupported {
                device_hash_functions,
            } => write!(
                f,
                "RSS unsupported for IP/UDP by the device (it hashes {device_hash_functions:#x}): running without RSS"
            ),
        }
    }
}

/// Link state (`rte_eth_link_get_nowait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Link up.
    pub up: bool,
    /// Speed in Mbit/s (0 when unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
    /// Autonegotiated.
    pub autoneg: bool,
}

/// Port counters (`rte_eth_stats_get`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets dropped by the device because no receive descriptor was free.
    pub imissed: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Transmit errors.
    pub oerrors: u64,
    /// Receive failures for want of an mbuf.
    pub rx_nombuf: u64,
}

/// What the queue handles share with the port; the device is stopped and
/// closed when the last of them goes.
struct PortInner {
    id: u16,
    rx_taken: Box<[AtomicBool]>,
    tx_taken: Box<[AtomicBool]>,
    started: AtomicBool,
    // Receive queues allocate from this pool: keep it (and EAL) alive.
    _pool: Mempool,
    _eal: Eal,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        // SAFETY: the port was configured by this process and no queue
        // handle exists any more (each holds this Arc), so no burst call
        // runs on it; stop and close are called once.
        unsafe {
            if self.started.load(Ordering::SeqCst) {
                sys::rte_eth_dev_stop(self.id);
            }
            sys::rte_eth_dev_close(self.id);
        }
        OPEN_PORTS[usize::from(self.id)].store(false, Ordering::SeqCst);
    }
}

/// An Ethernet port configured by this process.
///
/// Receive and transmit happen through [`RxQueue`] and [`TxQueue`] handles
/// taken after [`Port::start`], one per queue, each movable to the lcore
/// that polls it. The port can be stopped only when every handle is back
/// (dropped). Dropping the port (and the last handle) stops and closes the
/// device; for most drivers a closed port is released and cannot be opened
/// again in this process.
pub struct Port {
    inner: Arc<PortInner>,
    name: String,
    driver: String,
    nb_rx: u16,
    nb_tx: u16,
    rss: Rss,
    config: PortConfig,
    started: bool,
    // Control calls are not thread-safe in DPDK: keep them on one thread.
    _not_sync: PhantomData<Cell<()>>,
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port")
            .field("id", &self.inner.id)
            .field("name", &self.name)
            .field("driver", &self.driver)
            .field("rx_queues", &self.nb_rx)
            .field("tx_queues", &self.nb_tx)
            .field("rss", &self.rss)
            .field("started", &self.started)
            .finish()
    }
}

/// Releases the "open" mark of a port if configuration fails half-way.
struct OpenGuard(Option<u16>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            OPEN_PORTS[usize::from(id)].store(false, Ordering::SeqCst);
        }
    }
}

impl Port {
    /// Configures port `id`: queues (receive queues allocate from `pool`),
    /// RSS, descriptors, MTU. The port is not started.
    pub fn open(eal: &Eal, id: u16, pool: &Mempool, config: &PortConfig) -> Result<Self> {
        let idx = usize::from(id);
        // SAFETY: EAL is up (eal exists); the call checks any id.
        if idx >= MAX_PORTS || unsafe { sys::rte_eth_dev_is_valid_port(id) } != 1 {
            return Err(Error::new(
                "Port::open",
                errno::ENODEV,
                Some(format!(
                    "no port {id} ({} ports available)",
                    eal.port_count()
                )),
            ));
        }
        if OPEN_PORTS[idx].swap(true, Ordering::SeqCst) {
            return Err(Error::new(
                "Port::open",
                errno::EBUSY,
                Some(format!("port {id} is already open in this process")),
            ));
        }
        let mut guard = OpenGuard(Some(id));
        let port = Self::configure(eal, id, pool, config)?;
        guard.0 = None;
        Ok(port)
    }

    /// [`Port::open`] on the port of this device name (a vdev's name, such
    /// as `net_ring0`, or a PCI address).
    pub fn open_by_name(
        eal: &Eal,
        name: &str,
        pool: &Mempool,
        config: &PortConfig,
    ) -> Result<Self> {
        let id = port_id_by_name(name)?;
        Self::open(eal, id, pool, config)
    }

    fn configure(eal: &Eal, id: u16, pool: &Mempool, config: &PortConfig) -> Result<Self> {
        let ctx = |e: Error| e.with_detail(format!("port {id}"));
        let info = dev_info(id).map_err(ctx)?;
        // SAFETY: driver_name is a static string of the driver (or null).
        let driver = unsafe { cstr_or_empty(info.driver_name) };
        let name = port_name(id).unwrap_or_default();
        let (nb_rx, nb_tx) = (config.rx_queues, config.tx_queues);
        if nb_rx == 0 || nb_rx > info.max_rx_queues || nb_tx == 0 || nb_tx > info.max_tx_queues {
            return Err(Error::new(
                "rte_eth_dev_configure",
                errno::EINVAL,
                Some(format!(
                    "port {id} ({name}, {driver}): {nb_rx} rx / {nb_tx} tx queues asked, the device has 1..={} rx and 1..={} tx",
                    info.max_rx_queues, info.max_tx_queues
                )),
            ));
        }

        let mut conf = sys::rte_eth_conf::default();
        let rss = if nb_rx == 1 {
            Rss::SingleQueue
        } else if !config.rss {
            Rss::Disabled
        } else {
            let hf = RSS_HASH_FUNCTIONS & info.flow_type_rss_offloads;
            if hf == 0 {
                Rss::Unsupported {
                    device_hash_functions: info.flow_type_rss_offloads,
                }
            } else {
                conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
                conf.rx_adv_conf.rss_conf.rss_key = std::ptr::null_mut(); // driver's key
                conf.rx_adv_conf.rss_conf.rss_hf = hf;
                // Hand the hash to software too (Mbuf::rss_hash) when the
                // device can.
                conf.rxmode.offloads |= info.rx_offload_capa & sys::RTE_ETH_RX_OFFLOAD_RSS_HASH;
                Rss::Enabled { hash_functions: hf }
            }
        };
        // SAFETY: port id valid and not started by us; conf is a fully
        // initialised rte_eth_conf that DPDK copies.
        let ret = unsafe { sys::rte_eth_dev_configure(id, nb_rx, nb_tx, &conf) };
        if ret != 0 {
            return Err(
                Error::from_ret("rte_eth_dev_configure", ret).with_detail(format!(
                    "port {id} ({name}, {driver}), {nb_rx} rx / {nb_tx} tx queues, {rss}"
                )),
            );
        }
        let (mut rxd, mut txd) = (config.rx_descriptors, config.tx_descriptors);
        // SAFETY: configured port; both pointers are valid for writes.
        let ret = unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rxd, &mut txd) };
        if ret != 0 {
            return Err(Error::from_ret("rte_eth_dev_adjust_nb_rx_tx_desc", ret)
                .with_detail(format!("port {id}")));
        }
        // SAFETY: valid port id; returns a socket or SOCKET_ID_ANY (-1).
        let socket = unsafe { sys::rte_eth_dev_socket_id(id) };
        // DPDK takes the socket as unsigned; SOCKET_ID_ANY (-1) wraps to the
        // value it expects.
        let socket = socket as u32;
        for q in 0..nb_rx {
            // SAFETY: configured port, q < nb_rx; a null rxconf selects the
            // driver defaults; the pool is a live pktmbuf pool that the
            // PortInner below keeps alive as long as the queue exists.
            let ret = unsafe {
                sys::rte_eth_rx_queue_setup(id, q, rxd, socket, std::ptr::null(), pool.as_ptr())
            };
            if ret != 0 {
                return Err(
                    Error::from_ret("rte_eth_rx_queue_setup", ret).with_detail(format!(
                        "port {id} queue {q}, {rxd} descriptors, pool '{}'",
                        pool.config().name
                    )),
                );
            }
        }
        for q in 0..nb_tx {
            // SAFETY: configured port, q < nb_tx; null txconf = defaults.
            let ret = unsafe { sys::rte_eth_tx_queue_setup(id, q, txd, socket, std::ptr::null()) };
            if ret != 0 {
                return Err(Error::from_ret("rte_eth_tx_queue_setup", ret)
                    .with_detail(format!("port {id} queue {q}, {txd} descriptors")));
            }
        }
        if let Some(mtu) = config.mtu {
            // SAFETY: configured, stopped port.
            let ret = unsafe { sys::rte_eth_dev_set_mtu(id, mtu) };
            if ret != 0 {
                return Err(Error::from_ret("rte_eth_dev_set_mtu", ret)
                    .with_detail(format!("port {id}, MTU {mtu}")));
            }
        }
        let taken = |n: u16| (0..n).map(|_| AtomicBool::new(false)).collect::<Box<[_]>>();
        Ok(Self {
            inner: Arc::new(PortInner {
                id,
                rx_taken: taken(nb_rx),
                tx_taken: taken(nb_tx),
                started: AtomicBool::new(false),
                _pool: pool.clone(),
                _eal: eal.clone(),
            }),
            name,
            driver,
            nb_rx,
            nb_tx,
            rss,
            config: config.clone(),
            started: false,
            _not_sync: PhantomData,
        })
    }

    /// The port id.
    pub fn id(&self) -> u16 {
        self.inner.id
    }

    /// The device name (`rte_eth_dev_get_name_by_port`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The driver name, e.g. `net_ring`.
    pub fn driver(&self) -> &str {
        &self.driver
    }

    /// Number of receive queues.
    pub fn rx_queues(&self) -> u16 {
        self.nb_rx
    }

    /// Number of transmit queues.
    pub fn tx_queues(&self) -> u16 {
        self.nb_tx
    }

    /// Whether RSS spreads packets over the receive queues, and if not, why.
    pub fn rss(&self) -> Rss {
        self.rss
    }

    /// True between [`Port::start`] and [`Port::stop`].
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Starts the device (`rte_eth_dev_start`), then sets promiscuous mode
    /// if the configuration asks for it.
    pub fn start(&mut self) -> Result<()> {
        if self.started {
            return Ok(());
        }
        let id = self.id();
        // SAFETY: configured port owned by this Port; no queue handle exists
        // before start.
        let ret = unsafe { sys::rte_eth_dev_start(id) };
        if ret != 0 {
            return Err(Error::from_ret("rte_eth_dev_start", ret)
                .with_detail(format!("port {id} ({})", self.name)));
        }
        self.started = true;
        self.inner.started.store(true, Ordering::SeqCst);
        if self.config.promiscuous {
            self.set_promiscuous(true)?;
        }
        Ok(())
    }

    /// Stops the device (`rte_eth_dev_stop`). Refused (`EBUSY`) while a
    /// queue handle is alive: a burst call might run on it.
    pub fn stop(&mut self) -> Result<()> {
        if !self.started {
            return Ok(());
        }
        self.check_no_handles("rte_eth_dev_stop")?;
        // SAFETY: started port, and no queue handle exists (checked above;
        // &mut self keeps new ones from being made meanwhile).
        let ret = unsafe { sys::rte_eth_dev_stop(self.id()) };
        if ret != 0 {
            return Err(
                Error::from_ret("rte_eth_dev_stop", ret).with_detail(format!("port {}", self.id()))
            );
        }
        self.started = false;
        self.inner.started.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// Stops and closes the device now. With queue handles still alive it
    /// returns `EBUSY`, and the device is closed when the last of them is
    /// dropped.
    pub fn close(self) -> Result<()> {
        self.check_no_handles("rte_eth_dev_close")
        // Dropping self (the last reference) stops and closes.
    }

    fn check_no_handles(&self, func: &'static str) -> Result<()> {
        let handles = Arc::strong_count(&self.inner) - 1;
        if handles > 0 {
            return Err(Error::new(
                func,
                errno::EBUSY,
                Some(format!(
                    "port {}: {handles} queue handle(s) still alive; drop them first",
                    self.id()
                )),
            ));
        }
        Ok(())
    }

    /// The handle for receive queue `queue`; one at a time per queue, and
    /// only on a started port.
    pub fn rx_queue(&mut self, queue: u16) -> Result<RxQueue> {
        self.take(queue, true)?;
        Ok(RxQueue {
            port: self.id(),
            queue,
            inner: Arc::clone(&self.inner),
        })
    }

    /// The handle for transmit queue `queue`; one at a time per queue, and
    /// only on a started port.
    pub fn tx_queue(&mut self, queue: u16) -> Result<TxQueue> {
        self.take(queue, false)?;
        Ok(TxQueue {
            port: self.id(),
            queue,
            inner: Arc::clone(&self.inner),
        })
    }

    fn take(&self, queue: u16, rx: bool) -> Result<()> {
        let (func, table, kind) = if rx {
            ("Port::rx_queue", &self.inner.rx_taken, "receive")
        } else {
            ("Port::tx_queue", &self.inner.tx_taken, "transmit")
        };
        if !self.started {
            return Err(Error::new(
                func,
                errno::EINVAL,
                Some(format!("port {} is not started", self.id())),
            ));
        }
        let Some(flag) = table.get(usize::from(queue)) else {
            return Err(Error::new(
                func,
                errno::EINVAL,
                Some(format!(
                    "port {} has {} {kind} queues, no queue {queue}",
                    self.id(),
                    table.len()
                )),
            ));
        };
        if flag.swap(true, Ordering::SeqCst) {
            return Err(Error::new(
                func,
                errno::EBUSY,
                Some(format!(
                    "port {} {kind} queue {queue} already has a handle",
                    self.id()
                )),
            ));
        }
        Ok(())
    }

    /// The MAC address (`rte_eth_macaddr_get`).
    pub fn mac_addr(&self) -> Result<[u8; 6]> {
        let mut a = sys::rte_ether_addr::default();
        // SAFETY: configured port; a is a valid out pointer.
        let ret = unsafe { sys::rte_eth_macaddr_get(self.id(), &mut a) };
        if ret != 0 {
            return Err(Error::from_ret("rte_eth_macaddr_get", ret)
                .with_detail(format!("port {}", self.id())));
        }
        Ok(a.addr_bytes)
    }

    /// Turns promiscuous mode on or off.
    pub fn set_promiscuous(&mut self, on: bool) -> Result<()> {
        // SAFETY: configured port owned by this Port.
        let (func, ret) = unsafe {
            if on {
                (
                    "rte_eth_promiscuous_enable",
                    sys::rte_eth_promiscuous_enable(self.id()),
                )
            } else {
                (
                    "rte_eth_promiscuous_disable",
                    sys::rte_eth_promiscuous_disable(self.id()),
                )
            }
        };
        if ret != 0 {
            return Err(Error::from_ret(func, ret).with_detail(format!(
                "port {} ({})",
                self.id(),
                self.driver
            )));
        }
        Ok(())
    }

    /// True when promiscuous mode is on.
    pub fn promiscuous(&self) -> bool {
        // SAFETY: configured port; returns 1, 0 or -1 (error).
        unsafe { sys::rte_eth_promiscuous_get(self.id()) == 1 }
    }

    /// The link state, without waiting (`rte_eth_link_get_nowait`).
    pub fn link(&self) -> Result<Link> {
        let mut l = sys::rte_eth_link::default();
        // SAFETY: configured port; l is a valid out pointer.
        let ret = unsafe { sys::rte_eth_link_get_nowait(self.id(), &mut l) };
        if ret != 0 {
            return Err(Error::from_ret("rte_eth_link_get_nowait", ret)
                .with_detail(format!("port {}", self.id())));
        }
        Ok(Link {
            up: u32::from(l.link_status()) == sys::RTE_ETH_LINK_UP,
            speed_mbps: l.link_speed,
            full_duplex: u32::from(l.link_duplex()) == sys::RTE_ETH_LINK_FULL_DUPLEX,
            autoneg: u32::from(l.link_autoneg()) == sys::RTE_ETH_LINK_AUTONEG,
        })
    }

    /// The port counters (`rte_eth_stats_get`).
    pub fn stats(&self) -> Result<PortStats> {
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: configured port; s is a valid out pointer.
        let ret = unsafe { sys::rte_eth_stats_get(self.id(), &mut s) };
        if ret != 0 {
            return Err(Error::from_ret("rte_eth_stats_get", ret)
                .with_detail(format!("port {}", self.id())));
        }
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Zeroes the port counters (`rte_eth_stats_reset`).
    pub fn reset_stats(&mut self) -> Result<()> {
        // SAFETY: configured port.
        let ret = unsafe { sys::rte_eth_stats_reset(self.id()) };
        if ret != 0 {
            return Err(Error::from_ret("rte_eth_stats_reset", ret)
                .with_detail(format!("port {}", self.id())));
        }
        Ok(())
    }
}

fn dev_info(id: u16) -> Result<sys::rte_eth_dev_info> {
    let mut info = sys::rte_eth_dev_info::default();
    // SAFETY: valid port id; info is a valid out pointer.
    let ret = unsafe { sys::rte_eth_dev_info_get(id, &mut info) };
    if ret != 0 {
        return Err(Error::from_ret("rte_eth_dev_info_get", ret));
    }
    Ok(info)
}

fn port_name(id: u16) -> Result<String> {
    let mut buf = [0 as std::ffi::c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: valid port id; buf holds RTE_ETH_NAME_MAX_LEN bytes, as the
    // function requires.
    let ret = unsafe { sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
    if ret != 0 {
        return Err(Error::from_ret("rte_eth_dev_get_name_by_port", ret));
    }
    // SAFETY: DPDK wrote a NUL-terminated name into buf.
    Ok(unsafe { cstr_or_empty(buf.as_ptr()) })
}

/// # Safety
///
/// `p` must be null or point to a NUL-terminated string.
unsafe fn cstr_or_empty(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null and NUL-terminated (the caller's contract).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The receive side of one queue of a started port: the only way to call
/// `rte_eth_rx_burst` on it. Move it to the lcore that polls the queue.
pub struct RxQueue {
    port: u16,
    queue: u16,
    inner: Arc<PortInner>,
}

/// The transmit side of one queue of a started port: the only way to call
/// `rte_eth_tx_burst` on it. Move it to the lcore that sends on the queue.
pub struct TxQueue {
    port: u16,
    queue: u16,
    inner: Arc<PortInner>,
}

impl fmt::Debug for RxQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RxQueue")
            .field("port", &self.port)
            .field("queue", &self.queue)
            .finish()
    }
}

impl fmt::Debug for TxQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxQueue")
            .field("port", &self.port)
            .field("queue", &self.queue)
            .finish()
    }
}

impl RxQueue {
    /// The port id.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The queue id.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Receives up to `burst.free_space()` packets into the free slots of
    /// `burst` (after the mbufs it already holds) and returns how many
    /// arrived. No allocation, no dynamic dispatch beyond the driver's own
    /// function pointer.
    #[inline]
    pub fn rx_burst<const N: usize>(&mut self, burst: &mut MbufBurst<N>) -> usize {
        let (ptr, free) = burst.spare_raw();
        if free == 0 {
            return 0;
        }
        // SAFETY: the port is started and stays so while this handle lives
        // (Port::stop refuses otherwise); the queue id was range-checked when
        // the handle was made and only this handle polls it (&mut self,
        // one handle per queue). ptr has `free` writable slots; free <= N <=
        // u16::MAX (MbufBurst's bound).
        let n = unsafe { sys::ffi_rte_eth_rx_burst(self.port, self.queue, ptr, free as u16) };
        let n = usize::from(n).min(free);
        // SAFETY: the driver stored n received mbufs, now ours, in the slots.
        unsafe { burst.commit_spare(n) };
        n
    }
}

impl TxQueue {
    /// The port id.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The queue id.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Hands the mbufs of `burst` to the device, in order, and returns how
    /// many it took. Those it did not take stay in `burst` (moved to the
    /// front, order kept): retry, or drop the burst to free them.
    #[inline]
    pub fn tx_burst<const N: usize>(&mut self, burst: &mut MbufBurst<N>) -> usize {
        let (ptr, len) = burst.filled_raw();
        if len == 0 {
            return 0;
        }
        // SAFETY: started port and range-checked queue used by this handle
        // only (as for rx_burst); ptr holds `len` owned mbufs, len <= N <=
        // u16::MAX. The device takes ownership of the first `sent` of them.
        let sent = unsafe { sys::ffi_rte_eth_tx_burst(self.port, self.queue, ptr, len as u16) };
        let sent = usize::from(sent).min(len);
        burst.consume_front(sent);
        sent
    }
}

impl Drop for RxQueue {
    fn drop(&mut self) {
        if let Some(f) = self.inner.rx_taken.get(usize::from(self.queue)) {
            f.store(false, Ordering::SeqCst);
        }
    }
}

impl Drop for TxQueue {
    fn drop(&mut self) {
        if let Some(f) = self.inner.tx_taken.get(usize::from(self.queue)) {
            f.store(false, Ordering::SeqCst);
        }
    }
}

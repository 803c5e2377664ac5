//! The Environment Abstraction Layer: argument builder, `rte_eal_init` once
//! per process, `rte_eal_cleanup` when the last handle goes.

use std::ffi::{c_char, c_int, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{errno, Error, Result};
use crate::sys;

/// Set by the first [`EalBuilder::init`] of the process, never cleared:
/// `rte_eal_init` can succeed only once per process, even after
/// `rte_eal_cleanup`.
static INIT_CALLED: AtomicBool = AtomicBool::new(false);

/// How much of the EAL log an error may quote.
const LOG_TAIL: usize = 8192;
/// How many of the last log lines go into an error's detail.
const LOG_LINES_IN_ERROR: usize = 8;

/// EAL arguments, built up and then passed to `rte_eal_init` by
/// [`EalBuilder::init`].
///
/// ```no_run
/// let eal = ffi::Eal::builder()
///     .cores("0-1")
///     .no_huge()
///     .no_shconf()
///     .memory_mb(256)
///     .no_pci()
///     .no_telemetry()
///     .vdev("net_null0")
///     .init()?;
/// # Ok::<(), ffi::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct EalBuilder {
    program: String,
    cores: Option<String>,
    main_lcore: Option<u32>,
    no_huge: bool,
    no_shconf: bool,
    memory_mb: Option<u32>,
    no_pci: bool,
    no_telemetry: bool,
    file_prefix: Option<String>,
    in_memory: bool,
    vdevs: Vec<String>,
    allow: Vec<String>,
    log_level: Option<String>,
    extra: Vec<String>,
}

impl Default for EalBuilder {
    fn default() -> Self {
        Self {
            program: "dpdk".to_owned(),
            cores: None,
            main_lcore: None,
            no_huge: false,
            no_shconf: false,
            memory_mb: None,
            no_pci: false,
            no_telemetry: false,
            file_prefix: None,
            in_memory: false,
            vdevs: Vec::new(),
            allow: Vec::new(),
            log_level: None,
            extra: Vec::new(),
        }
    }
}

impl EalBuilder {
    /// `argv[0]` (EAL names its log after it). Default `dpdk`.
    #[must_use]
    pub fn program(mut self, name: impl Into<String>) -> Self {
        self.program = name.into();
        self
    }

    /// `-l LIST`: the lcores to run on, e.g. `"0"`, `"0-1"`, `"0,2-3"`. The
    /// first is the main lcore unless [`EalBuilder::main_lcore`] says
    /// otherwise.
    #[must_use]
    pub fn cores(mut self, list: impl Into<String>) -> Self {
        self.cores = Some(list.into());
        self
    }

    /// `--main-lcore ID`.
    #[must_use]
    pub fn main_lcore(mut self, id: u32) -> Self {
        self.main_lcore = Some(id);
        self
    }

    /// `--no-huge`: anonymous memory instead of hugepages (cannot be
    /// combined with `--in-memory`).
    #[must_use]
    pub fn no_huge(mut self) -> Self {
        self.no_huge = true;
        self
    }

    /// `--no-shconf`: no shared configuration files, so several processes
    /// can run EAL at once.
    #[must_use]
    pub fn no_shconf(mut self) -> Self {
        self.no_shconf = true;
        self
    }

    /// `-m MB`: memory to preallocate.
    #[must_use]
    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = Some(mb);
        self
    }

    /// `--no-pci`: do not scan the PCI bus.
    #[must_use]
    pub fn no_pci(mut self) -> Self {
        self.no_pci = true;
        self
    }

    /// `--no-telemetry`: no telemetry socket.
    #[must_use]
    pub fn no_telemetry(mut self) -> Self {
        self.no_telemetry = true;
        self
    }

    /// `--file-prefix PREFIX`: separates the runtime files of this process
    /// from other DPDK processes.
    #[must_use]
    pub fn file_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.file_prefix = Some(prefix.into());
        self
    }

    /// `--in-memory`: hugepages without any file in the file system.
    #[must_use]
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }

    /// `--vdev DEVARGS` (repeatable), e.g. `"net_ring0"`,
    /// `"net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap"`.
    ///
    /// After a successful `rte_eal_init`, every `net_*` vdev must have
    /// created an ethdev port of that name, or [`EalBuilder::init`] fails
    /// (EAL itself only logs a device that failed to probe).
    #[must_use]
    pub fn vdev(mut self, devargs: impl Into<String>) -> Self {
        self.vdevs.push(devargs.into());
        self
    }

    /// `-a PCI[,ARGS]` (repeatable): allow this PCI device.
    #[must_use]
    pub fn allow_pci(mut self, devargs: impl Into<String>) -> Self {
        self.allow.push(devargs.into());
        self
    }

    /// `--log-level LEVEL` (repeatable in EAL; the last set here wins), e.g.
    /// `"7"` or `"pmd.net.ring:debug"`.
    #[must_use]
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.log_level = Some(level.into());
        self
    }

    /// Any further EAL argument, passed as it is after the others.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra.push(arg.into());
        self
    }

    /// The argument vector [`EalBuilder::init`] passes, `argv[0]` first.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![self.program.clone()];
        if let Some(c) = &self.cores {
            a.extend(["-l".to_owned(), c.clone()]);
        }
        if let Some(m) = self.main_lcore {
            a.extend(["--main-lcore".to_owned(), m.to_string()]);
        }
        if self.no_huge {
            a.push("--no-huge".to_owned());
        }
        if self.no_shconf {
            a.push("--no-shconf".to_owned());
        }
        if let Some(m) = self.memory_mb {
            a.extend(["-m".to_owned(), m.to_string()]);
        }
        if self.no_pci {
            a.push("--no-pci".to_owned());
        }
        if self.no_telemetry {
            a.push("--no-telemetry".to_owned());
        }
        if let Some(p) = &self.file_prefix {
            a.push(format!("--file-prefix={p}"));
        }
        if self.in_memory {
            a.push("--in-memory".to_owned());
        }
        for v in &self.vdevs {
            a.push(format!("--vdev={v}"));
        }
        for p in &self.allow {
            a.extend(["-a".to_owned(), p.clone()]);
        }
        if let Some(l) = &self.log_level {
            a.push(format!("--log-level={l}"));
        }
        a.extend(self.extra.iter().cloned());
        a
    }

    /// Checks what EAL would reject with a less helpful message.
    fn validate(&self) -> Result<Vec<CString>> {
        let bad = |msg: String| Error::new("Eal::init", errno::EINVAL, Some(msg));
        if self.no_huge && self.in_memory {
            return Err(bad(
                "--no-huge cannot be combined with --in-memory (use --no-shconf or a --file-prefix instead)".to_owned(),
            ));
        }
        for v in &self.vdevs {
            if v.split(',').next().unwrap_or("").trim().is_empty() {
                return Err(bad(format!("--vdev '{v}' has no device name")));
            }
        }
        self.args()
            .into_iter()
            .map(|a| {
                CString::new(a.clone())
                    .map_err(|_| bad(format!("EAL argument {a:?} contains a NUL byte")))
            })
            .collect()
    }

    /// Runs `rte_eal_init` with these arguments.
    ///
    /// Fails with a clear error, without calling DPDK, when EAL was already
    /// initialised (or tried) in this process: `rte_eal_init` succeeds only
    /// once per process. An EAL failure carries `rte_errno` and the last
    /// lines of the EAL log. The whole EAL log of the initialisation is also
    /// copied to standard error.
    pub fn init(&self) -> Result<Eal> {
        let args = self.validate()?;
        if INIT_CALLED.swap(true, Ordering::SeqCst) {
            return Err(Error::new(
                "rte_eal_init",
                errno::EALREADY,
                Some(
                    "EAL was already initialised (or tried) in this process; rte_eal_init \
                     can run only once per process, even after rte_eal_cleanup: run each \
                     EAL user in its own process, or clone the existing Eal handle"
                        .to_owned(),
                ),
            ));
        }
        // rte_eal_init may keep pointers into argv (and getopt permutes the
        // array): both the strings and the array live for the process.
        let args: &'static [CString] = Vec::leak(args);
        let argv: &'static mut [*mut c_char] = Vec::leak(
            args.iter()
                .map(|a| a.as_ptr().cast_mut())
                .chain(std::iter::once(std::ptr::null_mut()))
                .collect(),
        );
        let argc = c_int::try_from(args.len()).map_err(|_| {
            Error::new(
                "Eal::init",
                errno::EINVAL,
                Some("too many EAL arguments".into()),
            )
        })?;

        // SAFETY: single-threaded with respect to DPDK (INIT_CALLED admits
        // one caller, before any EAL thread exists); the shim swaps DPDK's
        // log stream for a memory buffer and back.
        let capturing = unsafe { sys::ffi_log_capture_begin() } == 0;
        // SAFETY: argc/argv describe NUL-terminated strings followed by a
        // NULL pointer, all leaked above so they outlive EAL; this is the
        // only call of rte_eal_init in the process (INIT_CALLED).
        let ret = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        let err = rte_errno_now();
        let log = if capturing {
            let mut buf = vec![0u8; LOG_TAIL];
            // SAFETY: buf is writable for buf.len() bytes; the shim writes at
            // most that many and restores DPDK's default log stream.
            let n = unsafe { sys::ffi_log_capture_end(buf.as_mut_ptr().cast(), buf.len()) };
            buf.truncate(n.min(LOG_TAIL));
            String::from_utf8_lossy(&buf).into_owned()
        } else {
            String::new()
        };
        eprint!("{log}");

        if ret < 0 {
            let mut e = Error::new("rte_eal_init", err, None)
                .with_detail(format!("arguments {:?}", self.args()));
            if let Some(tail) = log_tail(&log) {
                e = e.with_detail(format!("EAL said: {tail}"));
            }
            return Err(e);
        }

        // SAFETY: EAL is initialised; returns a plain integer.
        let main_lcore = unsafe { sys::rte_get_main_lcore() };
        let eal = Eal {
            inner: Arc::new(EalInner { main_lcore }),
        };
        // A vdev that fails to probe is only logged by EAL: check that every
        // ethdev vdev asked for exists.
        for v in &self.vdevs {
            let name = v.split(',').next().unwrap_or("").trim();
            if name.starts_with("net_") && crate::port::port_id_by_name(name).is_err() {
                let mut e = Error::new("rte_eal_init", errno::ENODEV, None).with_detail(format!(
                    "--vdev '{v}' did not create an ethdev port named '{name}' (unknown driver, or the driver refused its arguments)"
                ));
                if let Some(tail) = log_tail(&log) {
                    e = e.with_detail(format!("EAL said: {tail}"));
                }
                // Dropping the only handle runs rte_eal_cleanup.
                drop(eal);
                return Err(e);
            }
        }
        Ok(eal)
    }
}

/// `rte_errno` right after a call (before anything else can change it).
fn rte_errno_now() -> i32 {
    crate::error::rte_errno()
}

/// The last lines of an EAL log, joined for an error message.
fn log_tail(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return None;
    }
    let start = lines.len().saturating_sub(LOG_LINES_IN_ERROR);
    Some(lines[start..].join(" | "))
}

/// A handle on the initialised EAL. Cheap to clone; every DPDK object of
/// this crate holds one, so EAL stays up while any of them lives.
///
/// When the last handle is dropped on the main lcore, it waits for every
/// worker lcore to finish ([`crate::lcore::launch`]) and runs
/// `rte_eal_cleanup`. Dropped on any other thread, it leaves EAL as it is
/// (the process is then expected to exit).
#[derive(Debug, Clone)]
pub struct Eal {
    inner: Arc<EalInner>,
}

#[derive(Debug)]
struct EalInner {
    main_lcore: u32,
}

impl Drop for EalInner {
    fn drop(&mut self) {
        if crate::lcore::current() != Some(self.main_lcore) {
            return;
        }
        // SAFETY: EAL is initialised (an EalInner exists only after a
        // successful rte_eal_init) and we are on the main lcore; every
        // object that used EAL held a handle and is gone. Waiting for the
        // workers first means no launched function still runs.
        unsafe {
            sys::rte_eal_mp_wait_lcore();
            sys::rte_eal_cleanup();
        }
    }
}

impl Eal {
    /// A new argument builder.
    pub fn builder() -> EalBuilder {
        EalBuilder::default()
    }

    /// The main lcore (the thread that ran `rte_eal_init`).
    pub fn main_lcore(&self) -> u32 {
        self.inner.main_lcore
    }

    /// Number of enabled lcores, main included.
    pub fn lcore_count(&self) -> u32 {
        // SAFETY: EAL is initialised (self exists); reads a counter.
        unsafe { sys::rte_lcore_count() }
    }

    /// Number of available ethdev ports.
    pub fn port_count(&self) -> u16 {
        // SAFETY: EAL is initialised; reads the port table.
        unsafe { sys::rte_eth_dev_count_avail() }
    }

    /// True when EAL runs on hugepages.
    pub fn has_hugepages(&self) -> bool {
        // SAFETY: EAL is initialised; reads its configuration.
        unsafe { sys::rte_eal_has_hugepages() != 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_args() {
        let b = Eal::builder()
            .program("t")
            .cores("0-1")
            .no_huge()
            .no_shconf()
            .memory_mb(256)
            .no_pci()
            .no_telemetry()
            .file_prefix("p1")
            .vdev("net_null0")
            .vdev("net_ring0")
            .allow_pci("0000:00:01.0")
            .arg("--log-level=8");
        assert_eq!(
            b.args(),
            [
                "t",
                "-l",
                "0-1",
                "--no-huge",
                "--no-shconf",
                "-m",
                "256",
                "--no-pci",
                "--no-telemetry",
                "--file-prefix=p1",
                "--vdev=net_null0",
                "--vdev=net_ring0",
                "-a",
                "0000:00:01.0",
                "--log-level=8"
            ]
        );
    }

    // These fail before rte_eal_init is called, so they may share the unit
    // test process (which never initialises EAL).
    #[test]
    fn test_rejected_before_eal() {
        let e = Eal::builder().no_huge().in_memory().init().unwrap_err();
        assert_eq!(e.errno(), errno::EINVAL);
        assert!(e.to_string().contains("--in-memory"), "{e}");
        let e = Eal::builder().vdev(",x=1").init().unwrap_err();
        assert!(e.to_string().contains("no device name"), "{e}");
        let e = Eal::builder().arg("a\0b").init().unwrap_err();
        assert!(e.to_string().contains("NUL"), "{e}");
        assert!(!INIT_CALLED.load(Ordering::SeqCst));
    }

    #[test]
    fn test_log_tail() {
        assert_eq!(log_tail(""), None);
        let log = (0..20).map(|i| format!("l{i}\n")).collect::<String>();
        assert_eq!(
            log_tail(&log).unwrap(),
            "l12 | l13 | l14 | l15 | l16 | l17 | l18 | l19"
        );
    }
}

//! Errors of the binding: which DPDK function failed, the `rte_errno` (or
//! negative return) value, DPDK's own text for it, and what we know besides.

use std::ffi::CStr;
use std::fmt;

use crate::sys;

/// Linux errno values the wrappers produce or test for (x86_64 Linux, the
/// only target this binding is built for).
pub mod errno {
    /// Operation not permitted.
    pub const EPERM: i32 = 1;
    /// No such file or directory.
    pub const ENOENT: i32 = 2;
    /// Out of memory.
    pub const ENOMEM: i32 = 12;
    /// Device or resource busy.
    pub const EBUSY: i32 = 16;
    /// File exists.
    pub const EEXIST: i32 = 17;
    /// No such device.
    pub const ENODEV: i32 = 19;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// No space left on device.
    pub const ENOSPC: i32 = 28;
    /// Result too large.
    pub const ERANGE: i32 = 34;
    /// File name too long.
    pub const ENAMETOOLONG: i32 = 36;
    /// Operation not supported.
    pub const ENOTSUP: i32 = 95;
    /// Operation already in progress.
    pub const EALREADY: i32 = 114;
}

/// A failed DPDK call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    func: &'static str,
    errno: i32,
    message: String,
    detail: Option<String>,
}

/// Result of the binding's fallible calls.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error from `func` with the given (positive) errno value and
    /// optional extra explanation.
    pub fn new(func: &'static str, errno: i32, detail: Option<String>) -> Self {
        Self {
            func,
            errno,
            message: strerror(errno),
            detail,
        }
    }

    /// An error from `func`, reading the calling thread's `rte_errno`.
    pub fn from_rte_errno(func: &'static str) -> Self {
        Self::new(func, rte_errno(), None)
    }

    /// An error from `func` that returned `ret` (DPDK's `-errno` convention).
    pub fn from_ret(func: &'static str, ret: i32) -> Self {
        Self::new(func, ret.saturating_neg(), None)
    }

    /// The same error with an explanation added.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        let d = detail.into();
        self.detail = Some(match self.detail.take() {
            Some(old) => format!("{d}; {old}"),
            None => d,
        });
        self
    }

    /// The DPDK function (or wrapper step) that failed.
    pub fn func(&self) -> &'static str {
        self.func
    }

    /// The errno value (`rte_errno`, or the negated return value).
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// DPDK's text for [`Error::errno`] (`rte_strerror`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What the wrapper knows besides the errno: arguments, the EAL log.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed: {} (errno {})",
            self.func, self.message, self.errno
        )?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The calling thread's `rte_errno`.
pub fn rte_errno() -> i32 {
    // SAFETY: reads a thread-local integer; no precondition.
    unsafe { sys::ffi_rte_errno() }
}

/// DPDK's text for an errno value (`rte_strerror`), copied.
pub fn strerror(errno: i32) -> String {
    if errno == 0 {
        // rte_strerror(0) says "Success", which misleads on a failure path
        // (EAL leaves rte_errno at 0 on some of them).
        return "unknown error (rte_errno was not set)".to_owned();
    }
    // SAFETY: rte_strerror accepts any value and returns a pointer to a
    // static string or to a per-thread buffer, valid until the next call on
    // this thread; it is copied before returning. It works before EAL init.
    unsafe {
        let p = sys::rte_strerror(errno);
        if p.is_null() {
            return format!("errno {errno}");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_display() {
        let e = Error::from_ret("rte_eth_dev_start", -errno::EINVAL).with_detail("port 3");
        assert_eq!(e.errno(), errno::EINVAL);
        assert_eq!(e.func(), "rte_eth_dev_start");
        let s = e.to_string();
        assert!(
            s.starts_with("rte_eth_dev_start failed: Invalid argument (errno 22): port 3"),
            "{s}"
        );
        let e = Error::new("rte_eal_init", 0, None);
        assert!(e.to_string().contains("not set"));
        // DPDK's own codes have DPDK's own texts.
        let e = Error::new("x", sys::E_RTE_NO_CONFIG as i32, None);
        assert!(!e.message().is_empty());
    }
}

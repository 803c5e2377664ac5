//! Lcores: which exist, which one we are on, and running a closure on a
//! worker lcore (`rte_eal_remote_launch`).

use std::any::Any;
use std::ffi::{c_int, c_void};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::eal::Eal;
use crate::error::{errno, Error, Result};
use crate::sys;

/// The lcore id of the calling thread, or `None` on a thread EAL does not
/// know (`LCORE_ID_ANY`).
#[inline]
pub fn current() -> Option<u32> {
    // SAFETY: reads a thread-local variable; valid on any thread.
    let id = unsafe { sys::ffi_rte_lcore_id() };
    (id != sys::LCORE_ID_ANY).then_some(id)
}

/// The enabled worker lcores (every enabled lcore but the main one), in
/// increasing order.
pub fn workers(_eal: &Eal) -> Vec<u32> {
    let mut out = Vec::new();
    let mut i = u32::MAX; // rte_get_next_lcore(-1, ...) starts at 0
    loop {
        // SAFETY: EAL is initialised (an Eal handle exists); the call only
        // reads the lcore configuration. skip_main = 1, wrap = 0.
        let next = unsafe { sys::rte_get_next_lcore(i, 1, 0) };
        if next >= sys::RTE_MAX_LCORE {
            return out;
        }
        out.push(next);
        i = next;
    }
}

/// NUMA socket of an lcore (0 on a machine without NUMA).
pub fn socket_of(_eal: &Eal, lcore: u32) -> u32 {
    // SAFETY: EAL is initialised; out-of-range ids are checked by DPDK,
    // which returns 0 for them (this is only a placement hint).
    unsafe { sys::rte_lcore_to_socket_id(lcore) }
}

/// What the worker writes and the launcher reads back.
struct Slot<R> {
    f: Option<Box<dyn FnOnce() -> R + Send>>,
    out: Option<std::thread::Result<R>>,
}

/// Runs on the worker lcore.
extern "C" fn trampoline<R>(arg: *mut c_void) -> c_int {
    // SAFETY: arg is the Box<Slot<R>> leaked by `launch`; nobody else
    // touches it until `rte_eal_wait_lcore` returns on the main lcore,
    // which happens after this function returns (DPDK orders the two with
    // an acquire/release pair on the lcore state).
    let slot = unsafe { &mut *arg.cast::<Slot<R>>() };
    if let Some(f) = slot.f.take() {
        // A panic must not unwind into C: catch it and hand it to `join`.
        slot.out = Some(catch_unwind(AssertUnwindSafe(f)));
    }
    0
}

/// Runs `f` on worker lcore `lcore` and returns a handle to its result.
///
/// Must be called on the main lcore, for an enabled worker lcore that is
/// not running anything. The closure is boxed once (this is not a packet
/// path call).
pub fn launch<F, R>(eal: &Eal, lcore: u32, f: F) -> Result<LcoreJoin<R>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let err = |e: i32, msg: String| Error::new("rte_eal_remote_launch", e, Some(msg));
    if current() != Some(eal.main_lcore()) {
        return Err(err(
            errno::EPERM,
            "only the main lcore can launch work on other lcores".to_owned(),
        ));
    }
    if lcore == eal.main_lcore() || !workers(eal).contains(&lcore) {
        return Err(err(
            errno::EINVAL,
            format!(
                "lcore {lcore} is not an enabled worker lcore (workers: {:?})",
                workers(eal)
            ),
        ));
    }
    let slot: *mut Slot<R> = Box::into_raw(Box::new(Slot {
        f: Some(Box::new(f)),
        out: None,
    }));
    // SAFETY: EAL is initialised, we are on the main lcore and `lcore` is
    // an enabled worker. The trampoline matches lcore_function_t; the slot
    // stays allocated until the handle has waited for the lcore.
    let ret = unsafe { sys::rte_eal_remote_launch(Some(trampoline::<R>), slot.cast(), lcore) };
    if ret != 0 {
        // SAFETY: the launch failed, so the worker never saw the slot: we
        // still own it.
        drop(unsafe { Box::from_raw(slot) });
        return Err(Error::from_ret("rte_eal_remote_launch", ret)
            .with_detail(format!("lcore {lcore} (busy with an earlier launch?)")));
    }
    Ok(LcoreJoin {
        lcore,
        slot,
        _eal: eal.clone(),
    })
}

/// The result of a closure running on a worker lcore.
///
/// Dropping the handle without [`LcoreJoin::join`] still waits for the
/// lcore (like a scoped thread), so the closure never outlives it. The
/// handle stays on the main lcore (it is not `Send`).
pub struct LcoreJoin<R> {
    lcore: u32,
    slot: *mut Slot<R>,
    _eal: Eal,
}

impl<R> fmt::Debug for LcoreJoin<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LcoreJoin")
            .field("lcore", &self.lcore)
            .finish_non_exhaustive()
    }
}

impl<R> LcoreJoin<R> {
    /// The lcore the closure runs on.
    pub fn lcore(&self) -> u32 {
        self.lcore
    }

    /// True while the closure (or a later launch on the same lcore) runs.
    pub fn is_running(&self) -> bool {
        // SAFETY: EAL is initialised (the handle holds it); reads a state.
        unsafe { sys::rte_eal_get_lcore_state(self.lcore) == sys::RUNNING }
    }

    /// Waits for the closure and returns its value, or the panic it raised
    /// (as `std::thread::JoinHandle::join` does).
    pub fn join(mut self) -> std::thread::Result<R> {
        self.wait_and_take()
            .unwrap_or_else(|| Err(Box::new("lcore function did not run") as Box<dyn Any + Send>))
    }

    fn wait_and_take(&mut self) -> Option<std::thread::Result<R>> {
        if self.slot.is_null() {
            return None;
        }
        // SAFETY: we are on the main lcore (the handle is not Send and was
        // made there); waiting makes the worker's writes to the slot
        // visible.
        unsafe { sys::rte_eal_wait_lcore(self.lcore) };
        // SAFETY: the worker is done with the slot (waited above); we own the
        // box made by `launch` and take it back exactly once (null after).
        let slot = unsafe { Box::from_raw(self.slot) };
        self.slot = std::ptr::null_mut();
        slot.out
    }
}

impl<R> Drop for LcoreJoin<R> {
    fn drop(&mut self) {
        drop(self.wait_and_take());
    }
}

/// The time-stamp counter.
pub mod tsc {
    use crate::sys;

    /// Reads the time-stamp counter (`rte_rdtsc`).
    #[inline]
    pub fn now() -> u64 {
        // SAFETY: executes rdtsc; no memory access.
        unsafe { sys::ffi_rte_rdtsc() }
    }

    /// TSC ticks per second as EAL measured it at start-up
    /// (`rte_get_tsc_hz`; 0 before EAL init).
    pub fn hz() -> u64 {
        // SAFETY: reads a global set by EAL init.
        unsafe { sys::ffi_rte_get_tsc_hz() }
    }

    /// Converts a TSC tick count to nanoseconds (0 if the frequency is
    /// unknown).
    pub fn to_nanos(ticks: u64) -> u64 {
        let hz = hz();
        if hz == 0 {
            return 0;
        }
        let ns = u128::from(ticks) * 1_000_000_000 / u128::from(hz);
        u64::try_from(ns).unwrap_or(u64::MAX)
    }
}

//! The worker loop: what runs on each worker lcore.
//!
//! Per round: receive a burst on each of its (port, queue) pairs, run the
//! pipeline on it ([`dataplane::pipeline::Worker::process_burst`]), and act
//! on each packet: `Tx` goes into a per-port transmit batch, `Punt` into
//! the ring to the main lcore (with its [`Meta`] in the headroom), `Drop`
//! and `Consumed` are freed in bulk. Then frames the main lcore handed back
//! (ARP/ND answers, packets released by resolution) join the transmit
//! batches, and every batch goes out with one `tx_burst` (what the device
//! refuses after a few tries is freed and counted). An empty round feeds
//! the idle policy.
//!
//! No allocation, lock or system call per packet; the only ones per round
//! are the idle policy's sleeps when there is nothing to do.
//!
//! [`run_worker`] is public so that benchmarks (the `perf` crate) can drive
//! the same loop over their own ports.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dataplane::buffer::PacketBuf;
use dataplane::pipeline::{Action, Punt, Worker, ICMP_ERROR_BURST};
use dataplane::redirect::RedirectLimiter;
use dataplane::BURST_MAX;
use ffi::lcore::tsc;
use ffi::{Mbuf, MbufBurst, Mempool, RingConsumer, RingProducer, RxQueue, TxQueue};

use super::idle::{Backoff, IdlePolicy};
use super::meta::{self, Meta};
use super::stats::{StatsMirror, WorkerStats};

/// Attempts at sending a batch before the rest is dropped.
const TX_TRIES: usize = 4;
/// Rounds between copies of the counters into the mirror.
const MIRROR_EVERY: u64 = 256;

/// Everything one worker lcore owns.
#[derive(Debug)]
pub struct WorkerCtx {
    /// The pipeline, with its table readers and port facts.
    pub worker: Worker,
    /// Receive queues, with the pipeline's index of their port.
    pub rx: Vec<(u16, RxQueue)>,
    /// Transmit queues by the pipeline's port index (`None`: the worker
    /// cannot send there; such packets are counted as `tx_bad_port`).
    pub tx: Vec<Option<TxQueue>>,
    /// Ring of punts to the main lcore (`None`: punts are freed and counted
    /// as `punt_ring_full`, for benchmarks without a main-lcore service).
    pub punt: Option<RingProducer>,
    /// Ring of frames from the main lcore to send.
    pub inject: Option<RingConsumer>,
    /// What to do when idle.
    pub idle: IdlePolicy,
    /// Where the counters are copied for the main lcore.
    pub mirror: Option<Arc<StatsMirror>>,
    /// Mbufs for redirect triggers and fragments (`None`: redirect
    /// candidates are counted as limited, packets to fragment as
    /// `fragment_failed`, and dropped).
    pub pool: Option<Mempool>,
}

/// Redirect triggers per source and destination: one a second at most
/// (the control plane's `ip nhrp redirect timeout` applies on top).
const REDIRECT_SLOTS: usize = 4096;

/// ICMP errors a worker sends per second at most (with a burst of
/// [`ICMP_ERROR_BURST`]), as Linux's `icmp_msgs_per_sec` default.
const ICMP_ERRORS_PER_SEC: u64 = 1000;

/// Runs the loop until `stop` is set, then returns the counters. The
/// queue handles are dropped on return (so the ports can stop).
pub fn run_worker(ctx: WorkerCtx, stop: &AtomicBool) -> WorkerStats {
    let WorkerCtx {
        mut worker,
        mut rx,
        mut tx,
        mut punt,
        mut inject,
        idle,
        mirror,
        pool,
    } = ctx;
    let hz = tsc::hz();
    let mut limiter = RedirectLimiter::new(REDIRECT_SLOTS, if hz == 0 { 1 << 31 } else { hz });
    let mut s = WorkerStats::default();
    let mut burst = MbufBurst::<BURST_MAX>::new();
    let mut actions = [Action::Consumed; BURST_MAX];
    let mut batches: Vec<MbufBurst<BURST_MAX>> = (0..tx.len()).map(|_| MbufBurst::new()).collect();
    let mut punts = MbufBurst::<BURST_MAX>::new();
    let mut trash = MbufBurst::<BURST_MAX>::new();
    // Packets to split into fragments, with their tunnel and MTU.
    let mut to_split = MbufBurst::<BURST_MAX>::new();
    let mut split_at = [(0u32, 0u16); BURST_MAX];
    let mut frags = MbufBurst::<BURST_MAX>::new();
    let mut frag_actions = [Action::Consumed; BURST_MAX];
    let mut backoff = Backoff::new(idle);
    let icmp_period = (hz / ICMP_ERRORS_PER_SEC).max(1);
    // Nanoseconds per TSC cycle, in 32.32 fixed point.
    let ns_per_cycle_q32 = if hz == 0 {
        0
    } else {
        ((1_000_000_000u128 << 32) / u128::from(hz)) as u64
    };
    let mut icmp_last = tsc::now();

    while !stop.load(Ordering::Relaxed) {
        let mut work = 0;
        for (port, q) in rx.iter_mut() {
            let n = q.rx_burst(&mut burst);
            if n == 0 {
                continue;
            }
            work += n;
            let received = tsc::now();
            let rx_port = *port;
            worker.process_burst(rx_port, &mut burst[..], &mut actions);
            for (m, a) in burst.drain().zip(actions.iter()) {
                if let Some(f) = dispatch(
                    m,
                    *a,
                    rx_port,
                    punt.is_some(),
                    &mut batches,
                    &mut tx,
                    &mut punts,
                    &mut trash,
                    &mut s,
                ) {
                    // Split after the burst (one per packet at most).
                    if to_split.push(f.0).is_err() {
                        s.fragment_failed += 1;
                    } else {
                        split_at[to_split.len() - 1] = (f.1, f.2);
                    }
                }
            }
            for (i, m) in to_split.drain().enumerate() {
                let (tunnel, mtu) = split_at[i];
                split(m, mtu, pool.as_ref(), &mut frags, &mut s);
                let k = frags.len();
                if k == 0 {
                    continue;
                }
                worker.encapsulate(tunnel, &mut frags[..], &mut frag_actions);
                for (f, a) in frags.drain().zip(frag_actions[..k].iter()) {
                    // Encapsulation gives Tx, a resolution punt or a drop.
                    let _ = dispatch(
                        f,
                        *a,
                        rx_port,
                        punt.is_some(),
                        &mut batches,
                        &mut tx,
                        &mut punts,
                        &mut trash,
                        &mut s,
                    );
                }
            }
            // Frees in bulk. (With fragments the trash can fill up: what did
            // not fit was freed on the spot by `free`.)
            trash.clear();
            if !worker.redirects.is_empty() {
                let now = tsc::now();
                for c in worker.redirects.drain() {
                    if !limiter.check(c.src, c.dst, now) || punt.is_none() || punts.is_full() {
                        s.redirect_limited += 1;
                        continue;
                    }
                    let Some(mut m) = pool.as_ref().and_then(Mempool::alloc) else {
                        s.redirect_limited += 1;
                        continue;
                    };
                    let p = Punt::Redirect {
                        ingress: c.ingress,
                        egress: c.egress,
                    };
                    if m.set_data(&c.quote[..usize::from(c.len)])
                        && meta::push(&mut m, Meta::Punt { rx_port, punt: p })
                    {
                        s.redirect_sent += 1;
                        let _ = punts.push(m);
                    } else {
                        s.redirect_limited += 1;
                    }
                }
            }
            if let Some(r) = punt.as_mut() {
                if !punts.is_empty() {
                    s.punt_sent += r.enqueue(&mut punts) as u64;
                    s.punt_ring_full += punts.len() as u64;
                    punts.clear();
                }
            }
            flush_all(&mut batches, &mut tx, &mut s);
            let cycles = tsc::now().saturating_sub(received);
            s.latency.record(to_ns(cycles, ns_per_cycle_q32), n as u64);
        }
        if let Some(r) = inject.as_mut() {
            let n = r.dequeue(&mut burst);
            work += n;
            for mut m in burst.drain() {
                match meta::pop(&mut m) {
                    Some(Meta::Tx { port }) if usize::from(port) < batches.len() => {
                        s.injected += 1;
                        push_or_flush(
                            &mut batches[usize::from(port)],
                            &mut tx[usize::from(port)],
                            m,
                            &mut s,
                        );
                    }
                    _ => s.injected_bad += 1,
                }
            }
            flush_all(&mut batches, &mut tx, &mut s);
        }

        // Refill the ICMP error budget with the time that passed (only
        // read the clock when it is not full).
        if worker.icmp_budget() < ICMP_ERROR_BURST {
            let now = tsc::now();
            let tokens = now.saturating_sub(icmp_last) / icmp_period;
            if tokens > 0 {
                worker.refill_icmp_errors(
                    u32::try_from(tokens).unwrap_or(u32::MAX),
                    ICMP_ERROR_BURST,
                );
                icmp_last = icmp_last.saturating_add(tokens * icmp_period);
            }
        }
        s.polls += 1;
        let action = backoff.after_poll(work);
        if work == 0 {
            s.idle_polls += 1;
        }
        let sleeping = matches!(action, super::idle::IdleAction::Sleep(_));
        if let Some(m) = &mirror {
            if sleeping || s.polls % MIRROR_EVERY == 0 {
                s.pipeline = worker.counters.clone();
                m.store(&s);
            }
        }
        if Backoff::idle(action) {
            s.sleeps += 1;
        }
    }
    s.pipeline = worker.counters.clone();
    if let Some(m) = &mirror {
        m.store(&s);
    }
    s
}

/// Acts on one packet's pipeline action: `Tx` into its port's batch,
/// `Punt` into the punt burst (with its metadata), `Drop` and `Consumed`
/// into the trash. A `Fragment` packet is handed back with its tunnel and
/// MTU, for [`split`].
///
/// Always inlined: as a call (nine arguments per packet) it cost one
/// worker about 8 cycles per packet at 64 B (`perf dpdk`, fwd 20.5 against
/// 21.9 Mpps).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn dispatch(
    mut m: Mbuf,
    a: Action,
    rx_port: u16,
    can_punt: bool,
    batches: &mut [MbufBurst<BURST_MAX>],
    tx: &mut [Option<TxQueue>],
    punts: &mut MbufBurst<BURST_MAX>,
    trash: &mut MbufBurst<BURST_MAX>,
    s: &mut WorkerStats,
) -> Option<(Mbuf, u32, u16)> {
    match a {
        Action::Tx { port } => {
            if let Some(b) = batches.get_mut(usize::from(port)) {
                push_or_flush(b, &mut tx[usize::from(port)], m, s);
            } else {
                s.tx_bad_port += 1;
                free(trash, m);
            }
        }
        Action::Punt(p) => {
            if !can_punt {
                s.punt_ring_full += 1;
                free(trash, m);
            } else if !meta::push(&mut m, Meta::Punt { rx_port, punt: p }) {
                s.punt_no_room += 1;
                free(trash, m);
            } else if punts.push(m).is_err() {
                // Only fragments can add punts past one burst's worth.
                s.punt_ring_full += 1;
            }
        }
        Action::Fragment { tunnel, mtu } => return Some((m, tunnel, mtu)),
        Action::Consumed | Action::Drop(_) => {
            // Counted by the pipeline.
            free(trash, m);
        }
    }
    None
}

/// Frees `m` with the next bulk free, or now if the trash is full.
#[inline]
fn free(trash: &mut MbufBurst<BURST_MAX>, m: Mbuf) {
    // A full trash hands the mbuf back, which is freed when dropped here.
    let _ = trash.push(m);
}

/// Splits the IPv4 packet in `m` into fragments of at most `mtu` bytes in
/// fresh mbufs from `pool` (RFC 791), into `out`; `m` is freed. Counted in
/// `fragments`; a packet that cannot be split whole (no pool, no mbuf, more
/// than a burst of fragments) goes nowhere and is counted in
/// `fragment_failed`.
fn split(
    m: Mbuf,
    mtu: u16,
    pool: Option<&Mempool>,
    out: &mut MbufBurst<BURST_MAX>,
    s: &mut WorkerStats,
) {
    out.clear();
    let ip = m.data();
    let hl = dataplane::wire::ipv4::HEADER_LEN;
    let (Some(pool), Some(chunk)) = (
        pool,
        dataplane::wire::ipv4::fragment_payload(usize::from(mtu), hl),
    ) else {
        s.fragment_failed += 1;
        return;
    };
    let payload = ip.len().saturating_sub(hl);
    let mut start = 0;
    while start < payload {
        let len = chunk.min(payload - start);
        let Some(mut f) = pool.alloc() else { break };
        if !f.append(hl + len)
            || dataplane::wire::ipv4::write_fragment(ip, start, len, f.data_mut()).is_none()
            || out.push(f).is_err()
        {
            break;
        }
        start += len;
    }
    if start < payload {
        out.clear();
        s.fragment_failed += 1;
        return;
    }
    s.fragments += out.len() as u64;
}

/// TSC cycles to nanoseconds with a 32.32 fixed-point factor.
#[inline]
fn to_ns(cycles: u64, ns_per_cycle_q32: u64) -> u64 {
    ((u128::from(cycles) * u128::from(ns_per_cycle_q32)) >> 32) as u64
}

/// Adds `m` to a port's batch, sending the batch first if it is full.
#[inline]
fn push_or_flush(
    b: &mut MbufBurst<BURST_MAX>,
    q: &mut Option<TxQueue>,
    m: Mbuf,
    s: &mut WorkerStats,
) {
    if b.is_full() {
        flush(b, q, s);
    }
    if b.push(m).is_err() {
        // Unreachable after a flush (which empties the batch); counted
        // rather than trusted.
        s.tx_full += 1;
    }
}

#[inline]
fn flush_all(
    batches: &mut [MbufBurst<BURST_MAX>],
    tx: &mut [Option<TxQueue>],
    s: &mut WorkerStats,
) {
    for (b, q) in batches.iter_mut().zip(tx.iter_mut()) {
        if !b.is_empty() {
            flush(b, q, s);
        }
    }
}

/// Sends a batch; what the device refuses after [`TX_TRIES`] is freed.
#[inline]
fn flush(b: &mut MbufBurst<BURST_MAX>, q: &mut Option<TxQueue>, s: &mut WorkerStats) {
    match q {
        Some(q) => {
            for _ in 0..TX_TRIES {
                s.tx_sent += q.tx_burst(b) as u64;
                if b.is_empty() {
                    return;
                }
            }
            s.tx_full += b.len() as u64;
        }
        None => s.tx_bad_port += b.len() as u64,
    }
    b.clear();
}

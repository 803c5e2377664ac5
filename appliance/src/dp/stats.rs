//! Counters of the process: per worker (the pipeline's
//! [`WorkerCounters`] plus what the loop around it counts), per main lcore,
//! and their text form.
//!
//! A worker owns its counters as plain integers and copies them into a
//! [`StatsMirror`] (relaxed atomic stores) every few hundred polls and
//! before it sleeps; the main lcore reads the mirrors for periodic output.
//! The final numbers come from the workers' return values, exactly.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use dataplane::counters::{DropReason, LatencyHistogram, WorkerCounters};

/// What a worker loop counts.
#[derive(Debug, Clone, Default)]
pub struct WorkerStats {
    /// The pipeline's counters: every received packet ends in exactly one
    /// of tx, punted, consumed or a drop reason.
    pub pipeline: WorkerCounters,
    /// Polling rounds (every queue polled once).
    pub polls: u64,
    /// Rounds that found nothing.
    pub idle_polls: u64,
    /// Sleeps of the adaptive idle policy.
    pub sleeps: u64,
    /// Frames the device took.
    pub tx_sent: u64,
    /// Frames the device refused (queue full after retries): freed.
    pub tx_full: u64,
    /// Frames for a port the worker has no transmit queue on: freed.
    pub tx_bad_port: u64,
    /// Punts handed to the main lcore.
    pub punt_sent: u64,
    /// Punts freed because the ring to the main lcore was full.
    pub punt_ring_full: u64,
    /// Punts freed for want of headroom for their metadata.
    pub punt_no_room: u64,
    /// Frames from the main lcore taken for transmission.
    pub injected: u64,
    /// Frames from the main lcore without valid metadata: freed.
    pub injected_bad: u64,
    /// Redirect triggers handed to the main lcore.
    pub redirect_sent: u64,
    /// Redirect candidates not reported (the pair was reported within the
    /// last second, or no mbuf or ring room).
    pub redirect_limited: u64,
    /// Fragments made of IPv4 packets too large for their tunnel.
    pub fragments: u64,
    /// Packets to fragment dropped (no mbuf for a fragment, or more
    /// fragments than a burst).
    pub fragment_failed: u64,
    /// Time from a burst's receive to the end of its transmission, once per
    /// packet of the burst.
    pub latency: LatencyHistogram,
}

/// The pipeline's counters, then the loop's.
const PIPE: usize = WorkerCounters::VALUES;
const LOOP: usize = 15;
const FIELDS: usize = PIPE + LOOP + LatencyHistogram::VALUES;

impl PartialEq for WorkerStats {
    fn eq(&self, other: &Self) -> bool {
        self.to_array() == other.to_array()
    }
}

impl Eq for WorkerStats {}

impl WorkerStats {
    fn to_array(&self) -> [u64; FIELDS] {
        let mut a = [0u64; FIELDS];
        a[..PIPE].copy_from_slice(&self.pipeline.values());
        let tail = [
            self.polls,
            self.idle_polls,
            self.sleeps,
            self.tx_sent,
            self.tx_full,
            self.tx_bad_port,
            self.punt_sent,
            self.punt_ring_full,
            self.punt_no_room,
            self.injected,
            self.injected_bad,
            self.redirect_sent,
            self.redirect_limited,
            self.fragments,
            self.fragment_failed,
        ];
        a[PIPE..PIPE + LOOP].copy_from_slice(&tail);
        a[PIPE + LOOP..].copy_from_slice(&self.latency.values());
        a
    }

    fn from_array(a: &[u64; FIELDS]) -> Self {
        let t = &a[PIPE..PIPE + LOOP];
        Self {
            // The slice has exactly VALUES elements: from_values accepts it.
            pipeline: WorkerCounters::from_values(&a[..PIPE]).unwrap_or_default(),
            polls: t[0],
            idle_polls: t[1],
            sleeps: t[2],
            tx_sent: t[3],
            tx_full: t[4],
            tx_bad_port: t[5],
            punt_sent: t[6],
            punt_ring_full: t[7],
            punt_no_room: t[8],
            injected: t[9],
            injected_bad: t[10],
            redirect_sent: t[11],
            redirect_limited: t[12],
            fragments: t[13],
            fragment_failed: t[14],
            // Exactly VALUES elements: from_values accepts them.
            latency: LatencyHistogram::from_values(&a[PIPE + LOOP..]).unwrap_or_default(),
        }
    }

    /// Adds `other` into `self`.
    pub fn accumulate(&mut self, other: &Self) {
        let mut a = self.to_array();
        for (x, y) in a.iter_mut().zip(other.to_array()) {
            *x += y;
        }
        *self = Self::from_array(&a);
    }

    /// Packets received and not accounted for by an outcome (always 0: a
    /// check that every packet is counted).
    pub fn unaccounted(&self) -> i128 {
        let c = &self.pipeline;
        i128::from(c.rx_packets)
            - i128::from(c.tx_packets)
            - i128::from(c.punted)
            - i128::from(c.consumed)
            - i128::from(c.fragmented)
            - i128::from(c.total_drops())
    }
}

/// A worker's counters as the main lcore sees them while it runs.
#[derive(Debug)]
pub struct StatsMirror {
    cells: [AtomicU64; FIELDS],
}

impl Default for StatsMirror {
    fn default() -> Self {
        Self {
            cells: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl StatsMirror {
    /// Copies the worker's counters (each field atomically; the set as a
    /// whole may mix two instants, which periodic output tolerates).
    pub fn store(&self, s: &WorkerStats) {
        for (c, v) in self.cells.iter().zip(s.to_array()) {
            c.store(v, Ordering::Relaxed);
        }
    }

    /// The last copy.
    pub fn load(&self) -> WorkerStats {
        let a: [u64; FIELDS] = std::array::from_fn(|i| self.cells[i].load(Ordering::Relaxed));
        WorkerStats::from_array(&a)
    }
}

/// What the main lcore counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MainStats {
    /// Punts received from workers.
    pub punts: u64,
    /// Punts without valid metadata: freed.
    pub punts_bad: u64,
    /// ARP frames handled.
    pub arp: u64,
    /// ND frames handled.
    pub nd: u64,
    /// Packets handed to neighbour resolution.
    pub resolve: u64,
    /// IKE packets dropped: no control plane yet.
    pub ike_dropped: u64,
    /// NHRP packets dropped: no control plane yet.
    pub nhrp_dropped: u64,
    /// IKE packets handed to the control plane.
    pub ike_punted: u64,
    /// NHRP packets handed to the control plane.
    pub nhrp_punted: u64,
    /// Redirect triggers handed to the control plane.
    pub redirects: u64,
    /// Redirect triggers dropped: no control plane, or its ring full.
    pub redirects_dropped: u64,
    /// Packets the control plane injected and that were sent (or held
    /// for neighbour resolution).
    pub injected: u64,
    /// Injected packets dropped: no route, no tunnel or SA, bad packet,
    /// no mbuf.
    pub inject_dropped: u64,
    /// Frames queued for a worker to send (ARP/ND and released packets).
    pub tx_queued: u64,
    /// Frames dropped because the ring to the worker was full.
    pub tx_ring_full: u64,
    /// Frames dropped for want of an mbuf or of headroom.
    pub tx_no_mbuf: u64,
    /// Held packets dropped by neighbour resolution, by cause.
    pub held_unresolved: u64,
    /// See [`MainStats::held_unresolved`].
    pub held_queue_full: u64,
    /// See [`MainStats::held_unresolved`].
    pub held_table_full: u64,
    /// See [`MainStats::held_unresolved`].
    pub held_no_source: u64,
    /// Packets to resolve dropped because [`super::service::HELD_MAX`]
    /// packets were already held.
    pub held_budget_full: u64,
    /// Host routes installed from resolved neighbours.
    pub routes_installed: u64,
    /// Host routes removed for lost neighbours.
    pub routes_removed: u64,
}

/// A port's device counters, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortLine {
    /// Interface name.
    pub name: String,
    /// Device name.
    pub device: String,
    /// Device counters, or why they are missing.
    pub stats: Result<ffi::PortStats, String>,
}

fn kv(out: &mut String, pairs: &[(&str, u64)]) {
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{k}={v}");
    }
}

/// The counters of one worker (or of their sum) as `key=value` text.
pub fn worker_line(s: &WorkerStats) -> String {
    let mut out = String::new();
    kv(&mut out, &worker_pairs(s));
    out
}

/// The counters of one worker (or of their sum), named.
pub fn worker_pairs(s: &WorkerStats) -> Vec<(&'static str, u64)> {
    let c = &s.pipeline;
    vec![
        ("rx_packets", c.rx_packets),
        ("rx_bytes", c.rx_bytes),
        ("tx_packets", c.tx_packets),
        ("tx_bytes", c.tx_bytes),
        ("esp_decrypted", c.esp_decrypted),
        ("esp_encrypted", c.esp_encrypted),
        ("punted", c.punted),
        ("consumed", c.consumed),
        ("echo_replies", c.echo_replies),
        ("icmp_errors", c.icmp_errors),
        ("icmp_errors_limited", c.icmp_errors_limited),
        ("dropped", c.total_drops()),
        ("tx_sent", s.tx_sent),
        ("tx_full", s.tx_full),
        ("tx_bad_port", s.tx_bad_port),
        ("punt_sent", s.punt_sent),
        ("punt_ring_full", s.punt_ring_full),
        ("punt_no_room", s.punt_no_room),
        ("injected", s.injected),
        ("injected_bad", s.injected_bad),
        ("redirect_sent", s.redirect_sent),
        ("redirect_limited", s.redirect_limited),
        ("fragmented", c.fragmented),
        ("fragments", s.fragments),
        ("fragment_failed", s.fragment_failed),
        ("polls", s.polls),
        ("idle_polls", s.idle_polls),
        ("sleeps", s.sleeps),
    ]
}

/// The non-zero drop counters as `drop.reason=count` text (empty if none).
pub fn drops_line(c: &WorkerCounters) -> String {
    let mut out = String::new();
    for r in DropReason::ALL {
        let n = c.drops_for(r);
        if n > 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            let _ = write!(out, "drop.{}={n}", r.name());
        }
    }
    out
}

/// The main lcore's counters and the neighbour table's.
pub fn main_line(m: &MainStats, n: &dataplane::neighbor::Counters) -> String {
    let mut out = String::new();
    kv(&mut out, &main_pairs(m, n));
    out
}

/// The main lcore's counters and the neighbour table's, named.
pub fn main_pairs(m: &MainStats, n: &dataplane::neighbor::Counters) -> Vec<(&'static str, u64)> {
    vec![
        ("punts", m.punts),
        ("punts_bad", m.punts_bad),
        ("arp", m.arp),
        ("nd", m.nd),
        ("resolve", m.resolve),
        ("ike_dropped", m.ike_dropped),
        ("nhrp_dropped", m.nhrp_dropped),
        ("ike_punted", m.ike_punted),
        ("nhrp_punted", m.nhrp_punted),
        ("redirects", m.redirects),
        ("redirects_dropped", m.redirects_dropped),
        ("injected", m.injected),
        ("inject_dropped", m.inject_dropped),
        ("tx_queued", m.tx_queued),
        ("tx_ring_full", m.tx_ring_full),
        ("tx_no_mbuf", m.tx_no_mbuf),
        ("held_unresolved", m.held_unresolved),
        ("held_queue_full", m.held_queue_full),
        ("held_table_full", m.held_table_full),
        ("held_no_source", m.held_no_source),
        ("held_budget_full", m.held_budget_full),
        ("routes_installed", m.routes_installed),
        ("routes_removed", m.routes_removed),
        ("arp_requests", n.arp_requests),
        ("arp_replies", n.arp_replies),
        ("ns_sent", n.ns_sent),
        ("na_sent", n.na_sent),
        ("neighbors_resolved", n.resolved),
        ("neighbors_failed", n.failed),
        ("neighbor_bad_frames", n.bad_frames),
        ("neighbor_conflicts", n.conflicts),
    ]
}

/// A port's device counters.
pub fn port_line(p: &PortLine) -> String {
    let mut out = format!("{} ({}): ", p.name, p.device);
    match port_pairs(p) {
        Ok(pairs) => kv(&mut out, &pairs),
        Err(e) => {
            let _ = write!(out, "stats unavailable: {e}");
        }
    }
    out
}

/// A port's device counters, named, or why they are missing.
pub fn port_pairs(p: &PortLine) -> Result<Vec<(&'static str, u64)>, String> {
    let s = p.stats.as_ref().map_err(Clone::clone)?;
    Ok(vec![
        ("ipackets", s.ipackets),
        ("opackets", s.opackets),
        ("ibytes", s.ibytes),
        ("obytes", s.obytes),
        ("imissed", s.imissed),
        ("ierrors", s.ierrors),
        ("oerrors", s.oerrors),
        ("rx_nombuf", s.rx_nombuf),
    ])
}

/// Named counters as a JSON object.
pub fn json_object(pairs: &[(&str, u64)]) -> serde_json::Value {
    serde_json::Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
            .collect(),
    )
}

/// The non-zero drop counters as a JSON object by reason.
pub fn drops_json(c: &WorkerCounters) -> serde_json::Value {
    let pairs: Vec<(&str, u64)> = DropReason::ALL
        .iter()
        .map(|r| (r.name(), c.drops_for(*r)))
        .filter(|(_, n)| *n > 0)
        .collect();
    json_object(&pairs)
}

/// A port's device counters as JSON (`error` when they are missing).
pub fn port_json(p: &PortLine) -> serde_json::Value {
    let mut v = serde_json::json!({ "name": p.name, "device": p.device });
    match port_pairs(p) {
        Ok(pairs) => v["counters"] = json_object(&pairs),
        Err(e) => v["error"] = serde_json::Value::from(e),
    }
    v
}

/// A warning on standard error: `dataplane: warning: MSG`, or a JSON line
/// at level `warn`.
pub fn warn(format: super::config::LogFormat, msg: &str) {
    match format {
        super::config::LogFormat::Text => eprintln!("dataplane: warning: {msg}"),
        super::config::LogFormat::Json => {
            eprintln!("{}", json_line("warn", msg, serde_json::json!({})));
        }
    }
}

/// One JSON log line of the dataplane process: `ts` (Unix seconds),
/// `level`, `component` "dataplane", `msg`, and `fields` merged in, as the
/// control plane's log lines.
pub fn json_line(level: &str, msg: &str, fields: serde_json::Value) -> String {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut v = serde_json::json!({
        "ts": (ts * 1000.0).round() / 1000.0,
        "level": level,
        "component": "dataplane",
        "msg": msg,
    });
    if let (Some(o), serde_json::Value::Object(f)) = (v.as_object_mut(), fields) {
        o.extend(f);
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(k: u64) -> WorkerStats {
        let mut s = WorkerStats::default();
        s.pipeline.rx_packets = 10 * k;
        s.pipeline.tx_packets = 4 * k;
        s.pipeline.punted = 3 * k;
        s.pipeline.consumed = k;
        s.pipeline.drop(DropReason::NoRoute);
        s.pipeline.drop(DropReason::Replay);
        s.pipeline.drops[DropReason::NoRoute.index()] = 2 * k - 1;
        s.injected_bad = k;
        s.redirect_limited = 5 * k;
        s.sleeps = 99;
        s
    }

    #[test]
    fn test_mirror_round_trip() {
        let m = StatsMirror::default();
        let s = sample(3);
        m.store(&s);
        assert_eq!(m.load(), s);
    }

    #[test]
    fn test_accumulate_and_accounting() {
        let mut t = sample(1);
        t.accumulate(&sample(2));
        assert_eq!(t.pipeline.rx_packets, 30);
        assert_eq!(t.pipeline.drops_for(DropReason::NoRoute), 1 + 3);
        assert_eq!(t.injected_bad, 3);
        assert_eq!(t.redirect_limited, 15);
        assert_eq!(t.sleeps, 198);
        assert_eq!(sample(1).unaccounted(), 0);
        assert_eq!(t.unaccounted(), 0);
    }

    #[test]
    fn test_lines() {
        let s = sample(1);
        let l = worker_line(&s);
        assert!(l.starts_with("rx_packets=10 "), "{l}");
        assert!(l.contains(" dropped=2 "), "{l}");
        assert_eq!(drops_line(&s.pipeline), "drop.replay=1 drop.no_route=1");
        let p = port_line(&PortLine {
            name: "Ethernet0/0".into(),
            device: "net_null0".into(),
            stats: Ok(ffi::PortStats::default()),
        });
        assert!(p.starts_with("Ethernet0/0 (net_null0): ipackets=0 "), "{p}");
    }
}

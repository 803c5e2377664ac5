//! Prometheus metrics: the text exposition format (version 0.0.4), what
//! the control plane and the dataplane export in it, and a small HTTP
//! server for `GET /metrics`.
//!
//! Families:
//!
//! - `flexvpn_dp_*`: per-worker packet, byte and drop counters (drops by
//!   reason), from the dataplane's [`WorkerStats`];
//! - `flexvpn_sa_*`: per-SA packets and bytes, by SPI and tunnel;
//! - `flexvpn_ike_sas{state=...}`: IKE SAs by state;
//! - `flexvpn_nhrp_*`: cache entries, shortcuts, redirects sent and
//!   received;
//! - `flexvpn_*_seconds`: histograms (for example tunnel set-up time).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use controlplane::flexvpn::Node;
use dataplane::counters::{DropReason, LATENCY_BOUNDS_NS};

use crate::dp::stats::WorkerStats;

/// Builds one exposition text. Families are written in the order they
/// are started; a family's samples must follow its header.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    seen: Vec<String>,
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn labels(l: &[(&str, &str)]) -> String {
    if l.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// A histogram's cumulative buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    /// Upper bounds, increasing.
    pub bounds: Vec<f64>,
    /// Observations per bucket (not cumulative); one more than `bounds`
    /// for +Inf.
    pub counts: Vec<u64>,
    /// Sum of observations.
    pub sum: f64,
}

impl Histogram {
    /// Empty, with these upper bounds.
    #[must_use]
    pub fn new(bounds: &[f64]) -> Self {
        Self {
            bounds: bounds.to_vec(),
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    /// Records a value.
    pub fn observe(&mut self, v: f64) {
        let i = self
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += v;
    }

    /// Observations.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

impl Writer {
    /// Empty.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a family (once per name).
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        if self.seen.iter().any(|n| n == name) {
            return;
        }
        self.seen.push(name.to_string());
        let _ = writeln!(self.out, "# HELP {name} {}", help.replace('\n', " "));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample.
    pub fn sample(&mut self, name: &str, l: &[(&str, &str)], value: f64) {
        let _ = writeln!(self.out, "{name}{} {}", labels(l), fmt_value(value));
    }

    /// A counter family with one sample.
    pub fn counter(&mut self, name: &str, help: &str, l: &[(&str, &str)], v: u64) {
        self.family(name, "counter", help);
        #[allow(clippy::cast_precision_loss)]
        self.sample(name, l, v as f64);
    }

    /// A gauge family with one sample.
    pub fn gauge(&mut self, name: &str, help: &str, l: &[(&str, &str)], v: f64) {
        self.family(name, "gauge", help);
        self.sample(name, l, v);
    }

    /// A histogram.
    pub fn histogram(&mut self, name: &str, help: &str, l: &[(&str, &str)], h: &Histogram) {
        self.family(name, "histogram", help);
        let mut cum = 0u64;
        let bucket = format!("{name}_bucket");
        for (i, c) in h.counts.iter().enumerate() {
            cum += c;
            let le = h
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| fmt_value(*b));
            let mut ll: Vec<(&str, &str)> = l.to_vec();
            ll.push(("le", &le));
            #[allow(clippy::cast_precision_loss)]
            self.sample(&bucket, &ll, cum as f64);
        }
        self.sample(&format!("{name}_sum"), l, h.sum);
        #[allow(clippy::cast_precision_loss)]
        self.sample(&format!("{name}_count"), l, h.count() as f64);
    }

    /// The text.
    #[must_use]
    pub fn finish(self) -> String {
        self.out
    }
}

fn fmt_value(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else if v.is_nan() {
        "NaN".to_string()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Per-worker dataplane counters, drops by reason.
pub fn dataplane_workers(w: &mut Writer, workers: &[(u32, WorkerStats)]) {
    for (lcore, s) in workers {
        let lc = lcore.to_string();
        let l = [("lcore", lc.as_str())];
        let p = &s.pipeline;
        w.counter(
            "flexvpn_dp_rx_packets_total",
            "Packets received by a worker.",
            &l,
            p.rx_packets,
        );
        w.counter(
            "flexvpn_dp_rx_bytes_total",
            "Bytes received by a worker.",
            &l,
            p.rx_bytes,
        );
        w.counter(
            "flexvpn_dp_tx_packets_total",
            "Packets a worker sent.",
            &l,
            p.tx_packets,
        );
        w.counter(
            "flexvpn_dp_tx_bytes_total",
            "Bytes a worker sent.",
            &l,
            p.tx_bytes,
        );
        w.counter(
            "flexvpn_dp_esp_encrypted_total",
            "ESP packets sealed.",
            &l,
            p.esp_encrypted,
        );
        w.counter(
            "flexvpn_dp_esp_decrypted_total",
            "ESP packets opened.",
            &l,
            p.esp_decrypted,
        );
        w.counter(
            "flexvpn_dp_punted_total",
            "Packets punted to the control plane.",
            &l,
            p.punted,
        );
        w.counter(
            "flexvpn_dp_echo_replies_total",
            "ICMP and ICMPv6 echo requests to our addresses answered.",
            &l,
            p.echo_replies,
        );
        w.counter(
            "flexvpn_dp_fragmented_total",
            "IPv4 packets without DF split to fit their tunnel's MTU.",
            &l,
            p.fragmented,
        );
        w.counter(
            "flexvpn_dp_icmp_errors_total",
            "ICMP errors sent (time exceeded, fragmentation needed, packet too big).",
            &l,
            p.icmp_errors,
        );
        w.counter(
            "flexvpn_dp_icmp_errors_limited_total",
            "ICMP errors not sent: rate limit.",
            &l,
            p.icmp_errors_limited,
        );
        w.counter(
            "flexvpn_dp_tx_full_total",
            "Frames dropped because the device queue stayed full.",
            &l,
            s.tx_full,
        );
        w.counter(
            "flexvpn_dp_punt_ring_full_total",
            "Punts dropped because the ring to the main lcore was full.",
            &l,
            s.punt_ring_full,
        );
    }
    for (lcore, s) in workers {
        let lc = lcore.to_string();
        let h = &s.latency;
        #[allow(clippy::cast_precision_loss)]
        let hist = Histogram {
            bounds: LATENCY_BOUNDS_NS.iter().map(|b| *b as f64 / 1e9).collect(),
            counts: h.counts.to_vec(),
            sum: h.sum_ns as f64 / 1e9,
        };
        w.histogram(
            "flexvpn_dp_packet_latency_seconds",
            "Time packets stay in a worker: from their burst's receive to the end of its transmission (device queues not included).",
            &[("lcore", lc.as_str())],
            &hist,
        );
    }
    w.family(
        "flexvpn_dp_drops_total",
        "counter",
        "Packets a worker dropped, by reason.",
    );
    for (lcore, s) in workers {
        let lc = lcore.to_string();
        for r in DropReason::ALL {
            #[allow(clippy::cast_precision_loss)]
            w.sample(
                "flexvpn_dp_drops_total",
                &[("lcore", &lc), ("reason", r.name())],
                s.pipeline.drops_for(r) as f64,
            );
        }
    }
}

/// Per-SA counters from the dataplane, by inbound SPI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaTraffic {
    /// Packets in.
    pub in_packets: u64,
    /// Bytes in.
    pub in_bytes: u64,
    /// Packets out.
    pub out_packets: u64,
    /// Bytes out.
    pub out_bytes: u64,
}

/// The control plane's families, and per-SA counters for the SAs the
/// node knows (`traffic` by inbound SPI).
pub fn control_plane(w: &mut Writer, node: &Node, traffic: &BTreeMap<u32, SaTraffic>) {
    let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
    for s in node.ike().ike_sas() {
        *by_state.entry(format!("{:?}", s.state)).or_default() += 1;
    }
    w.family("flexvpn_ike_sas", "gauge", "IKE SAs by state.");
    for st in [
        "InitSent",
        "InitResponded",
        "AuthSent",
        "Established",
        "Rekeying",
        "Rekeyed",
        "Deleting",
        "Closed",
    ] {
        #[allow(clippy::cast_precision_loss)]
        w.sample(
            "flexvpn_ike_sas",
            &[("state", st)],
            by_state.get(st).copied().unwrap_or(0) as f64,
        );
    }
    let st = node.ike().stats();
    w.counter(
        "flexvpn_ike_received_total",
        "IKE datagrams received.",
        &[],
        st.received,
    );
    w.counter(
        "flexvpn_ike_dropped_total",
        "IKE datagrams dropped (malformed, unknown SPI, failed checks).",
        &[],
        st.dropped,
    );
    w.counter(
        "flexvpn_ike_retransmits_total",
        "IKE requests retransmitted.",
        &[],
        st.retransmits,
    );
    let c = node.nhrp().counters();
    #[allow(clippy::cast_precision_loss)]
    w.gauge(
        "flexvpn_nhrp_cache_entries",
        "NHRP cache entries.",
        &[],
        node.nhrp().cache().count() as f64,
    );
    w.counter(
        "flexvpn_nhrp_shortcuts_installed_total",
        "NHRP shortcuts installed.",
        &[],
        c.shortcuts_installed,
    );
    w.counter(
        "flexvpn_nhrp_redirects_sent_total",
        "NHRP Traffic Indications (redirects) sent.",
        &[],
        c.redirects_sent,
    );
    w.counter(
        "flexvpn_nhrp_redirects_suppressed_total",
        "Redirects not sent: one went for the pair recently.",
        &[],
        c.redirects_suppressed,
    );
    w.counter(
        "flexvpn_nhrp_redirects_received_total",
        "NHRP Traffic Indications (redirects) received.",
        &[],
        c.redirects_received,
    );
    w.counter(
        "flexvpn_nhrp_resolution_requests_sent_total",
        "NHRP Resolution Requests sent.",
        &[],
        c.requests_sent,
    );
    w.counter(
        "flexvpn_nhrp_resolution_replies_sent_total",
        "NHRP Resolution Replies sent.",
        &[],
        c.replies_sent,
    );
    w.counter(
        "flexvpn_nhrp_dropped_total",
        "NHRP packets dropped (malformed or refused).",
        &[],
        c.malformed + c.dropped,
    );
    let shortcuts = node
        .tunnels()
        .filter(|t| t.name.starts_with("Virtual-Access"))
        .count();
    #[allow(clippy::cast_precision_loss)]
    w.gauge(
        "flexvpn_tunnels",
        "Tunnel interfaces up (static and Virtual-Access).",
        &[],
        node.tunnels().count() as f64,
    );
    #[allow(clippy::cast_precision_loss)]
    w.gauge(
        "flexvpn_virtual_access",
        "Virtual-Access interfaces up.",
        &[],
        shortcuts as f64,
    );
    for (kind, l) in [
        ("static", &node.static_setup),
        ("shortcut", &node.shortcut_setup),
    ] {
        let h = Histogram {
            bounds: l.bounds.to_vec(),
            counts: l.counts.clone(),
            sum: l.sum,
        };
        w.histogram(
            "flexvpn_tunnel_setup_seconds",
            "Time to bring a tunnel up: a static tunnel from initiation, a shortcut from NHRP's request to its first SA.",
            &[("kind", kind)],
            &h,
        );
    }
    for (fam, help) in [
        (
            "flexvpn_sa_packets_total",
            "ESP packets per SA and direction.",
        ),
        ("flexvpn_sa_bytes_total", "ESP bytes per SA and direction."),
    ] {
        w.family(fam, "counter", help);
        for s in node.ike().ike_sas() {
            let Some(t) = node
                .tunnel_of(s.id)
                .and_then(|id| node.tunnels().find(|t| t.id == id))
            else {
                continue;
            };
            for ch in &s.children {
                let tr = traffic.get(&ch.inbound_spi).copied().unwrap_or_default();
                let (spi_in, spi_out) = (
                    format!("0x{:08x}", ch.inbound_spi),
                    format!("0x{:08x}", ch.outbound_spi),
                );
                let (vin, vout) = if fam.ends_with("packets_total") {
                    (tr.in_packets, tr.out_packets)
                } else {
                    (tr.in_bytes, tr.out_bytes)
                };
                #[allow(clippy::cast_precision_loss)]
                {
                    w.sample(
                        fam,
                        &[
                            ("interface", &t.name),
                            ("spi", &spi_in),
                            ("direction", "in"),
                        ],
                        vin as f64,
                    );
                    w.sample(
                        fam,
                        &[
                            ("interface", &t.name),
                            ("spi", &spi_out),
                            ("direction", "out"),
                        ],
                        vout as f64,
                    );
                }
            }
        }
    }
}

/// Serves `GET /metrics` on `addr` with the text `render` makes, until
/// `stop` is set. Returns the bound address (port 0 picks one).
///
/// # Errors
///
/// The address cannot be bound.
pub fn serve(
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    render: impl Fn() -> String + Send + 'static,
) -> std::io::Result<(SocketAddr, std::thread::JoinHandle<()>)> {
    let l = TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    let bound = l.local_addr()?;
    let h = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((s, _)) => {
                    let _ = answer(s, &render);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    Ok((bound, h))
}

fn answer(s: TcpStream, render: &impl Fn() -> String) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut r = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    // Skip the headers.
    let mut h = String::new();
    for _ in 0..100 {
        h.clear();
        if r.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut w = s;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "GET" && (path == "/metrics" || path.starts_with("/metrics?")) {
        let body = render();
        write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        let body = "only GET /metrics is served\n";
        write!(
            w,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Checks every line against the exposition format: comments are
    /// HELP/TYPE, samples are `name{labels} value` with a declared family.
    pub(crate) fn check_exposition(text: &str) -> usize {
        let mut families: Vec<String> = Vec::new();
        let mut samples = 0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let mut p = rest.splitn(3, ' ');
                let (kind, name) = (p.next().unwrap(), p.next().unwrap());
                assert!(kind == "HELP" || kind == "TYPE", "{line}");
                if kind == "TYPE" {
                    let t = p.next().unwrap();
                    assert!(["counter", "gauge", "histogram"].contains(&t), "{line}");
                    assert!(
                        !families.contains(&name.to_string()),
                        "family twice: {name}"
                    );
                    families.push(name.to_string());
                }
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(
                value == "+Inf" || value.parse::<f64>().is_ok(),
                "bad value in {line}"
            );
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "{line}"
            );
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|b| families.iter().any(|f| f == b))
                .unwrap_or(name);
            assert!(families.iter().any(|f| f == base), "no family for {line}");
            if let Some(l) = series.strip_prefix(name) {
                if !l.is_empty() {
                    assert!(l.starts_with('{') && l.ends_with('}'), "{line}");
                }
            }
            samples += 1;
        }
        samples
    }

    #[test]
    fn test_writer_and_histogram() {
        let mut w = Writer::new();
        w.counter("a_total", "A.", &[("x", "q\"uote\\")], 3);
        w.counter("a_total", "A.", &[("x", "b")], 4);
        let mut h = Histogram::new(&[0.001, 0.01, 0.1]);
        for v in [0.0005, 0.005, 0.005, 5.0] {
            h.observe(v);
        }
        w.histogram("lat_seconds", "Latency.", &[("path", "hub")], &h);
        let t = w.finish();
        assert_eq!(check_exposition(&t), 2 + 4 + 2);
        assert!(t.contains("a_total{x=\"q\\\"uote\\\\\"} 3\n"), "{t}");
        assert!(
            t.contains("lat_seconds_bucket{path=\"hub\",le=\"0.01\"} 3\n"),
            "{t}"
        );
        assert!(
            t.contains("lat_seconds_bucket{path=\"hub\",le=\"+Inf\"} 4\n"),
            "{t}"
        );
        assert!(t.contains("lat_seconds_count{path=\"hub\"} 4\n"), "{t}");
        assert_eq!(t.matches("# TYPE a_total").count(), 1);
    }

    #[test]
    fn test_dataplane_families() {
        let mut s = WorkerStats::default();
        s.pipeline.rx_packets = 10;
        s.pipeline.drop(DropReason::ALL[0]);
        s.pipeline.drop(DropReason::ALL[0]);
        s.latency.record(300, 4);
        s.latency.record(1_000_000_000, 1);
        let mut w = Writer::new();
        dataplane_workers(&mut w, &[(1, s.clone()), (2, WorkerStats::default())]);
        let t = w.finish();
        assert!(check_exposition(&t) > DropReason::COUNT * 2);
        assert!(t.contains("flexvpn_dp_rx_packets_total{lcore=\"1\"} 10\n"));
        // The latency histogram: cumulative buckets in seconds.
        assert!(
            t.contains(
                "flexvpn_dp_packet_latency_seconds_bucket{lcore=\"1\",le=\"0.000000512\"} 4\n"
            ),
            "{t}"
        );
        assert!(
            t.contains("flexvpn_dp_packet_latency_seconds_bucket{lcore=\"1\",le=\"+Inf\"} 5\n"),
            "{t}"
        );
        assert!(
            t.contains("flexvpn_dp_packet_latency_seconds_count{lcore=\"1\"} 5\n"),
            "{t}"
        );
        assert!(t.contains(&format!(
            "flexvpn_dp_drops_total{{lcore=\"1\",reason=\"{}\"}} 2\n",
            DropReason::ALL[0].name()
        )));
    }

    fn psk(file: &str) -> String {
        let t = std::fs::read_to_string(format!(
            "{}/../controlplane/tests/configs/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .replace("rsa-sig", "pre-share")
        .replace("pki trustpoint CA", "keyring local k");
        format!("{t}\ncrypto ikev2 keyring k\n peer any\n  address 0.0.0.0 0.0.0.0\n  pre-shared-key s\n")
    }

    fn node(file: &str) -> Node {
        use controlplane::flexvpn::NodePlan;
        use controlplane::ikev2::{events::CounterSpiAllocator, Endpoint};
        let cfg = controlplane::config::parse(&psk(file)).config.unwrap();
        let plan = NodePlan::from_config(&cfg).unwrap();
        let ep =
            Endpoint::new(plan.ike.clone(), Box::new(CounterSpiAllocator::new(0x100))).unwrap();
        Node::new(plan, ep)
    }

    #[test]
    fn test_control_plane_families() {
        use controlplane::flexvpn::Output;
        let now = std::time::Instant::now();
        let mut nodes = [node("static-hub.conf"), node("static-spoke1.conf")];
        for n in &mut nodes {
            n.start(now);
        }
        // Deliver IKE between the two until nothing is left.
        for _ in 0..20 {
            let mut moved = false;
            for i in 0..2 {
                while let Some(o) = nodes[i].poll_output() {
                    if let Output::Ike(t) = o {
                        nodes[1 - i].handle_ike(now, t.remote, t.local, &t.payload);
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
        let spi = nodes[0].ike().ike_sas()[0].children[0].inbound_spi;
        let traffic = BTreeMap::from([(
            spi,
            SaTraffic {
                in_packets: 7,
                in_bytes: 700,
                out_packets: 5,
                out_bytes: 500,
            },
        )]);
        let mut w = Writer::new();
        control_plane(&mut w, &nodes[0], &traffic);
        let t = w.finish();
        assert!(check_exposition(&t) > 10);
        assert!(
            t.contains("flexvpn_ike_sas{state=\"Established\"} 1\n"),
            "{t}"
        );
        assert!(t.contains("flexvpn_virtual_access 1\n"), "{t}");
        assert!(t.contains(&format!(
            "flexvpn_sa_packets_total{{interface=\"Virtual-Access1\",spi=\"0x{spi:08x}\",direction=\"in\"}} 7\n"
        )), "{t}");
        assert!(t.contains("flexvpn_nhrp_redirects_sent_total 0\n"), "{t}");
        // The spoke's static tunnel was timed.
        let mut w = Writer::new();
        control_plane(&mut w, &nodes[1], &BTreeMap::new());
        let t = w.finish();
        assert!(check_exposition(&t) > 10);
        assert!(
            t.contains("flexvpn_tunnel_setup_seconds_count{kind=\"static\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("flexvpn_tunnel_setup_seconds_bucket{kind=\"static\",le=\"+Inf\"} 1\n"),
            "{t}"
        );
    }

    #[test]
    fn test_http() {
        let stop = Arc::new(AtomicBool::new(false));
        let (addr, h) = serve("127.0.0.1:0".parse().unwrap(), stop.clone(), || {
            "# HELP x X.\n# TYPE x gauge\nx 1\n".to_string()
        })
        .unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut r = String::new();
            s.read_to_string(&mut r).unwrap();
            r
        };
        let r = get("/metrics");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(
            r.ends_with("\r\n\r\n# HELP x X.\n# TYPE x gauge\nx 1\n"),
            "{r}"
        );
        assert!(get("/other").starts_with("HTTP/1.1 404"));
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
    }
}

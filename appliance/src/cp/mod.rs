//! The control-plane process (`appliance controlplane --config FILE`): the
//! FlexVPN [`Node`] (IKEv2, NHRP, RIB) driven by a [`Link`] to the
//! dataplane, with `show` commands on a Unix socket ([`show`]), Prometheus
//! metrics ([`crate::metrics`]) and structured logs ([`log`]).
//!
//! ```text
//!   Link (punts in)  --> Node::handle_ike / handle_nhrp / redirect_trigger
//!   timers           --> Node::handle_timeout
//!   Node::poll_output --> Link (IKE datagrams, NHRP into tunnels,
//!                          dataplane commands), logs
//!   show socket       --> show::dispatch(Node, Link counters)
//! ```
//!
//! Links:
//!
//! - [`udp::UdpLink`]: kernel UDP sockets for IKE, no dataplane: the
//!   commands are kept as a model of what the dataplane would hold (for
//!   `show dataplane`), nothing is forwarded. It runs the control plane on
//!   its own, for interoperability tests and labs.
//! - [`link::ShmLink`]: the shared-memory rings to the dataplane process.

pub mod link;
pub mod log;
pub mod packet;
pub mod shm;
pub mod show;
pub mod udp;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use controlplane::flexvpn::{Command, Node, Output};
use controlplane::ikev2::Transmit;
use controlplane::nhrp::core::TunnelId;

/// What the dataplane hands the control plane.
#[derive(Debug, Clone)]
pub enum Input {
    /// An IKE datagram received on `local` from `remote`.
    Ike {
        /// Our address and port.
        local: SocketAddr,
        /// The peer's.
        remote: SocketAddr,
        /// UDP payload.
        payload: Vec<u8>,
    },
    /// An NHRP packet received through a tunnel.
    Nhrp {
        /// The tunnel.
        tunnel: TunnelId,
        /// The packet.
        packet: Vec<u8>,
    },
    /// A packet entered and left tunnels of one NHRP network.
    Redirect {
        /// Ingress tunnel.
        ingress: TunnelId,
        /// Egress tunnel.
        egress: TunnelId,
        /// The packet's IP header and some of its payload.
        packet: Vec<u8>,
    },
}

/// The connection to the dataplane.
pub trait Link {
    /// The next input, if one is waiting.
    fn poll(&mut self) -> Option<Input>;
    /// Waits until an input may be there or `deadline` passes.
    fn wait(&mut self, deadline: Instant);
    /// Sends an IKE datagram.
    fn send_ike(&mut self, t: Transmit);
    /// Sends an NHRP packet into a tunnel.
    fn send_nhrp(&mut self, tunnel: TunnelId, packet: Vec<u8>);
    /// Applies a change to the dataplane.
    fn apply(&mut self, c: Command);
    /// `show dataplane`: what the dataplane holds and counts, as text.
    fn describe(&self) -> String;
    /// Lines for the log since the last call.
    fn drain_log(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// Tunnel ids no longer held by the dataplane from before this
    /// control plane (they may be used again).
    fn released_tunnel_ids(&mut self) -> Vec<TunnelId> {
        Vec::new()
    }
    /// The dataplane's latest counters per worker (lcore, counters).
    fn dataplane_counters(&self) -> Vec<(u32, crate::dp::stats::WorkerStats)> {
        Vec::new()
    }
    /// The dataplane's latest packet and byte counts of the SAs.
    fn sa_traffic(&self) -> Vec<dataplane::ctl::SaTraffic> {
        Vec::new()
    }
}

/// The Prometheus text of the control plane, the dataplane's workers and
/// its SAs.
pub fn metrics_text(
    node: &Node,
    workers: &[(u32, crate::dp::stats::WorkerStats)],
    sas: &[dataplane::ctl::SaTraffic],
) -> String {
    let mut w = crate::metrics::Writer::new();
    crate::metrics::dataplane_workers(&mut w, workers);
    let traffic = sas
        .iter()
        .map(|t| {
            (
                t.inbound_spi,
                crate::metrics::SaTraffic {
                    in_packets: t.in_packets,
                    in_bytes: t.in_bytes,
                    out_packets: t.out_packets,
                    out_bytes: t.out_bytes,
                },
            )
        })
        .collect();
    crate::metrics::control_plane(&mut w, node, &traffic);
    w.finish()
}

/// Settings of the process besides its configuration.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where `show` requests are served.
    pub socket: PathBuf,
    /// Where `/metrics` is served, if anywhere.
    pub metrics: Option<SocketAddr>,
}

/// Feeds the node's outputs to the link and the log.
fn flush(node: &mut Node, link: &mut dyn Link, logger: &log::Logger) {
    while let Some(o) = node.poll_output() {
        match o {
            Output::Ike(t) => link.send_ike(t),
            Output::Nhrp { tunnel, packet } => link.send_nhrp(tunnel, packet),
            Output::Dataplane(c) => {
                logger.debug("dataplane", &format!("{c:?}"));
                link.apply(c);
            }
            Output::Log(s) => logger.info("flexvpn", &s),
        }
    }
}

/// Runs the control plane until `stop` is set.
///
/// # Errors
///
/// The show socket or the metrics port cannot be bound.
pub fn run(
    node: Node,
    link: &mut dyn Link,
    opts: &Options,
    stop: &AtomicBool,
    logger: &log::Logger,
) -> Result<()> {
    let _ = std::fs::remove_file(&opts.socket);
    if let Some(dir) = opts.socket.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let listener = UnixListener::bind(&opts.socket)
        .with_context(|| format!("binding the show socket {}", opts.socket.display()))?;
    listener.set_nonblocking(true)?;
    let _guard = RemoveOnDrop(opts.socket.clone());
    let node = Arc::new(Mutex::new(node));
    type Snapshot = (
        Vec<(u32, crate::dp::stats::WorkerStats)>,
        Vec<dataplane::ctl::SaTraffic>,
    );
    let workers: Arc<Mutex<Snapshot>> = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let metrics_stop = Arc::new(AtomicBool::new(false));
    let metrics = match opts.metrics {
        Some(addr) => {
            let n = Arc::clone(&node);
            let wk = Arc::clone(&workers);
            let (bound, h) = crate::metrics::serve(addr, Arc::clone(&metrics_stop), move || {
                let (w, sas) = wk.lock().map(|w| w.clone()).unwrap_or_default();
                n.lock()
                    .map(|n| metrics_text(&n, &w, &sas))
                    .unwrap_or_default()
            })
            .with_context(|| format!("binding the metrics endpoint {addr}"))?;
            logger.info(
                "metrics",
                &format!("serving /metrics on http://{bound}/metrics"),
            );
            Some(h)
        }
        None => None,
    };
    {
        let mut n = node.lock().expect("node lock");
        n.start(Instant::now());
        flush(&mut n, link, logger);
    }
    logger.info("controlplane", "started");
    while !stop.load(Ordering::Relaxed) {
        {
            let mut n = node.lock().expect("node lock");
            let mut handled = 0;
            while let Some(i) = link.poll() {
                let now = Instant::now();
                match i {
                    Input::Ike {
                        local,
                        remote,
                        payload,
                    } => n.handle_ike(now, local, remote, &payload),
                    Input::Nhrp { tunnel, packet } => n.handle_nhrp(now, tunnel, &packet),
                    Input::Redirect {
                        ingress,
                        egress,
                        packet,
                    } => n.redirect_trigger(now, ingress, egress, &packet),
                }
                flush(&mut n, link, logger);
                handled += 1;
                if handled >= 256 {
                    break;
                }
            }
            for l in link.drain_log() {
                logger.info("dataplane-link", &l);
            }
            if let Ok(mut w) = workers.lock() {
                *w = (link.dataplane_counters(), link.sa_traffic());
            }
            let released = link.released_tunnel_ids();
            if !released.is_empty() {
                n.release_tunnel_ids(released);
            }
            let now = Instant::now();
            if n.poll_timeout().is_some_and(|t| t <= now) {
                n.handle_timeout(now);
                flush(&mut n, link, logger);
            }
            loop {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = serve_show(s, &mut n, link);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        logger.warn("show", &format!("accept: {e}"));
                        break;
                    }
                }
            }
        }
        let next = node
            .lock()
            .expect("node lock")
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        // Wake at least every 50 ms for show requests and the stop flag.
        link.wait(next.min(Instant::now() + Duration::from_millis(50)));
    }
    metrics_stop.store(true, Ordering::Relaxed);
    if let Some(h) = metrics {
        let _ = h.join();
    }
    logger.info("controlplane", "stopped");
    Ok(())
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn serve_show(s: UnixStream, node: &mut Node, link: &dyn Link) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut line = String::new();
    BufReader::new(s.try_clone()?).read_line(&mut line)?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let reply = match show::dispatch(node, link, Instant::now(), &words) {
        Ok(t) => t,
        Err(e) => format!("% {e}\n"),
    };
    let mut w = s;
    w.write_all(reply.as_bytes())
}

/// [`request`] for words given as `&str`, with a failure to connect as
/// the answer's text (`% ...`), as `appliance show` prints it.
#[must_use]
pub fn show_text(socket: &Path, words: &[&str]) -> String {
    let words: Vec<String> = words.iter().map(|s| (*s).to_string()).collect();
    request(socket, &words).unwrap_or_else(|e| format!("% {e:#}"))
}

/// Sends a `show` request to a running control plane and returns its
/// answer.
///
/// # Errors
///
/// The socket cannot be reached.
pub fn request(socket: &Path, words: &[String]) -> Result<String> {
    use std::io::Read;
    let mut s = UnixStream::connect(socket).with_context(|| {
        format!(
            "connecting to {} (is the control plane running?)",
            socket.display()
        )
    })?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    writeln!(s, "{}", words.join(" "))?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

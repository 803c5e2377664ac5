//! A [`Link`] without a dataplane: IKE on kernel UDP sockets (ports 500
//! and 4500 on each local address of the configuration), dataplane
//! commands kept as a model for `show dataplane`. NHRP and ESP need the
//! dataplane, so NHRP packets are counted and dropped here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use controlplane::flexvpn::{Command, FibChange, Target, TunnelSpec};
use controlplane::ikev2::driver::spawn_reader;
use controlplane::ikev2::Transmit;
use controlplane::nhrp::core::TunnelId;

use super::{Input, Link};

type Datagram = (SocketAddr, SocketAddr, Vec<u8>);

/// IKE over the kernel's UDP.
#[derive(Debug)]
pub struct UdpLink {
    sockets: HashMap<SocketAddr, UdpSocket>,
    rx: Receiver<Datagram>,
    pending: VecDeque<Input>,
    stop: Arc<AtomicBool>,
    readers: Vec<JoinHandle<()>>,
    tunnels: BTreeMap<TunnelId, TunnelSpec>,
    sas: BTreeMap<TunnelId, Vec<(u32, u32)>>,
    fib: BTreeMap<String, String>,
    /// NHRP packets that had nowhere to go.
    pub nhrp_dropped: u64,
    /// IKE datagrams that could not be sent.
    pub send_errors: u64,
}

impl UdpLink {
    /// Binds `ports` (IKE, NAT-T) on each address.
    ///
    /// # Errors
    ///
    /// An address cannot be bound.
    pub fn bind(addrs: &[IpAddr], ports: (u16, u16)) -> io::Result<Self> {
        Self::bind_some(addrs, ports).map(|(l, _)| l)
    }

    /// Binds `ports` on each address that can be bound, and says which
    /// could not (an address of the configuration this host does not
    /// have, such as a LAN address handled by the dataplane).
    ///
    /// # Errors
    ///
    /// No address at all could be bound.
    pub fn bind_some(
        addrs: &[IpAddr],
        ports: (u16, u16),
    ) -> io::Result<(Self, Vec<(IpAddr, io::Error)>)> {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let mut sockets = HashMap::new();
        let mut readers = Vec::new();
        let mut failed = Vec::new();
        'addr: for a in addrs {
            let mut pair = Vec::new();
            for p in [ports.0, ports.1] {
                match UdpSocket::bind(SocketAddr::new(*a, p)) {
                    Ok(s) => pair.push(s),
                    Err(e) => {
                        failed.push((*a, e));
                        continue 'addr;
                    }
                }
            }
            for s in pair {
                let local = s.local_addr()?;
                readers.push(spawn_reader(&s, tx.clone(), Arc::clone(&stop))?);
                sockets.insert(local, s);
            }
        }
        if sockets.is_empty() {
            return Err(failed.pop().map_or_else(
                || io::Error::new(io::ErrorKind::InvalidInput, "no local address to bind"),
                |(_, e)| e,
            ));
        }
        Ok((
            Self {
                sockets,
                rx,
                pending: VecDeque::new(),
                stop,
                readers,
                tunnels: BTreeMap::new(),
                sas: BTreeMap::new(),
                fib: BTreeMap::new(),
                nhrp_dropped: 0,
                send_errors: 0,
            },
            failed,
        ))
    }

    fn take(&mut self, d: Datagram) {
        self.pending.push_back(Input::Ike {
            local: d.0,
            remote: d.1,
            payload: d.2,
        });
    }
}

impl Drop for UdpLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.readers.drain(..) {
            let _ = h.join();
        }
    }
}

impl Link for UdpLink {
    fn poll(&mut self) -> Option<Input> {
        while let Ok(d) = self.rx.try_recv() {
            self.take(d);
        }
        self.pending.pop_front()
    }

    fn wait(&mut self, deadline: Instant) {
        if !self.pending.is_empty() {
            return;
        }
        let d = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(d) {
            Ok(x) => self.take(x),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
        }
    }

    fn send_ike(&mut self, t: Transmit) {
        match self.sockets.get(&t.local) {
            Some(s) => {
                if s.send_to(&t.payload, t.remote).is_err() {
                    self.send_errors += 1;
                }
            }
            None => self.send_errors += 1,
        }
    }

    fn send_nhrp(&mut self, _tunnel: TunnelId, _packet: Vec<u8>) {
        self.nhrp_dropped += 1;
    }

    fn apply(&mut self, c: Command) {
        match c {
            Command::TunnelSet(s) => {
                self.tunnels.insert(s.id, s);
            }
            Command::TunnelRemove(id) => {
                self.tunnels.remove(&id);
                self.sas.remove(&id);
            }
            Command::SaInstall { tunnel, sa } => {
                self.sas
                    .entry(tunnel)
                    .or_default()
                    .push((sa.inbound_spi, sa.outbound_spi));
            }
            Command::SaRemove {
                tunnel,
                inbound_spi,
                ..
            } => {
                if let Some(v) = self.sas.get_mut(&tunnel) {
                    v.retain(|s| s.0 != inbound_spi);
                }
            }
            Command::Fib(FibChange::Set(p, t)) => {
                let target = match t {
                    Target::Tunnel(id) => format!("tunnel {id}"),
                    other => format!("{other:?}"),
                };
                self.fib.insert(format!("{}/{}", p.addr, p.len), target);
            }
            Command::Fib(FibChange::Delete(p)) => {
                self.fib.remove(&format!("{}/{}", p.addr, p.len));
            }
        }
    }

    fn describe(&self) -> String {
        let mut s = String::from(
            "Dataplane: none (control plane on kernel UDP sockets; nothing is forwarded)\n",
        );
        let _ = writeln!(s, "Tunnels it would hold: {}", self.tunnels.len());
        for t in self.tunnels.values() {
            let sas = self.sas.get(&t.id).map_or(0, Vec::len);
            let _ = writeln!(
                s,
                "  {} id {} {:?} {} -> {}{} SAs {sas}",
                t.name,
                t.id,
                t.encap,
                t.local,
                t.remote,
                if t.udp_encap { " udp-encap" } else { "" }
            );
        }
        let _ = writeln!(s, "FIB entries it would hold: {}", self.fib.len());
        for (p, t) in &self.fib {
            let _ = writeln!(s, "  {p} -> {t}");
        }
        let _ = writeln!(
            s,
            "NHRP packets dropped (no dataplane): {}\nIKE send errors: {}",
            self.nhrp_dropped, self.send_errors
        );
        s
    }
}

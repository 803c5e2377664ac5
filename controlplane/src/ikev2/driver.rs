//! A thin UDP driver around the sans-IO [`Endpoint`], for tests, tools and
//! interoperability runs against real peers (the appliance's own driver
//! moves datagrams through the dataplane's punt path instead).
//!
//! It binds the IKE port and the NAT-T port on each local address, reads
//! them in one thread per socket, and runs the endpoint on the calling
//! thread: datagrams in, [`Endpoint::handle_timeout`] at
//! [`Endpoint::poll_timeout`] with `std::time::Instant`, datagrams out. The
//! endpoint itself never reads the clock; the driver passes `now` in. The
//! non-ESP marker of port 4500 is added and checked by the endpoint; a
//! datagram on port 4500 that starts with a non-zero SPI is ESP, which
//! this driver does not handle (it is counted and dropped).
//!
//! Bind to specific addresses, not the wildcard: NAT detection hashes the
//! address a datagram was received on.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::endpoint::Endpoint;
use super::events::Event;

type Datagram = Received;

/// A received datagram: (local address, remote address, payload).
pub type Received = (SocketAddr, SocketAddr, Vec<u8>);

/// A thread that reads `s` (polling `stop` every 100 ms) and sends what
/// arrives, with the socket's own address, into `tx`.
///
/// # Errors
///
/// The socket cannot be cloned or configured.
pub fn spawn_reader(
    s: &UdpSocket,
    tx: mpsc::Sender<Received>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    let local = s.local_addr()?;
    let r = s.try_clone()?;
    r.set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok(std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while !stop.load(Ordering::Relaxed) {
            match r.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if tx.send((local, from, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }))
}

/// The endpoint on real UDP sockets.
#[derive(Debug)]
pub struct UdpDriver {
    endpoint: Endpoint,
    sockets: HashMap<SocketAddr, UdpSocket>,
    rx: Receiver<Datagram>,
    stop: Arc<AtomicBool>,
    readers: Vec<JoinHandle<()>>,
    /// Datagrams that could not be sent (no socket for the local address,
    /// or a send error).
    pub send_errors: u64,
}

impl UdpDriver {
    /// Binds the endpoint's IKE and NAT-T ports (its configuration's
    /// `ports`) on each address.
    ///
    /// # Errors
    ///
    /// A bind error.
    pub fn bind(endpoint: Endpoint, addrs: &[IpAddr]) -> io::Result<Self> {
        let (ike, natt) = endpoint.config().ports;
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let mut sockets = HashMap::new();
        let mut readers = Vec::new();
        for &ip in addrs {
            for port in [ike, natt] {
                let s = UdpSocket::bind(SocketAddr::new(ip, port))?;
                let local = s.local_addr()?;
                readers.push(spawn_reader(&s, tx.clone(), Arc::clone(&stop))?);
                sockets.insert(local, s);
            }
        }
        Ok(Self {
            endpoint,
            sockets,
            rx,
            stop,
            readers,
            send_errors: 0,
        })
    }

    /// The endpoint, to start or delete SAs.
    pub fn endpoint(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    /// Sends everything the endpoint has queued.
    pub fn flush(&mut self) {
        while let Some(t) = self.endpoint.poll_transmit() {
            match self.sockets.get(&t.local) {
                Some(s) if s.send_to(&t.payload, t.remote).is_ok() => {}
                _ => self.send_errors += 1,
            }
        }
    }

    /// One turn: sends, waits for a datagram or the next timer (at most
    /// `max_wait`), handles it, runs due timers, sends again.
    pub fn turn(&mut self, max_wait: Duration) {
        self.flush();
        let now = Instant::now();
        let wait = self
            .endpoint
            .poll_timeout()
            .map_or(max_wait, |t| t.saturating_duration_since(now).min(max_wait));
        match self.rx.recv_timeout(wait) {
            Ok((local, remote, data)) => {
                self.endpoint
                    .handle_datagram(Instant::now(), local, remote, &data);
                while let Ok((local, remote, data)) = self.rx.try_recv() {
                    self.endpoint
                        .handle_datagram(Instant::now(), local, remote, &data);
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
        }
        let now = Instant::now();
        if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
            self.endpoint.handle_timeout(now);
        }
        self.flush();
    }

    /// Runs until `deadline`, or until `on_event` breaks.
    pub fn run_until(
        &mut self,
        deadline: Instant,
        mut on_event: impl FnMut(&mut Endpoint, Event) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        loop {
            while let Some(e) = self.endpoint.poll_event() {
                if on_event(&mut self.endpoint, e).is_break() {
                    self.flush();
                    return ControlFlow::Break(());
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return ControlFlow::Continue(());
            }
            self.turn((deadline - now).min(Duration::from_millis(200)));
        }
    }
}

impl Drop for UdpDriver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

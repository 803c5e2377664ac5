//! The control plane's end of the shared memory with the dataplane
//! process: open the region the dataplane created, announce ourselves
//! (a new generation), send commands and read what comes back.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use dataplane::ctl::Msg;
use ffi::shm::{Consumer, Dir, Producer, Region, ShmError};

/// A connection to the dataplane.
#[derive(Debug)]
pub struct Client {
    region: Region,
    tx: Producer,
    rx: Consumer,
    seq: u32,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// Messages read while waiting for an acknowledgement.
    stash: VecDeque<(u32, Msg)>,
    /// Our generation.
    pub generation: u64,
    /// Messages from the dataplane that did not decode.
    pub bad: u64,
}

impl Client {
    /// Opens the region `name` and says hello (waiting up to `wait` for
    /// the dataplane to create it and answer).
    ///
    /// # Errors
    ///
    /// No region, or no answer within `wait`.
    pub fn connect(name: &str, wait: Duration) -> Result<Self> {
        let deadline = Instant::now() + wait;
        let region = loop {
            match Region::open(name) {
                Ok(r) => break r,
                Err(e) if Instant::now() >= deadline => {
                    return Err(anyhow!(e)).with_context(|| format!("opening shared memory {name}"))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let generation = region.attach_control();
        let tx = region.producer(Dir::ToDataplane)?;
        let rx = region.consumer(Dir::ToControl)?;
        let mut c = Self {
            region,
            tx,
            rx,
            seq: 0,
            buf: Vec::with_capacity(2048),
            out: Vec::with_capacity(2048),
            stash: VecDeque::new(),
            generation,
            bad: 0,
        };
        c.send(&Msg::Hello { generation })?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        c.wait_for(left, |m| matches!(m, Msg::HelloAck { .. }))
            .context("the dataplane did not answer Hello")?;
        Ok(c)
    }

    /// The region.
    #[must_use]
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Sends a message; returns its sequence number.
    ///
    /// # Errors
    ///
    /// The ring is full or the message too large.
    pub fn send(&mut self, m: &Msg) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        self.out.clear();
        m.encode(self.seq, &mut self.out);
        match self.tx.push(&self.out) {
            Ok(()) => Ok(self.seq),
            Err(ShmError::Full) => bail!("the ring to the dataplane is full"),
            Err(e) => Err(anyhow!(e)),
        }
    }

    /// The next message from the dataplane (stashed ones first).
    pub fn recv(&mut self) -> Option<(u32, Msg)> {
        if let Some(m) = self.stash.pop_front() {
            return Some(m);
        }
        self.read()
    }

    fn read(&mut self) -> Option<(u32, Msg)> {
        loop {
            match self.rx.pop(&mut self.buf) {
                Ok(false) => return None,
                Ok(true) => match Msg::decode(&self.buf) {
                    Ok(m) => return Some(m),
                    Err(_) => self.bad += 1,
                },
                Err(_) => self.bad += 1,
            }
        }
    }

    /// Waits for a message `want` accepts; others are kept for
    /// [`Client::recv`].
    ///
    /// # Errors
    ///
    /// None came within `wait`.
    pub fn wait_for(&mut self, wait: Duration, want: impl Fn(&Msg) -> bool) -> Result<(u32, Msg)> {
        let deadline = Instant::now() + wait;
        loop {
            while let Some(m) = self.read() {
                if want(&m.1) {
                    return Ok(m);
                }
                self.stash.push_back(m);
            }
            if Instant::now() >= deadline {
                bail!("no answer from the dataplane within {wait:?}");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Sends a command and waits for its acknowledgement.
    ///
    /// # Errors
    ///
    /// No acknowledgement, or the dataplane refused it (its reason).
    pub fn command(&mut self, m: &Msg, wait: Duration) -> Result<()> {
        let seq = self.send(m)?;
        let (_, ack) = self.wait_for(wait, |a| matches!(a, Msg::Ack { of, .. } if *of == seq))?;
        match ack {
            Msg::Ack { code: 0, .. } => Ok(()),
            Msg::Ack { text, .. } => bail!("dataplane refused {m:?}: {text}"),
            _ => unreachable!("wait_for returned an Ack"),
        }
    }

    /// Asks for the dataplane's state and collects it (the messages
    /// between the request and `DumpDone`).
    ///
    /// # Errors
    ///
    /// No complete dump within `wait`.
    pub fn dump(&mut self, wait: Duration) -> Result<Vec<Msg>> {
        self.send(&Msg::DumpRequest)?;
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (_, m) = self.wait_for(left, |m| {
                matches!(
                    m,
                    Msg::DumpTunnel(_)
                        | Msg::DumpSa { .. }
                        | Msg::DumpRoute { .. }
                        | Msg::DumpDone { .. }
                )
            })?;
            if let Msg::DumpDone { count } = m {
                if count as usize != out.len() {
                    bail!("dump of {count} messages, {} received", out.len());
                }
                return Ok(out);
            }
            out.push(m);
        }
    }
}

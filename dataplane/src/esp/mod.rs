//! ESP (RFC 4303) with AEAD transforms: AES-GCM (RFC 4106) and
//! ChaCha20-Poly1305 (RFC 7634), with extended sequence numbers.
//!
//! [`seal`] turns the payload in a buffer into an ESP packet in place,
//! using headroom for the header and IV and tailroom for the trailer and
//! ICV; [`open`] does the reverse. Outer IP and UDP headers belong to the
//! caller (`tunnel`).
//!
//! ```text
//! | SPI (4) | seq low (4) | IV (8) | payload | pad | pad len | next hdr | ICV (16) |
//!                                  <--------------- encrypted ---------->
//! ```

pub mod replay;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::buffer::PacketBuf;
use crate::counters::DropReason;
use crate::crypto::{
    Aead, AeadKey, Algorithm, Backend, KeyError, ICV_LEN, IV_LEN, NONCE_LEN, SALT_LEN,
};

pub use replay::{ReplayWindow, WindowSizeError};

/// ESP header length: SPI and sequence number.
pub const HEADER_LEN: usize = 8;
/// Bytes [`seal`] adds in front of the payload: header and IV.
pub const PREFIX_LEN: usize = HEADER_LEN + IV_LEN;
/// Smallest ESP packet with these transforms: header, IV, pad length, next
/// header and ICV.
pub const MIN_PACKET_LEN: usize = PREFIX_LEN + 2 + ICV_LEN;
/// Most bytes [`seal`] adds behind the payload: 3 of padding, pad length,
/// next header, ICV.
pub const MAX_SUFFIX_LEN: usize = 3 + 2 + ICV_LEN;
/// ESP next header of a dummy packet (RFC 4303 section 2.6).
pub const NEXT_HEADER_DUMMY: u8 = 59;

/// The parameters of one SA, as IKE negotiated them.
#[derive(Clone)]
pub struct SaConfig {
    /// The SPI (ours for inbound SAs, the peer's for outbound ones).
    pub spi: u32,
    /// The AEAD transform.
    pub algorithm: Algorithm,
    /// The AEAD implementation.
    pub backend: Backend,
    /// Key material: the key followed by the 4-byte salt.
    pub key: Vec<u8>,
    /// Extended (64-bit) sequence numbers.
    pub esn: bool,
    /// Anti-replay window (64 to 4096).
    pub replay_window: u32,
}

impl fmt::Debug for SaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaConfig")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("algorithm", &self.algorithm)
            .field("backend", &self.backend)
            .field("esn", &self.esn)
            .field("replay_window", &self.replay_window)
            .finish_non_exhaustive()
    }
}

/// Why an SA could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaError {
    /// Key material of the wrong length (key + 4-byte salt expected).
    Key(KeyError),
    /// Anti-replay window out of range.
    Window(WindowSizeError),
    /// SPI 0 to 255 is reserved (RFC 4303 section 2.1).
    ReservedSpi(u32),
}

impl fmt::Display for SaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(e) => write!(f, "key material: {e} (plus a {SALT_LEN}-byte salt)"),
            Self::Window(e) => e.fmt(f),
            Self::ReservedSpi(s) => write!(f, "SPI {s} is reserved"),
        }
    }
}

impl std::error::Error for SaError {}

/// One ESP SA: key, salt, sequence counter, replay window and counters.
/// Shared by every worker (`Sync`); nothing in it takes a lock.
pub struct Sa {
    spi: u32,
    aead: AeadKey,
    salt: [u8; SALT_LEN],
    esn: bool,
    /// Next sequence number to send.
    next_seq: AtomicU64,
    /// The first sequence number this SA sent (or will send): packets
    /// sealed = `next_seq - first_seq`, so sealing needs no packet counter.
    first_seq: AtomicU64,
    /// Past this, `rekey_needed` goes up (the soft limit).
    soft_limit: u64,
    replay: ReplayWindow,
    /// Anti-replay checks on inbound packets (on unless turned off with
    /// [`Sa::without_anti_replay`]).
    anti_replay: bool,
    packets: AtomicU64,
    bytes: AtomicU64,
    rekey_needed: AtomicBool,
}

impl fmt::Debug for Sa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("aead", &self.aead)
            .field("esn", &self.esn)
            .field("next_seq", &self.next_seq.load(Ordering::Relaxed))
            .field("packets", &self.packets.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Consecutive sequence numbers reserved with [`Sa::reserve_seq`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    /// The first number.
    pub first: u64,
    /// How many (may be fewer than asked when the SA ran out).
    pub len: u64,
}

impl SeqRange {
    /// The `i`-th number of the range, if the range has one.
    #[inline]
    pub fn get(&self, i: u64) -> Option<u64> {
        (i < self.len).then(|| self.first + i)
    }
}

/// What [`open`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The ESP next header (47 GRE, 4 IPv4, 41 IPv6, ...).
    pub next_header: u8,
    /// The full sequence number.
    pub seq: u64,
}

impl Sa {
    /// Builds an SA.
    pub fn new(cfg: SaConfig) -> Result<Self, SaError> {
        if cfg.spi <= 255 {
            return Err(SaError::ReservedSpi(cfg.spi));
        }
        let klen = cfg.algorithm.key_len();
        if cfg.key.len() != cfg.algorithm.keymat_len() {
            return Err(SaError::Key(KeyError {
                expected: cfg.algorithm.keymat_len(),
                got: cfg.key.len(),
            }));
        }
        let aead =
            AeadKey::new(cfg.backend, cfg.algorithm, &cfg.key[..klen]).map_err(SaError::Key)?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&cfg.key[klen..]);
        let replay = ReplayWindow::new(cfg.replay_window).map_err(SaError::Window)?;
        Ok(Self {
            spi: cfg.spi,
            aead,
            salt,
            esn: cfg.esn,
            next_seq: AtomicU64::new(1),
            first_seq: AtomicU64::new(1),
            soft_limit: if cfg.esn {
                1 << 63
            } else {
                u64::from(u32::MAX) - (1 << 24)
            },
            replay,
            anti_replay: true,
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            rekey_needed: AtomicBool::new(false),
        })
    }

    /// Turns the inbound anti-replay check off (RFC 4303 section 3.4.3
    /// lets the receiver do so, e.g. for a looping traffic source whose
    /// sequence numbers repeat). The window is neither checked nor moved;
    /// with ESN the high half is still inferred from it.
    pub fn without_anti_replay(mut self) -> Self {
        self.anti_replay = false;
        self
    }

    /// True when inbound packets are checked against the replay window.
    pub fn anti_replay(&self) -> bool {
        self.anti_replay
    }

    /// The SPI.
    #[inline]
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.aead.algorithm()
    }

    /// True with extended sequence numbers.
    pub fn esn(&self) -> bool {
        self.esn
    }

    /// The largest sequence number this SA may send.
    ///
    /// With ESN this is 2^63 - 1 rather than the RFC's 2^64 - 1: the counter
    /// is advanced with one `fetch_add`, and stopping half way leaves 2^63
    /// refused attempts before the 64-bit counter could wrap (centuries at
    /// any packet rate), so no number can ever be handed out twice. No SA
    /// lives long enough to notice the lower limit.
    pub fn max_seq(&self) -> u64 {
        if self.esn {
            (1 << 63) - 1
        } else {
            u64::from(u32::MAX)
        }
    }

    /// Sets the next sequence number to send, for an SA restored after a
    /// control-plane restart (and for tests at the 2^32 boundary). Numbers
    /// must never be reused: call it only before the SA sends.
    pub fn set_next_seq(&self, seq: u64) {
        let seq = seq.max(1);
        self.first_seq.store(seq, Ordering::Relaxed);
        self.next_seq.store(seq, Ordering::Release);
    }

    /// The next sequence number to send (past [`Sa::max_seq`] once
    /// exhausted).
    pub fn next_seq(&self) -> u64 {
        self.next_seq.load(Ordering::Acquire)
    }

    /// True once the SA passed its soft limit or ran out of sequence
    /// numbers: the control plane should rekey.
    pub fn rekey_needed(&self) -> bool {
        self.rekey_needed.load(Ordering::Relaxed)
    }

    /// Adds to the SA's counters: `packets` opened (sealed packets are
    /// counted by the sequence number) and `bytes` of ESP payload (what is
    /// encrypted, without padding and trailer) sealed or opened. [`seal`] and [`open`] leave counting to their caller, so that
    /// a worker adds once per burst and per SA instead of once per packet
    /// (two atomic read-modify-writes saved per packet).
    #[inline]
    pub fn count(&self, opened_packets: u64, bytes: u64) {
        if opened_packets != 0 {
            self.packets.fetch_add(opened_packets, Ordering::Relaxed);
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Packets sealed or opened (opened ones as counted with [`Sa::count`]).
    pub fn packets(&self) -> u64 {
        let next = self
            .next_seq
            .load(Ordering::Relaxed)
            .min(self.max_seq() + 1);
        let sealed = next.saturating_sub(self.first_seq.load(Ordering::Relaxed));
        self.packets.load(Ordering::Relaxed) + sealed
    }

    /// Payload bytes sealed or opened, as counted with [`Sa::count`].
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The inbound replay window.
    pub fn replay_window(&self) -> &ReplayWindow {
        &self.replay
    }

    /// Takes the next outbound sequence number. Several workers may call
    /// this at once: each number is handed out once, and never past the
    /// maximum (RFC 4303 section 3.3.3: the counter MUST NOT cycle).
    #[inline]
    fn take_seq(&self) -> Result<u64, DropReason> {
        self.reserve_seq(1).map(|r| r.first)
    }

    /// Reserves `n` consecutive outbound sequence numbers with one atomic
    /// add, for a burst of packets to this SA (as DPDK's librte_ipsec does).
    /// Several workers may reserve at once: each number is handed out once,
    /// and never past the maximum (RFC 4303 section 3.3.3: the counter MUST
    /// NOT cycle). The range may be shorter than `n` when the SA runs out;
    /// numbers reserved but not used leave a gap, which receivers accept.
    #[inline]
    pub fn reserve_seq(&self, n: u64) -> Result<SeqRange, DropReason> {
        // Past the maximum the counter keeps rising (refused), far from
        // wrapping: see `max_seq`.
        let first = self.next_seq.fetch_add(n, Ordering::Relaxed);
        let max = self.max_seq();
        if first == 0 || first > max || n == 0 {
            //= https://www.rfc-editor.org/rfc/rfc4303#section-3.3.3
            //# If anti-replay is enabled (the default), the sender checks
            //# to ensure that the counter has not cycled before inserting
            //# the new value in the Sequence Number field.
            self.rekey_needed.store(true, Ordering::Relaxed);
            return Err(DropReason::SeqExhausted);
        }
        let len = n.min(max - first + 1);
        if first + len > self.soft_limit || len < n {
            self.rekey_needed.store(true, Ordering::Relaxed);
        }
        Ok(SeqRange { first, len })
    }

    #[inline]
    fn nonce(&self, iv: &[u8]) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        n[..SALT_LEN].copy_from_slice(&self.salt);
        n[SALT_LEN..].copy_from_slice(iv);
        n
    }

    /// AAD: SPI || seq (RFC 4106 section 5, RFC 7634 section 2.1), or
    /// SPI || seq high || seq low with ESN. Returns the buffer and length.
    #[inline]
    fn aad(&self, seq: u64) -> ([u8; 12], usize) {
        let mut a = [0u8; 12];
        a[..4].copy_from_slice(&self.spi.to_be_bytes());
        if self.esn {
            a[4..12].copy_from_slice(&seq.to_be_bytes());
            (a, 12)
        } else {
            a[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
            (a, 8)
        }
    }
}

/// Padding so that payload + pad + 2 is a multiple of 4 (RFC 4303 section
/// 2.4: the ciphertext must end on a 4-byte boundary; AEAD ciphers need no
/// more).
#[inline]
pub const fn pad_len(payload_len: usize) -> usize {
    (4 - (payload_len + 2) % 4) % 4
}

/// Seals the payload in `buf` into an ESP packet, in place. Returns the
/// sequence number used. The caller counts the bytes with [`Sa::count`]. `next_header` names the payload (47 GRE, 4 IPv4,
/// 41 IPv6).
///
/// The IV is the 64-bit sequence number (RFC 4106 section 3.1 and RFC 7634
/// section 2 require only uniqueness per key; this is the common choice).
#[inline]
pub fn seal<B: PacketBuf>(sa: &Sa, buf: &mut B, next_header: u8) -> Result<u64, DropReason> {
    let pad = pad_len(buf.len());
    if buf.headroom() < PREFIX_LEN || buf.tailroom() < pad + 2 + ICV_LEN {
        return Err(DropReason::NoRoom);
    }
    let seq = sa.take_seq()?;
    seal_with(sa, buf, next_header, seq, &seq.to_be_bytes(), pad)?;
    Ok(seq)
}

/// [`seal`] with a sequence number reserved with [`Sa::reserve_seq`]. Each
/// reserved number must be used at most once.
#[inline]
pub fn seal_reserved<B: PacketBuf>(
    sa: &Sa,
    buf: &mut B,
    next_header: u8,
    seq: u64,
) -> Result<(), DropReason> {
    let pad = pad_len(buf.len());
    seal_with(sa, buf, next_header, seq, &seq.to_be_bytes(), pad)
}

/// [`seal`] with a given sequence number, IV and pad length: for test
/// vectors whose IV is not the sequence number. Never use it on traffic.
#[doc(hidden)]
pub fn seal_with<B: PacketBuf>(
    sa: &Sa,
    buf: &mut B,
    next_header: u8,
    seq: u64,
    iv: &[u8; IV_LEN],
    pad: usize,
) -> Result<(), DropReason> {
    let payload_len = buf.len();
    let trailer = pad + 2;
    if buf.headroom() < PREFIX_LEN || buf.tailroom() < trailer + ICV_LEN {
        return Err(DropReason::NoRoom);
    }
    buf.prepend(PREFIX_LEN);
    buf.append(trailer + ICV_LEN);
    let data = buf.data_mut();
    data[0..4].copy_from_slice(&sa.spi.to_be_bytes());
    data[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
    data[8..16].copy_from_slice(iv);
    let ct_end = PREFIX_LEN + payload_len + trailer;
    //= https://www.rfc-editor.org/rfc/rfc4303#section-2.4
    //# the Padding bytes are initialized with a series of (unsigned, 1-byte)
    //# integer values.  The first padding byte appended to the plaintext is
    //# numbered 1, with subsequent padding bytes making up a monotonically
    //# increasing sequence
    for (i, b) in data[PREFIX_LEN + payload_len..ct_end - 2]
        .iter_mut()
        .enumerate()
    {
        *b = (i + 1) as u8;
    }
    data[ct_end - 2] = pad as u8;
    data[ct_end - 1] = next_header;
    let nonce = sa.nonce(iv);
    let (aad, aad_len) = sa.aad(seq);
    let (body, icv) = data.split_at_mut(ct_end);
    let tag = sa
        .aead
        .seal_in_place_detached(&nonce, &aad[..aad_len], &mut body[PREFIX_LEN..]);
    icv.copy_from_slice(&tag);
    Ok(())
}

/// The SPI of an ESP packet, without validating anything else.
#[inline]
pub fn peek_spi(bytes: &[u8]) -> Option<u32> {
    let b: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// Opens the ESP packet in `buf` (from the ESP header on): anti-replay
/// check, ICV verification and decryption, window update, padding check.
/// On success `buf` holds the payload; on failure it is to be dropped. The
/// caller counts the packet with [`Sa::count`].
#[inline]
pub fn open<B: PacketBuf>(sa: &Sa, buf: &mut B) -> Result<Opened, DropReason> {
    let len = buf.len();
    if len < MIN_PACKET_LEN {
        return Err(DropReason::Malformed);
    }
    let data = buf.data_mut();
    if peek_spi(data) != Some(sa.spi) {
        return Err(DropReason::NoSa);
    }
    let seq_lo = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    //= https://www.rfc-editor.org/rfc/rfc4303#section-3.4.3
    //# If the received packet falls within the window and is not new, or if
    //# the packet is to the left of the window, then the receiver MUST
    //# discard the packet.
    let seq = if sa.esn {
        sa.replay.esn_infer(seq_lo)
    } else {
        u64::from(seq_lo)
    };
    if sa.anti_replay {
        sa.replay.check(seq)?;
    }
    let nonce = sa.nonce(&data[HEADER_LEN..PREFIX_LEN]);
    let (aad, aad_len) = sa.aad(seq);
    let (body, icv) = data.split_at_mut(len - ICV_LEN);
    let mut tag = [0u8; ICV_LEN];
    tag.copy_from_slice(icv);
    let ct = &mut body[PREFIX_LEN..];
    sa.aead
        .open_in_place_detached(&nonce, &aad[..aad_len], ct, &tag)
        .map_err(|_| DropReason::IcvMismatch)?;
    if sa.anti_replay {
        sa.replay.commit(seq)?;
    }
    let ct_len = ct.len();
    let next_header = ct[ct_len - 1];
    let pad = usize::from(ct[ct_len - 2]);
    if pad + 2 > ct_len {
        return Err(DropReason::BadPadding);
    }
    //= https://www.rfc-editor.org/rfc/rfc4303#section-2.4
    //# the receiver SHOULD inspect the Padding field.
    if ct[ct_len - 2 - pad..ct_len - 2]
        .iter()
        .enumerate()
        .any(|(i, &b)| b != (i + 1) as u8)
    {
        return Err(DropReason::BadPadding);
    }
    if next_header == NEXT_HEADER_DUMMY {
        // RFC 4303 section 2.6: a dummy packet; discard it (counted).
        return Err(DropReason::BadNextHeader);
    }
    buf.trim(pad + 2 + ICV_LEN);
    buf.adj(PREFIX_LEN);
    Ok(Opened { next_header, seq })
}

#[cfg(test)]
mod tests;

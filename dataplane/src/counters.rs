//! Per-worker counters: packets by outcome and drops by reason.
//!
//! Every packet the pipeline gives up on is counted under exactly one
//! [`DropReason`]. Counters are plain integers owned by one worker (no
//! atomics, no sharing on the hot path); the I/O layer publishes snapshots
//! for the main lcore to sum.

/// Why a packet was dropped. Indexes [`WorkerCounters::drops`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// A header or length field does not fit the bytes that arrived.
    Malformed = 0,
    /// IPv4 header checksum does not verify.
    BadChecksum,
    /// An IP version, EtherType or protocol the path does not handle.
    Unsupported,
    /// No inbound SA has this SPI.
    NoSa,
    /// Sequence number already seen (inside the window).
    Replay,
    /// Sequence number left of the anti-replay window.
    ReplayTooOld,
    /// AEAD authentication failed (ICV mismatch).
    IcvMismatch,
    /// ESP padding bytes or pad length are not as RFC 4303 requires.
    BadPadding,
    /// The ESP next header (or GRE protocol type) is not one we carry.
    BadNextHeader,
    /// The inner packet does not match the tunnel the SA belongs to.
    TunnelMismatch,
    /// Outbound sequence numbers are exhausted: the SA needs a rekey.
    SeqExhausted,
    /// The destination has no route.
    NoRoute,
    /// The route points at a tunnel that does not exist.
    NoTunnel,
    /// The tunnel has no outbound SA (not up yet, or being rekeyed).
    NoOutboundSa,
    /// TTL or hop limit reached zero while forwarding.
    TtlExceeded,
    /// The packet is larger than the path allows.
    TooBig,
    /// Not enough headroom or tailroom to encapsulate.
    NoRoom,
    /// Addressed to us but not a protocol the dataplane terminates.
    NotForUs,
}

impl DropReason {
    /// Number of reasons; the length of the counter array.
    pub const COUNT: usize = 18;

    /// Every reason, in index order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::Malformed,
        Self::BadChecksum,
        Self::Unsupported,
        Self::NoSa,
        Self::Replay,
        Self::ReplayTooOld,
        Self::IcvMismatch,
        Self::BadPadding,
        Self::BadNextHeader,
        Self::TunnelMismatch,
        Self::SeqExhausted,
        Self::NoRoute,
        Self::NoTunnel,
        Self::NoOutboundSa,
        Self::TtlExceeded,
        Self::TooBig,
        Self::NoRoom,
        Self::NotForUs,
    ];

    /// Stable snake_case name, used as a metrics label.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::BadChecksum => "bad_checksum",
            Self::Unsupported => "unsupported",
            Self::NoSa => "no_sa",
            Self::Replay => "replay",
            Self::ReplayTooOld => "replay_too_old",
            Self::IcvMismatch => "icv_mismatch",
            Self::BadPadding => "bad_padding",
            Self::BadNextHeader => "bad_next_header",
            Self::TunnelMismatch => "tunnel_mismatch",
            Self::SeqExhausted => "seq_exhausted",
            Self::NoRoute => "no_route",
            Self::NoTunnel => "no_tunnel",
            Self::NoOutboundSa => "no_outbound_sa",
            Self::TtlExceeded => "ttl_exceeded",
            Self::TooBig => "too_big",
            Self::NoRoom => "no_room",
            Self::NotForUs => "not_for_us",
        }
    }

    /// Index into the counter array.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Counters owned by one worker, on their own cache lines.
#[derive(Clone, Debug, Default)]
#[repr(C, align(64))]
pub struct WorkerCounters {
    /// Packets handed to the pipeline.
    pub rx_packets: u64,
    /// Bytes handed to the pipeline.
    pub rx_bytes: u64,
    /// Packets the pipeline passed on for transmission.
    pub tx_packets: u64,
    /// Bytes passed on for transmission.
    pub tx_bytes: u64,
    /// ESP packets decrypted and authenticated.
    pub esp_decrypted: u64,
    /// ESP packets sealed.
    pub esp_encrypted: u64,
    /// Packets handed to the control plane (ARP, ND, IKE, NHRP).
    pub punted: u64,
    /// Packets consumed without reply or error (NAT keepalives).
    pub consumed: u64,
    /// IPv4 packets without DF larger than their tunnel's MTU, handed out
    /// to be split into fragments ([`crate::pipeline::Action::Fragment`]).
    pub fragmented: u64,
    /// ICMP and ICMPv6 echo requests to one of our addresses answered (the
    /// replies are also counted as transmitted, or dropped, as any packet).
    pub echo_replies: u64,
    /// ICMP and ICMPv6 errors sent (time exceeded, fragmentation needed,
    /// packet too big); each replaces the packet it is about, which is not
    /// counted as a drop.
    pub icmp_errors: u64,
    /// ICMP errors not sent for want of budget (the packet is dropped and
    /// counted under its reason).
    pub icmp_errors_limited: u64,
    /// Packets dropped, by reason.
    pub drops: [u64; DropReason::COUNT],
}

impl WorkerCounters {
    /// Counts one drop.
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        self.drops[reason.index()] += 1;
    }

    /// Drops counted for `reason`.
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops[reason.index()]
    }

    /// All drops together.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Names of the counters before the drops, in [`WorkerCounters::to_values`]
    /// order (the drops follow, in [`DropReason::ALL`] order).
    pub const HEAD_NAMES: [&'static str; 12] = [
        "rx_packets",
        "rx_bytes",
        "tx_packets",
        "tx_bytes",
        "esp_decrypted",
        "esp_encrypted",
        "punted",
        "consumed",
        "fragmented",
        "echo_replies",
        "icmp_errors",
        "icmp_errors_limited",
    ];

    /// How many values [`WorkerCounters::values`] has.
    pub const VALUES: usize = Self::HEAD_NAMES.len() + DropReason::COUNT;

    /// The counters as a flat array (no allocation):
    /// [`WorkerCounters::HEAD_NAMES`], then the drops by reason.
    pub fn values(&self) -> [u64; Self::VALUES] {
        let head = [
            self.rx_packets,
            self.rx_bytes,
            self.tx_packets,
            self.tx_bytes,
            self.esp_decrypted,
            self.esp_encrypted,
            self.punted,
            self.consumed,
            self.fragmented,
            self.echo_replies,
            self.icmp_errors,
            self.icmp_errors_limited,
        ];
        let mut v = [0u64; Self::VALUES];
        v[..head.len()].copy_from_slice(&head);
        v[head.len()..].copy_from_slice(&self.drops);
        v
    }

    /// [`WorkerCounters::values`] as a vector.
    pub fn to_values(&self) -> Vec<u64> {
        self.values().to_vec()
    }

    /// The inverse of [`WorkerCounters::to_values`]; `None` for a list of
    /// another length.
    pub fn from_values(v: &[u64]) -> Option<Self> {
        if v.len() != Self::VALUES {
            return None;
        }
        let mut drops = [0u64; DropReason::COUNT];
        drops.copy_from_slice(&v[Self::HEAD_NAMES.len()..]);
        Some(Self {
            rx_packets: v[0],
            rx_bytes: v[1],
            tx_packets: v[2],
            tx_bytes: v[3],
            esp_decrypted: v[4],
            esp_encrypted: v[5],
            punted: v[6],
            consumed: v[7],
            fragmented: v[8],
            echo_replies: v[9],
            icmp_errors: v[10],
            icmp_errors_limited: v[11],
            drops,
        })
    }

    /// Adds `other` into `self` (summing workers).
    pub fn accumulate(&mut self, other: &Self) {
        self.rx_packets += other.rx_packets;
        self.rx_bytes += other.rx_bytes;
        self.tx_packets += other.tx_packets;
        self.tx_bytes += other.tx_bytes;
        self.esp_decrypted += other.esp_decrypted;
        self.esp_encrypted += other.esp_encrypted;
        self.punted += other.punted;
        self.consumed += other.consumed;
        self.fragmented += other.fragmented;
        self.echo_replies += other.echo_replies;
        self.icmp_errors += other.icmp_errors;
        self.icmp_errors_limited += other.icmp_errors_limited;
        for (a, b) in self.drops.iter_mut().zip(other.drops.iter()) {
            *a += *b;
        }
    }
}

/// Upper bounds (ns) of the [`LatencyHistogram`] buckets: 256 ns doubling
/// to about 67 ms; one more bucket holds the rest.
pub const LATENCY_BOUNDS_NS: [u64; 19] = [
    256, 512, 1_024, 2_048, 4_096, 8_192, 16_384, 32_768, 65_536, 131_072, 262_144, 524_288,
    1_048_576, 2_097_152, 4_194_304, 8_388_608, 16_777_216, 33_554_432, 67_108_864,
];

/// Buckets of a [`LatencyHistogram`] (the bounds, then the overflow).
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_NS.len() + 1;

/// How long packets stayed in a worker, in power-of-two buckets: the loop
/// around the pipeline times each burst from its receive to the end of its
/// transmission and records that time once per packet of the burst. Plain
/// integers, no allocation; the values travel to the control plane with
/// the counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Packets per bucket (not cumulative).
    pub counts: [u64; LATENCY_BUCKETS],
    /// Sum of the recorded times, ns.
    pub sum_ns: u64,
}

impl LatencyHistogram {
    /// How many values [`LatencyHistogram::values`] has.
    pub const VALUES: usize = LATENCY_BUCKETS + 1;

    /// Records `packets` packets that stayed `ns` nanoseconds.
    #[inline]
    pub fn record(&mut self, ns: u64, packets: u64) {
        let i = LATENCY_BOUNDS_NS
            .iter()
            .position(|b| ns <= *b)
            .unwrap_or(LATENCY_BOUNDS_NS.len());
        self.counts[i] += packets;
        self.sum_ns = self.sum_ns.saturating_add(ns.saturating_mul(packets));
    }

    /// Packets recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The bucket counts, then the sum.
    pub fn values(&self) -> [u64; Self::VALUES] {
        let mut v = [0u64; Self::VALUES];
        v[..LATENCY_BUCKETS].copy_from_slice(&self.counts);
        v[LATENCY_BUCKETS] = self.sum_ns;
        v
    }

    /// The inverse of [`LatencyHistogram::values`]; `None` for a list of
    /// another length.
    pub fn from_values(v: &[u64]) -> Option<Self> {
        if v.len() != Self::VALUES {
            return None;
        }
        let mut counts = [0u64; LATENCY_BUCKETS];
        counts.copy_from_slice(&v[..LATENCY_BUCKETS]);
        Some(Self {
            counts,
            sum_ns: v[LATENCY_BUCKETS],
        })
    }

    /// Adds `other` into `self`.
    pub fn accumulate(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += *b;
        }
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_values_round_trip() {
        let mut c = WorkerCounters {
            rx_packets: 5,
            consumed: 2,
            ..Default::default()
        };
        c.drop(DropReason::ALL[3]);
        let v = c.to_values();
        let back = WorkerCounters::from_values(&v).unwrap();
        assert_eq!(back.to_values(), v);
        assert!(WorkerCounters::from_values(&v[1..]).is_none());
    }

    #[test]
    fn test_reason_indexes_are_dense() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "{}", r.name());
        }
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
    }

    #[test]
    fn test_accumulate() {
        let mut a = WorkerCounters::default();
        a.drop(DropReason::Replay);
        let mut b = WorkerCounters::default();
        b.drop(DropReason::Replay);
        b.drop(DropReason::NoSa);
        b.rx_packets = 3;
        a.accumulate(&b);
        assert_eq!(a.drops_for(DropReason::Replay), 2);
        assert_eq!(a.total_drops(), 3);
        assert_eq!(a.rx_packets, 3);
    }

    #[test]
    fn test_latency_histogram() {
        let mut h = LatencyHistogram::default();
        h.record(0, 1);
        h.record(256, 2);
        h.record(257, 3);
        h.record(1_000, 4);
        h.record(u64::MAX / 2, 5);
        assert_eq!(h.counts[0], 3, "up to 256 ns, bound included");
        assert_eq!(h.counts[1], 3);
        assert_eq!(h.counts[2], 4);
        assert_eq!(h.counts[LATENCY_BUCKETS - 1], 5, "past the last bound");
        assert_eq!(h.count(), 15);
        assert_eq!(h.sum_ns, u64::MAX, "the sum saturates");
        let back = LatencyHistogram::from_values(&h.values()).unwrap();
        assert_eq!(back, h);
        assert!(LatencyHistogram::from_values(&h.values()[1..]).is_none());
        let mut t = LatencyHistogram::default();
        t.accumulate(&back);
        t.accumulate(&LatencyHistogram::default());
        assert_eq!(t.count(), 15);
        assert!(LATENCY_BOUNDS_NS.windows(2).all(|w| w[0] < w[1]));
    }
}

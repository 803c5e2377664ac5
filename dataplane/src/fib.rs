//! The FIB: IPv4 and IPv6 longest-prefix match with lock-free readers and
//! one writer.
//!
//! Structure: a multibit trie with 8-bit strides (IPv4 at most 4 levels,
//! IPv6 at most 16) and controlled prefix expansion. A prefix of length `L`
//! with `8d < L <= 8(d+1)` lives in a level-`d` node and covers
//! `2^(8(d+1)-L)` consecutive slots; each slot holds the longest such prefix
//! covering it. Lookup walks down by address bytes, remembering the last
//! next hop seen: at most 4 (IPv4) or 16 (IPv6) dependent loads, whatever
//! the table size.
//!
//! A slot is a next hop packed into a `u64` (`0` = none) and a child
//! pointer, side by side, so each step of a lookup is one cache access. A
//! node is 4 KiB: 1M random IPv4 /24 routes fill about 65,536 leaf nodes,
//! about 260 MiB; a hub's typical table (a few routes per spoke, clustered
//! in a few /16s) takes a few MiB.
//!
//! Concurrency: the writer path-copies (`Arc::make_mut`) a private working
//! version and publishes it with one `ArcSwap::store`; readers take a
//! snapshot once per burst. The writer keeps the authoritative route set to
//! recompute slots on insert and remove.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

/// Where a route sends packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// Out of a port, to this MAC address. Ports 0 to 4095.
    Port {
        /// Port index.
        port: u16,
        /// Destination MAC of the next hop.
        mac: [u8; 6],
    },
    /// Into a tunnel (its id in the tunnel table).
    Tunnel(u32),
    /// One of our own addresses.
    Local,
    /// Drop (a null route).
    Blackhole,
}

/// Largest port index a [`NextHop::Port`] can carry.
pub const MAX_PORT: u16 = 4095;

const TAG_PORT: u64 = 1;
const TAG_TUNNEL: u64 = 2;
const TAG_LOCAL: u64 = 3;
const TAG_BLACKHOLE: u64 = 4;

impl NextHop {
    fn pack(self) -> u64 {
        match self {
            Self::Port { port, mac } => {
                let mut m = [0u8; 8];
                m[2..].copy_from_slice(&mac);
                TAG_PORT << 60 | u64::from(port & MAX_PORT) << 48 | u64::from_be_bytes(m)
            }
            Self::Tunnel(id) => TAG_TUNNEL << 60 | u64::from(id),
            Self::Local => TAG_LOCAL << 60,
            Self::Blackhole => TAG_BLACKHOLE << 60,
        }
    }

    #[inline]
    fn unpack(v: u64) -> Option<Self> {
        match v >> 60 {
            TAG_PORT => {
                let b = v.to_be_bytes();
                Some(Self::Port {
                    port: ((v >> 48) as u16) & MAX_PORT,
                    mac: [b[2], b[3], b[4], b[5], b[6], b[7]],
                })
            }
            TAG_TUNNEL => Some(Self::Tunnel(v as u32)),
            TAG_LOCAL => Some(Self::Local),
            TAG_BLACKHOLE => Some(Self::Blackhole),
            _ => None,
        }
    }
}

/// Errors from the FIB writer and prefix parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FibError {
    /// Prefix length longer than the address.
    BadLength,
    /// Not of the form `address/length`.
    BadSyntax,
    /// The next hop's port is above [`MAX_PORT`].
    BadPort,
}

impl fmt::Display for FibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadLength => "prefix length longer than the address",
            Self::BadSyntax => "expected ADDRESS/LENGTH",
            Self::BadPort => "port index above 4095",
        })
    }
}

impl std::error::Error for FibError {}

/// A prefix of an `N`-byte address; host bits are always zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix<const N: usize> {
    addr: [u8; N],
    len: u8,
}

/// An IPv4 prefix.
pub type Ipv4Prefix = Prefix<4>;
/// An IPv6 prefix.
pub type Ipv6Prefix = Prefix<16>;

fn mask_bytes<const N: usize>(mut addr: [u8; N], len: u8) -> [u8; N] {
    let len = usize::from(len);
    for (i, b) in addr.iter_mut().enumerate() {
        let keep = len.saturating_sub(i * 8).min(8);
        *b &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
    }
    addr
}

impl<const N: usize> Prefix<N> {
    /// A prefix; host bits beyond `len` are cleared (as `ip route` does).
    pub fn new(addr: [u8; N], len: u8) -> Result<Self, FibError> {
        if usize::from(len) > N * 8 {
            return Err(FibError::BadLength);
        }
        Ok(Self {
            addr: mask_bytes(addr, len),
            len,
        })
    }
    /// The network address.
    pub fn addr(&self) -> [u8; N] {
        self.addr
    }
    /// The prefix length in bits.
    pub fn len(&self) -> u8 {
        self.len
    }
    /// True for the default route (length 0).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True if `addr` falls inside the prefix.
    pub fn contains(&self, addr: &[u8; N]) -> bool {
        mask_bytes(*addr, self.len) == self.addr
    }
}

impl fmt::Display for Prefix<4> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.addr), self.len)
    }
}

impl fmt::Display for Prefix<16> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv6Addr::from(self.addr), self.len)
    }
}

impl<const N: usize> fmt::Debug for Prefix<N>
where
    Self: fmt::Display,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn split_prefix(s: &str) -> Result<(&str, u8), FibError> {
    let (a, l) = s.split_once('/').ok_or(FibError::BadSyntax)?;
    let l = l.parse().map_err(|_| FibError::BadSyntax)?;
    Ok((a, l))
}

impl FromStr for Prefix<4> {
    type Err = FibError;
    fn from_str(s: &str) -> Result<Self, FibError> {
        let (a, l) = split_prefix(s)?;
        let a: Ipv4Addr = a.parse().map_err(|_| FibError::BadSyntax)?;
        Self::new(a.octets(), l)
    }
}

impl FromStr for Prefix<16> {
    type Err = FibError;
    fn from_str(s: &str) -> Result<Self, FibError> {
        let (a, l) = split_prefix(s)?;
        let a: Ipv6Addr = a.parse().map_err(|_| FibError::BadSyntax)?;
        Self::new(a.octets(), l)
    }
}

/// One slot: the next hop of the longest prefix expanded into it and the
/// child node, side by side so that a lookup step is one cache access.
#[derive(Clone, Default)]
struct Slot {
    nh: u64,
    child: Option<Arc<Node>>,
}

#[derive(Clone)]
struct Node {
    slots: [Slot; 256],
}

impl Node {
    fn new() -> Self {
        Self {
            slots: std::array::from_fn(|_| Slot::default()),
        }
    }
    fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| s.nh == 0 && s.child.is_none())
    }
    fn bytes(&self) -> usize {
        size_of::<Self>()
    }
}

/// One address family's trie.
#[derive(Clone)]
struct Trie<const N: usize> {
    default: u64,
    root: Arc<Node>,
}

impl<const N: usize> Trie<N> {
    fn new() -> Self {
        Self {
            default: 0,
            root: Arc::new(Node::new()),
        }
    }

    #[inline]
    fn lookup(&self, addr: &[u8; N]) -> Option<NextHop> {
        let mut best = self.default;
        let mut node: &Node = &self.root;
        for &b in addr.iter() {
            let slot = &node.slots[usize::from(b)];
            if slot.nh != 0 {
                best = slot.nh;
            }
            match slot.child.as_deref() {
                Some(child) => node = child,
                None => break,
            }
        }
        NextHop::unpack(best)
    }
}

/// The routes of one family, and the trie built from them.
struct Family<const N: usize> {
    routes: HashMap<Prefix<N>, NextHop>,
    trie: Trie<N>,
}

impl<const N: usize> Family<N> {
    fn new() -> Self {
        Self {
            routes: HashMap::new(),
            trie: Trie::new(),
        }
    }

    fn insert(&mut self, p: Prefix<N>, nh: NextHop) -> Option<NextHop> {
        let old = self.routes.insert(p, nh);
        if old != Some(nh) {
            self.refresh(p);
        }
        old
    }

    fn remove(&mut self, p: Prefix<N>) -> Option<NextHop> {
        let old = self.routes.remove(&p)?;
        self.refresh(p);
        Some(old)
    }

    /// Recomputes the slots that prefix `p` covers, and prunes empty nodes.
    fn refresh(&mut self, p: Prefix<N>) {
        if p.len == 0 {
            self.trie.default = self.routes.get(&p).map_or(0, |nh| nh.pack());
            return;
        }
        let level = (usize::from(p.len) - 1) / 8;
        let span_bits = 8 * (level + 1) - usize::from(p.len);
        let first = usize::from(p.addr[level]) & !((1usize << span_bits) - 1);
        let routes = &self.routes;
        let node = node_at(&mut self.trie.root, &p.addr[..level]);
        for slot in first..first + (1 << span_bits) {
            node.slots[slot].nh = best_in_slot(routes, &p.addr, level, slot as u8);
        }
        prune(&mut self.trie.root, &p.addr[..level]);
    }

    fn memory_bytes(&self) -> usize {
        fn walk(n: &Node) -> usize {
            n.bytes()
                + n.slots
                    .iter()
                    .filter_map(|s| s.child.as_deref())
                    .map(walk)
                    .sum::<usize>()
        }
        walk(&self.trie.root)
    }
}

/// The longest route of length in (8*level, 8*level+8] covering `slot` at
/// `level` under the path `addr[..level]`, packed.
fn best_in_slot<const N: usize>(
    routes: &HashMap<Prefix<N>, NextHop>,
    addr: &[u8; N],
    level: usize,
    slot: u8,
) -> u64 {
    let mut a = [0u8; N];
    a[..level].copy_from_slice(&addr[..level]);
    a[level] = slot;
    for len in (8 * level + 1..=8 * level + 8).rev() {
        let len = len as u8;
        let key = Prefix {
            addr: mask_bytes(a, len),
            len,
        };
        if let Some(nh) = routes.get(&key) {
            return nh.pack();
        }
    }
    0
}

/// The node reached by `path` from `root`, created (and path-copied) as
/// needed.
fn node_at<'a>(root: &'a mut Arc<Node>, path: &[u8]) -> &'a mut Node {
    let mut node = Arc::make_mut(root);
    for &b in path {
        let child = node.slots[usize::from(b)]
            .child
            .get_or_insert_with(|| Arc::new(Node::new()));
        node = Arc::make_mut(child);
    }
    node
}

/// Removes empty nodes along `path`, deepest first.
fn prune(root: &mut Arc<Node>, path: &[u8]) {
    fn go(node: &mut Arc<Node>, path: &[u8]) {
        let Some((&b, rest)) = path.split_first() else {
            return;
        };
        let n = Arc::make_mut(node);
        let slot = &mut n.slots[usize::from(b)];
        if let Some(child) = slot.child.as_mut() {
            go(child, rest);
            if child.is_empty() {
                slot.child = None;
            }
        }
    }
    go(root, path);
}

#[derive(Clone)]
struct Version {
    v4: Trie<4>,
    v6: Trie<16>,
}

/// The FIB writer. Exactly one per FIB; changes become visible at
/// [`Fib::publish`].
pub struct Fib {
    v4: Family<4>,
    v6: Family<16>,
    shared: Arc<ArcSwap<Version>>,
    dirty: bool,
}

impl fmt::Debug for Fib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fib")
            .field("v4_routes", &self.v4.routes.len())
            .field("v6_routes", &self.v6.routes.len())
            .finish()
    }
}

impl Default for Fib {
    fn default() -> Self {
        Self::new()
    }
}

fn check_port(nh: NextHop) -> Result<(), FibError> {
    match nh {
        NextHop::Port { port, .. } if port > MAX_PORT => Err(FibError::BadPort),
        _ => Ok(()),
    }
}

impl Fib {
    /// An empty FIB.
    pub fn new() -> Self {
        let v4 = Family::new();
        let v6 = Family::new();
        let version = Version {
            v4: v4.trie.clone(),
            v6: v6.trie.clone(),
        };
        Self {
            v4,
            v6,
            shared: Arc::new(ArcSwap::from_pointee(version)),
            dirty: false,
        }
    }

    /// A handle for a worker.
    pub fn reader(&self) -> FibReader {
        FibReader {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Adds or replaces an IPv4 route; returns the next hop it replaced.
    /// Panics never; a port above [`MAX_PORT`] is refused.
    pub fn try_insert_v4(
        &mut self,
        p: Ipv4Prefix,
        nh: NextHop,
    ) -> Result<Option<NextHop>, FibError> {
        check_port(nh)?;
        self.dirty = true;
        Ok(self.v4.insert(p, nh))
    }

    /// Adds or replaces an IPv6 route; returns the next hop it replaced.
    pub fn try_insert_v6(
        &mut self,
        p: Ipv6Prefix,
        nh: NextHop,
    ) -> Result<Option<NextHop>, FibError> {
        check_port(nh)?;
        self.dirty = true;
        Ok(self.v6.insert(p, nh))
    }

    /// Like [`Fib::try_insert_v4`], for callers whose ports are known to be
    /// in range; an out-of-range port becomes a blackhole route.
    pub fn insert_v4(&mut self, p: Ipv4Prefix, nh: NextHop) -> Option<NextHop> {
        let nh = if check_port(nh).is_ok() {
            nh
        } else {
            NextHop::Blackhole
        };
        self.try_insert_v4(p, nh).ok().flatten()
    }

    /// Like [`Fib::try_insert_v6`]; an out-of-range port becomes a blackhole.
    pub fn insert_v6(&mut self, p: Ipv6Prefix, nh: NextHop) -> Option<NextHop> {
        let nh = if check_port(nh).is_ok() {
            nh
        } else {
            NextHop::Blackhole
        };
        self.try_insert_v6(p, nh).ok().flatten()
    }

    /// Removes an IPv4 route; returns its next hop.
    pub fn remove_v4(&mut self, p: Ipv4Prefix) -> Option<NextHop> {
        let old = self.v4.remove(p);
        self.dirty |= old.is_some();
        old
    }

    /// Removes an IPv6 route; returns its next hop.
    pub fn remove_v6(&mut self, p: Ipv6Prefix) -> Option<NextHop> {
        let old = self.v6.remove(p);
        self.dirty |= old.is_some();
        old
    }

    /// Makes every change since the last publish visible to readers at once.
    pub fn publish(&mut self) {
        if self.dirty {
            self.shared.store(Arc::new(Version {
                v4: self.v4.trie.clone(),
                v6: self.v6.trie.clone(),
            }));
            self.dirty = false;
        }
    }

    /// IPv4 routes.
    pub fn len_v4(&self) -> usize {
        self.v4.routes.len()
    }

    /// IPv6 routes.
    pub fn len_v6(&self) -> usize {
        self.v6.routes.len()
    }

    /// IPv4 routes, in no particular order.
    pub fn routes_v4(&self) -> impl Iterator<Item = (Ipv4Prefix, NextHop)> + '_ {
        self.v4.routes.iter().map(|(p, n)| (*p, *n))
    }

    /// IPv6 routes, in no particular order.
    pub fn routes_v6(&self) -> impl Iterator<Item = (Ipv6Prefix, NextHop)> + '_ {
        self.v6.routes.iter().map(|(p, n)| (*p, *n))
    }

    /// Bytes held by the tries of the working version.
    pub fn memory_bytes(&self) -> usize {
        self.v4.memory_bytes() + self.v6.memory_bytes()
    }

    /// Lookup in the working version (the writer's view).
    pub fn lookup_v4(&self, addr: [u8; 4]) -> Option<NextHop> {
        self.v4.trie.lookup(&addr)
    }

    /// Lookup in the working version (the writer's view).
    pub fn lookup_v6(&self, addr: [u8; 16]) -> Option<NextHop> {
        self.v6.trie.lookup(&addr)
    }
}

/// A worker's handle on the FIB. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct FibReader {
    shared: Arc<ArcSwap<Version>>,
}

impl fmt::Debug for FibReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FibReader").finish_non_exhaustive()
    }
}

impl FibReader {
    /// The current FIB version; take it once per burst.
    #[inline]
    pub fn snapshot(&self) -> FibSnapshot<'_> {
        FibSnapshot {
            version: self.shared.load(),
            _reader: std::marker::PhantomData,
        }
    }
}

/// One FIB version, held for a burst.
pub struct FibSnapshot<'a> {
    version: Guard<Arc<Version>>,
    _reader: std::marker::PhantomData<&'a ()>,
}

impl fmt::Debug for FibSnapshot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FibSnapshot").finish_non_exhaustive()
    }
}

impl FibSnapshot<'_> {
    /// Longest-prefix match for an IPv4 address.
    #[inline]
    pub fn lookup_v4(&self, addr: [u8; 4]) -> Option<NextHop> {
        self.version.v4.lookup(&addr)
    }

    /// Longest-prefix match for an IPv6 address.
    #[inline]
    pub fn lookup_v6(&self, addr: [u8; 16]) -> Option<NextHop> {
        self.version.v6.lookup(&addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p4(s: &str) -> Ipv4Prefix {
        s.parse().unwrap()
    }
    fn a4(s: &str) -> [u8; 4] {
        s.parse::<Ipv4Addr>().unwrap().octets()
    }

    #[test]
    fn test_pack_roundtrip() {
        for nh in [
            NextHop::Port {
                port: 0,
                mac: [0; 6],
            },
            NextHop::Port {
                port: MAX_PORT,
                mac: [0xff; 6],
            },
            NextHop::Port {
                port: 7,
                mac: [1, 2, 3, 4, 5, 6],
            },
            NextHop::Tunnel(0),
            NextHop::Tunnel(u32::MAX),
            NextHop::Local,
            NextHop::Blackhole,
        ] {
            assert_ne!(nh.pack(), 0);
            assert_eq!(NextHop::unpack(nh.pack()), Some(nh));
        }
    }

    #[test]
    fn test_prefix_parse_and_mask() {
        assert_eq!(p4("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(
            "10.0.0.0/33".parse::<Ipv4Prefix>(),
            Err(FibError::BadLength)
        );
        assert_eq!("10.0.0.0".parse::<Ipv4Prefix>(), Err(FibError::BadSyntax));
        let p6: Ipv6Prefix = "2001:db8::1/32".parse().unwrap();
        assert_eq!(p6.to_string(), "2001:db8::/32");
        assert!(p4("192.168.0.0/23").contains(&a4("192.168.1.7")));
        assert!(!p4("192.168.0.0/23").contains(&a4("192.168.2.7")));
    }

    #[test]
    fn test_longest_match_and_remove() {
        let mut f = Fib::new();
        let r = f.reader();
        f.insert_v4(p4("0.0.0.0/0"), NextHop::Blackhole);
        f.insert_v4(p4("10.0.0.0/8"), NextHop::Tunnel(1));
        f.insert_v4(p4("10.1.0.0/16"), NextHop::Tunnel(2));
        f.insert_v4(p4("10.1.2.0/23"), NextHop::Tunnel(3));
        f.insert_v4(p4("10.1.2.3/32"), NextHop::Local);
        assert_eq!(
            r.snapshot().lookup_v4(a4("10.1.2.3")),
            None,
            "nothing before publish"
        );
        f.publish();
        let s = r.snapshot();
        assert_eq!(s.lookup_v4(a4("10.1.2.3")), Some(NextHop::Local));
        assert_eq!(s.lookup_v4(a4("10.1.2.4")), Some(NextHop::Tunnel(3)));
        assert_eq!(s.lookup_v4(a4("10.1.3.4")), Some(NextHop::Tunnel(3)));
        assert_eq!(s.lookup_v4(a4("10.1.4.4")), Some(NextHop::Tunnel(2)));
        assert_eq!(s.lookup_v4(a4("10.9.4.4")), Some(NextHop::Tunnel(1)));
        assert_eq!(s.lookup_v4(a4("11.0.0.1")), Some(NextHop::Blackhole));
        assert_eq!(f.remove_v4(p4("10.1.2.0/23")), Some(NextHop::Tunnel(3)));
        assert_eq!(f.remove_v4(p4("10.1.2.0/23")), None);
        f.publish();
        let s2 = r.snapshot();
        assert_eq!(
            s2.lookup_v4(a4("10.1.2.4")),
            Some(NextHop::Tunnel(2)),
            "shorter prefix restored"
        );
        assert_eq!(
            s.lookup_v4(a4("10.1.2.4")),
            Some(NextHop::Tunnel(3)),
            "old snapshot unchanged"
        );
        f.remove_v4(p4("0.0.0.0/0"));
        f.publish();
        assert_eq!(r.snapshot().lookup_v4(a4("11.0.0.1")), None);
    }

    #[test]
    fn test_prune_returns_memory() {
        let mut f = Fib::new();
        let empty = f.memory_bytes();
        f.insert_v4(p4("10.1.2.3/32"), NextHop::Local);
        f.insert_v6("2001:db8::1/128".parse().unwrap(), NextHop::Local);
        assert!(f.memory_bytes() > empty);
        f.remove_v4(p4("10.1.2.3/32"));
        f.remove_v6("2001:db8::1/128".parse().unwrap());
        assert_eq!(f.memory_bytes(), empty);
    }

    #[test]
    fn test_ipv6() {
        let mut f = Fib::new();
        let r = f.reader();
        f.insert_v6("::/0".parse().unwrap(), NextHop::Tunnel(9));
        f.insert_v6("2001:db8::/32".parse().unwrap(), NextHop::Tunnel(1));
        f.insert_v6("2001:db8:1::/48".parse().unwrap(), NextHop::Tunnel(2));
        f.insert_v6("2001:db8:1::1/128".parse().unwrap(), NextHop::Local);
        f.publish();
        let s = r.snapshot();
        let a = |t: &str| t.parse::<Ipv6Addr>().unwrap().octets();
        assert_eq!(s.lookup_v6(a("2001:db8:1::1")), Some(NextHop::Local));
        assert_eq!(s.lookup_v6(a("2001:db8:1::2")), Some(NextHop::Tunnel(2)));
        assert_eq!(s.lookup_v6(a("2001:db8:2::2")), Some(NextHop::Tunnel(1)));
        assert_eq!(s.lookup_v6(a("fe80::1")), Some(NextHop::Tunnel(9)));
    }

    #[test]
    fn test_bad_port() {
        let mut f = Fib::new();
        let nh = NextHop::Port {
            port: 5000,
            mac: [0; 6],
        };
        assert_eq!(f.try_insert_v4(p4("1.0.0.0/8"), nh), Err(FibError::BadPort));
        f.insert_v4(p4("1.0.0.0/8"), nh);
        assert_eq!(f.lookup_v4(a4("1.2.3.4")), Some(NextHop::Blackhole));
    }
}

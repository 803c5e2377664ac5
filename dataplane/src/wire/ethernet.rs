//! Ethernet II frames with up to two VLAN tags (802.1Q, 802.1ad).

use super::{Error, EtherType, Result};

/// Untagged header length.
pub const HEADER_LEN: usize = 14;
/// Most VLAN tags parsed.
pub const MAX_TAGS: usize = 2;

/// A view of an Ethernet frame.
#[derive(Clone, Copy, Debug)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
    tags: u8,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Checks that the header and its VLAN tags fit. A third tag is
    /// `Unsupported`.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let mut tags = 0u8;
        let mut off = 12;
        loop {
            let et = EtherType(u16::from_be_bytes([b[off], b[off + 1]]));
            if et != EtherType::VLAN && et != EtherType::QINQ {
                break;
            }
            if usize::from(tags) == MAX_TAGS {
                return Err(Error::Unsupported);
            }
            tags += 1;
            off += 4;
            if b.len() < off + 2 {
                return Err(Error::Truncated);
            }
        }
        Ok(Self { buffer, tags })
    }

    /// Destination MAC.
    pub fn dst(&self) -> [u8; 6] {
        let b = self.buffer.as_ref();
        [b[0], b[1], b[2], b[3], b[4], b[5]]
    }

    /// Source MAC.
    pub fn src(&self) -> [u8; 6] {
        let b = self.buffer.as_ref();
        [b[6], b[7], b[8], b[9], b[10], b[11]]
    }

    /// Header length, tags included.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + 4 * usize::from(self.tags)
    }

    /// The EtherType after the tags.
    pub fn ethertype(&self) -> EtherType {
        let b = self.buffer.as_ref();
        let off = self.header_len() - 2;
        EtherType(u16::from_be_bytes([b[off], b[off + 1]]))
    }

    /// The VLAN IDs of the tags, outermost first (0 where absent).
    pub fn vlan_tags(&self) -> [u16; MAX_TAGS] {
        let b = self.buffer.as_ref();
        let mut out = [0u16; MAX_TAGS];
        for (i, o) in out.iter_mut().enumerate().take(usize::from(self.tags)) {
            let off = 14 + 4 * i;
            *o = u16::from_be_bytes([b[off], b[off + 1]]) & 0x0fff;
        }
        out
    }

    /// The payload after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

/// An untagged or single-tagged Ethernet header to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination MAC.
    pub dst: [u8; 6],
    /// Source MAC.
    pub src: [u8; 6],
    /// 802.1Q VLAN ID, if tagged.
    pub vlan: Option<u16>,
    /// EtherType of the payload.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Bytes the header takes.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + if self.vlan.is_some() { 4 } else { 0 }
    }

    /// Writes the header at the start of `buf` (at least `header_len()`
    /// bytes, else `Truncated`).
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let b = buf.get_mut(..self.header_len()).ok_or(Error::Truncated)?;
        b[0..6].copy_from_slice(&self.dst);
        b[6..12].copy_from_slice(&self.src);
        let mut off = 12;
        if let Some(vid) = self.vlan {
            b[12..14].copy_from_slice(&EtherType::VLAN.0.to_be_bytes());
            b[14..16].copy_from_slice(&(vid & 0x0fff).to_be_bytes());
            off = 16;
        }
        b[off..off + 2].copy_from_slice(&self.ethertype.0.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_untagged_and_tagged() {
        let mut f = vec![0u8; 60];
        let r = EthernetRepr {
            dst: [1; 6],
            src: [2; 6],
            vlan: None,
            ethertype: EtherType::IPV4,
        };
        r.emit(&mut f).unwrap();
        let e = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!(
            (e.dst(), e.src(), e.ethertype(), e.header_len()),
            ([1; 6], [2; 6], EtherType::IPV4, 14)
        );
        let r = EthernetRepr {
            vlan: Some(100),
            ..r
        };
        r.emit(&mut f).unwrap();
        let e = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!(
            (e.ethertype(), e.header_len(), e.vlan_tags()),
            (EtherType::IPV4, 18, [100, 0])
        );
        // QinQ
        let q = hex::decode("ffffffffffff02000000000188a8000a810000140800").unwrap();
        let e = EthernetFrame::new_checked(&q[..]).unwrap();
        assert_eq!(
            (e.ethertype(), e.header_len(), e.vlan_tags()),
            (EtherType::IPV4, 22, [10, 20])
        );
    }

    #[test]
    fn test_check_len() {
        let q = hex::decode("ffffffffffff02000000000188a8000a810000140800").unwrap();
        for n in 0..q.len() {
            assert!(EthernetFrame::new_checked(&q[..n]).is_err(), "{n}");
        }
        let three =
            hex::decode("ffffffffffff02000000000181000001810000028100000308000000").unwrap();
        assert_eq!(
            EthernetFrame::new_checked(&three[..]).err(),
            Some(Error::Unsupported)
        );
        let mut small = [0u8; 15];
        assert!(EthernetRepr {
            dst: [0; 6],
            src: [0; 6],
            vlan: Some(1),
            ethertype: EtherType::ARP
        }
        .emit(&mut small)
        .is_err());
    }
}

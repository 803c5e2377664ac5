//! Minimal classic pcap (libpcap 2.4) reader and writer, microsecond
//! timestamps, LINKTYPE_ETHERNET or LINKTYPE_RAW. Enough to feed golden
//! files to tshark, scapy and DPDK's `net_pcap`, and to read theirs back.

use std::io::{self, Read, Write};

/// Ethernet frames.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Raw IPv4/IPv6 packets, no link layer.
pub const LINKTYPE_RAW: u32 = 101;

const MAGIC_USEC: u32 = 0xa1b2_c3d4;
const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
const SNAPLEN: u32 = 262_144;

/// Writes packets to a pcap stream.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    count: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header.
    pub fn new(mut out: W, linktype: u32) -> io::Result<Self> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&MAGIC_USEC.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0
        h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&linktype.to_le_bytes());
        out.write_all(&h)?;
        Ok(Self { out, count: 0 })
    }

    /// Appends one packet with a timestamp in microseconds.
    pub fn write(&mut self, ts_usec: u64, data: &[u8]) -> io::Result<()> {
        let len = u32::try_from(data.len())
            .ok()
            .filter(|&l| l <= SNAPLEN)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "packet too large"))?;
        let mut h = [0u8; 16];
        let secs = u32::try_from(ts_usec / 1_000_000).unwrap_or(u32::MAX);
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&((ts_usec % 1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&len.to_le_bytes());
        h[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(data)?;
        self.count += 1;
        Ok(())
    }

    /// Packets written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One packet read from a pcap file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapPacket {
    /// Timestamp in microseconds.
    pub ts_usec: u64,
    /// Captured bytes.
    pub data: Vec<u8>,
}

/// Reads a whole pcap stream (either byte order, micro- or nanosecond
/// timestamps). Returns the link type and the packets.
pub fn read_all<R: Read>(mut input: R) -> io::Result<(u32, Vec<PcapPacket>)> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut h = [0u8; 24];
    input.read_exact(&mut h)?;
    let magic_le = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let (be, nsec) = match magic_le {
        MAGIC_USEC => (false, false),
        MAGIC_NSEC => (false, true),
        m if m.swap_bytes() == MAGIC_USEC => (true, false),
        m if m.swap_bytes() == MAGIC_NSEC => (true, true),
        _ => return Err(bad("not a pcap file")),
    };
    let rd = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    let linktype = rd(&h[20..24]);
    let mut packets = Vec::new();
    loop {
        let mut ph = [0u8; 16];
        match input.read_exact(&mut ph) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        let secs = u64::from(rd(&ph[0..4]));
        let frac = u64::from(rd(&ph[4..8]));
        let incl = rd(&ph[8..12]);
        if incl > SNAPLEN {
            return Err(bad("record longer than the snap length"));
        }
        let mut data = vec![0u8; incl as usize];
        input.read_exact(&mut data)?;
        let ts_usec = secs * 1_000_000 + if nsec { frac / 1000 } else { frac };
        packets.push(PcapPacket { ts_usec, data });
    }
    Ok((linktype, packets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_roundtrip() {
        let mut w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET).unwrap();
        w.write(1_500_000, &[1, 2, 3]).unwrap();
        w.write(2_000_001, &[4; 100]).unwrap();
        assert_eq!(w.count(), 2);
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.len(), 24 + 16 + 3 + 16 + 100);
        let (lt, pkts) = read_all(&bytes[..]).unwrap();
        assert_eq!(lt, LINKTYPE_ETHERNET);
        assert_eq!(pkts.len(), 2);
        assert_eq!(pkts[0].data, vec![1, 2, 3]);
        assert_eq!(pkts[0].ts_usec, 1_500_000);
        assert_eq!(pkts[1].ts_usec, 2_000_001);
    }

    #[test]
    fn test_rejects_garbage_and_truncation() {
        assert!(read_all(&[0u8; 24][..]).is_err());
        let mut w = PcapWriter::new(Vec::new(), LINKTYPE_RAW).unwrap();
        w.write(0, &[7; 10]).unwrap();
        let bytes = w.finish().unwrap();
        assert!(read_all(&bytes[..bytes.len() - 1]).is_err());
    }
}

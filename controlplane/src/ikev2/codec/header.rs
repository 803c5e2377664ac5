//! The IKE header (RFC 7296 section 3.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       IKE SA Initiator's SPI                  |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       IKE SA Responder's SPI                  |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          Message ID                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            Length                             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::error::{EmitError, Error, Result};
use super::types::{ExchangeType, PayloadType};

/// Header length.
pub const HEADER_LEN: usize = 28;

/// The only major version this implementation speaks.
pub const MAJOR_VERSION: u8 = 2;

mod field {
    use core::ops::Range;
    pub(super) const SPI_I: Range<usize> = 0..8;
    pub(super) const SPI_R: Range<usize> = 8..16;
    pub(super) const NEXT_PAYLOAD: usize = 16;
    pub(super) const VERSION: usize = 17;
    pub(super) const EXCHANGE_TYPE: usize = 18;
    pub(super) const FLAGS: usize = 19;
    pub(super) const MESSAGE_ID: Range<usize> = 20..24;
    pub(super) const LENGTH: Range<usize> = 24..28;
}

/// Flag bits.
pub mod flags {
    /// I (Initiator): sent by the original initiator of the IKE SA.
    pub const INITIATOR: u8 = 0x08;
    /// V (Version): can speak a higher major version; ignored here.
    pub const VERSION: u8 = 0x10;
    /// R (Response).
    pub const RESPONSE: u8 = 0x20;
}

/// A view of an IKE message's header. After [`IkePacket::new_checked`] the
/// buffer holds at least the 28-byte header, the major version is 2, the
/// initiator SPI is not zero and the Length field equals the buffer's
/// length, so no accessor can panic.
///
/// The state machine can use it to find the IKE SA by SPI before parsing
/// payloads.
#[derive(Clone, Copy, Debug)]
pub struct IkePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> IkePacket<T> {
    /// Checks the header of a received datagram (the UDP payload, after
    /// the non-ESP marker on port 4500).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated {
                what: "IKE header",
                needed: HEADER_LEN,
                available: b.len(),
            });
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.1
        //# Implementations based on this version of IKE
        //# MUST reject or ignore messages containing a version number
        //# greater than 2 with an INVALID_MAJOR_VERSION Notify message sent
        //# as described in Section 2.5.
        let major = b[field::VERSION] >> 4;
        if major != MAJOR_VERSION {
            return Err(Error::UnsupportedMajorVersion(major));
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.1
        //# Length (4 octets, unsigned integer) - Length of the total message
        //# (header + payloads) in octets.
        let length = u32::from_be_bytes([b[24], b[25], b[26], b[27]]);
        if usize::try_from(length).ok() != Some(b.len()) {
            return Err(Error::MessageLengthMismatch {
                header: length,
                datagram: b.len(),
            });
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.1
        //# Initiator's SPI (8 octets) - A value chosen by the
        //# initiator to identify a unique IKE Security Association.  This
        //# value MUST NOT be zero.
        if b[field::SPI_I] == [0; 8] {
            return Err(Error::ZeroInitiatorSpi);
        }
        Ok(Self { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u64_at(&self, r: core::ops::Range<usize>) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.b()[r]);
        u64::from_be_bytes(a)
    }

    /// IKE SA Initiator's SPI.
    pub fn spi_i(&self) -> u64 {
        self.u64_at(field::SPI_I)
    }
    /// IKE SA Responder's SPI (zero in an IKE_SA_INIT request).
    pub fn spi_r(&self) -> u64 {
        self.u64_at(field::SPI_R)
    }
    /// Type of the first payload.
    pub fn next_payload(&self) -> PayloadType {
        PayloadType(self.b()[field::NEXT_PAYLOAD])
    }
    /// Minor version (ignored on receipt).
    pub fn minor_version(&self) -> u8 {
        self.b()[field::VERSION] & 0x0f
    }
    /// Exchange type.
    pub fn exchange_type(&self) -> ExchangeType {
        ExchangeType(self.b()[field::EXCHANGE_TYPE])
    }
    /// The raw flags octet.
    pub fn flags(&self) -> u8 {
        self.b()[field::FLAGS]
    }
    /// Message ID.
    pub fn message_id(&self) -> u32 {
        let b = &self.b()[field::MESSAGE_ID];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// Length field (equal to the buffer's length).
    pub fn length(&self) -> u32 {
        let b = &self.b()[field::LENGTH];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// Everything after the header: the payload chain.
    pub fn payloads(&self) -> &[u8] {
        &self.b()[HEADER_LEN..]
    }
    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.b()
    }
}

/// An IKE header, without the Next Payload and Length fields (which follow
/// from the payload chain when emitting) and without what the receiver
/// must ignore (minor version, V and reserved flag bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// IKE SA Initiator's SPI (never zero).
    pub spi_i: u64,
    /// IKE SA Responder's SPI.
    pub spi_r: u64,
    /// Exchange type.
    pub exchange_type: ExchangeType,
    /// I flag: sent by the original initiator of the IKE SA.
    pub initiator: bool,
    /// R flag: this is a response.
    pub response: bool,
    /// Message ID.
    pub message_id: u32,
}

impl Header {
    /// The header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &IkePacket<T>) -> Self {
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.1
        //# V (Version) - This bit indicates that the transmitter is
        //# capable of speaking a higher major version number of the
        //# protocol than the one indicated in the major version number
        //# field.  Implementations of IKEv2 MUST clear this bit when
        //# sending and MUST ignore it in incoming messages.
        //
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.1
        //# X - unused bits, reserved for future use.  These MUST be
        //# sent as zero and MUST be ignored on receipt.
        Self {
            spi_i: p.spi_i(),
            spi_r: p.spi_r(),
            exchange_type: p.exchange_type(),
            initiator: p.flags() & flags::INITIATOR != 0,
            response: p.flags() & flags::RESPONSE != 0,
            message_id: p.message_id(),
        }
    }

    /// The header of the response to this request: same SPIs, exchange
    /// type and message ID, R set, I set when the responder is the
    /// original initiator.
    #[must_use]
    pub fn response_header(&self) -> Self {
        Self {
            initiator: !self.initiator,
            response: true,
            ..*self
        }
    }

    /// The flags octet to send.
    #[must_use]
    pub fn flags(&self) -> u8 {
        let mut f = 0;
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.1
        //# I (Initiator) - This bit MUST be set in messages sent by the
        //# original initiator of the IKE SA and MUST be cleared in
        //# messages sent by the original responder.
        if self.initiator {
            f |= flags::INITIATOR;
        }
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.1
        //# R (Response) - This bit indicates that this message is a
        //# response to a message containing the same Message ID.  This bit
        //# MUST be cleared in all request messages and MUST be set in all
        //# responses.
        if self.response {
            f |= flags::RESPONSE;
        }
        f
    }

    /// Appends the 28-byte header with `length` 0 (patched by the message
    /// emitter).
    pub(crate) fn emit(
        &self,
        next_payload: PayloadType,
        out: &mut Vec<u8>,
    ) -> core::result::Result<(), EmitError> {
        if self.spi_i == 0 {
            return Err(EmitError::Invalid(Error::ZeroInitiatorSpi));
        }
        out.extend_from_slice(&self.spi_i.to_be_bytes());
        out.extend_from_slice(&self.spi_r.to_be_bytes());
        out.push(next_payload.0);
        //= https://www.rfc-editor.org/rfc/rfc7296#section-3.1
        //# Implementations based on this version of IKE MUST set the minor
        //# version to 0.
        out.push(MAJOR_VERSION << 4);
        out.push(self.exchange_type.0);
        out.push(self.flags());
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        Ok(())
    }
}

/// Writes the total length into the header at the start of `msg`.
pub(crate) fn patch_length(msg: &mut [u8]) -> core::result::Result<(), EmitError> {
    let length = msg.len();
    let v = u32::try_from(length).map_err(|_| EmitError::TooLong {
        what: "IKE message",
        length,
    })?;
    msg[field::LENGTH].copy_from_slice(&v.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // IKE_SA_INIT request header: SPIi 0x0102030405060708, SPIr 0, next
    // payload SA, version 2.0, exchange 34, flags I, message ID 0, length 28.
    const HDR: &str = "0102030405060708 0000000000000000 21 20 22 08 00000000 0000001c";

    fn bytes(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn test_parse() {
        let b = bytes(HDR);
        let p = IkePacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.spi_i(), 0x0102_0304_0506_0708);
        assert_eq!(p.spi_r(), 0);
        assert_eq!(p.next_payload(), PayloadType::SA);
        assert_eq!(p.minor_version(), 0);
        assert_eq!(p.exchange_type(), ExchangeType::IKE_SA_INIT);
        assert_eq!(p.flags(), flags::INITIATOR);
        assert_eq!(p.message_id(), 0);
        assert_eq!(p.length(), 28);
        assert!(p.payloads().is_empty());
        let h = Header::parse(&p);
        assert_eq!(
            h,
            Header {
                spi_i: 0x0102_0304_0506_0708,
                spi_r: 0,
                exchange_type: ExchangeType::IKE_SA_INIT,
                initiator: true,
                response: false,
                message_id: 0,
            }
        );
    }

    #[test]
    fn test_emit() {
        let b = bytes(HDR);
        let h = Header::parse(&IkePacket::new_checked(&b[..]).unwrap());
        let mut out = Vec::new();
        h.emit(PayloadType::SA, &mut out).unwrap();
        patch_length(&mut out).unwrap();
        assert_eq!(out, b);
        let r = h.response_header();
        assert!(r.response && !r.initiator);
        assert_eq!((r.spi_i, r.message_id), (h.spi_i, h.message_id));
        assert_eq!(r.flags(), flags::RESPONSE);
        let zero = Header { spi_i: 0, ..h };
        assert_eq!(
            zero.emit(PayloadType::SA, &mut Vec::new()),
            Err(EmitError::Invalid(Error::ZeroInitiatorSpi))
        );
    }

    #[test]
    fn test_ignored_bits() {
        // Minor version 1, V flag and reserved bits set: all ignored.
        let mut b = bytes(HDR);
        b[17] = 0x21;
        b[19] = 0xff;
        let p = IkePacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.minor_version(), 1);
        let h = Header::parse(&p);
        assert!(h.initiator && h.response);
        assert_eq!(h.flags(), flags::INITIATOR | flags::RESPONSE);
    }

    #[test]
    fn test_check_len() {
        let b = bytes(HDR);
        for n in 0..HEADER_LEN {
            assert_eq!(
                IkePacket::new_checked(&b[..n]).err(),
                Some(Error::Truncated {
                    what: "IKE header",
                    needed: 28,
                    available: n
                })
            );
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(
            IkePacket::new_checked(&long[..]).err(),
            Some(Error::MessageLengthMismatch {
                header: 28,
                datagram: 29
            })
        );
        let mut big = b.clone();
        big[24..28].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            IkePacket::new_checked(&big[..]),
            Err(Error::MessageLengthMismatch { .. })
        ));
    }

    #[test]
    fn test_bad_version_and_spi() {
        let mut b = bytes(HDR);
        b[17] = 0x30;
        assert_eq!(
            IkePacket::new_checked(&b[..]).err(),
            Some(Error::UnsupportedMajorVersion(3))
        );
        b[17] = 0x10;
        assert_eq!(
            IkePacket::new_checked(&b[..]).err(),
            Some(Error::UnsupportedMajorVersion(1))
        );
        let mut b = bytes(HDR);
        b[..8].fill(0);
        assert_eq!(
            IkePacket::new_checked(&b[..]).err(),
            Some(Error::ZeroInitiatorSpi)
        );
    }
}

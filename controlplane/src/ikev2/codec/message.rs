//! Whole messages: parsing a datagram, emitting a header and payload chain,
//! and the interface to the crypto layer for SK and SKF.
//!
//! Receiving a protected message:
//!
//! 1. [`Message::parse_outer`] checks the header against the datagram and
//!    parses the unencrypted payloads; [`OuterMessage::encrypted`] gives
//!    the SK/SKF body (IV, ciphertext, ICV), its associated data (every
//!    byte before the IV) and the whole message (over which an integrity
//!    ICV is computed).
//! 2. The crypto layer verifies and decrypts, removes padding and Pad
//!    Length, and calls [`parse_inner`] with the plaintext and
//!    [`Protected::inner_next`]. Fragments go through
//!    [`super::fragment::Reassembler`] first.
//!
//! Sending one: [`emit_inner`] gives the plaintext chain and the type of
//! its first payload; the crypto layer sizes the body (IV, padded
//! ciphertext, ICV) and [`emit_protected`] lays out header, unencrypted
//! payloads and the SK/SKF header with a zeroed body of that size, which
//! the crypto layer fills in place ([`SealBuffer::split_mut`]).

use core::ops::Range;

use super::chain::{emit_chain, parse_chain, parse_raw, Payload, RawChain, PAYLOAD_HEADER_LEN};
use super::encrypted::{
    emit_fragment_fields, EncryptedFragmentPayload, FragmentInfo, SKF_FIELDS_LEN,
};
use super::error::{EmitError, Result};
use super::header::{patch_length, Header, IkePacket, HEADER_LEN};
use super::payloads::NotifyPayload;
use super::reader::{patch_u16_len, reserve_u16, Reader};
use super::types::{NotifyType, PayloadType};

/// An IKE message: header and payloads, SK/SKF kept as bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// The payloads in order; an SK or SKF payload can only be last.
    pub payloads: Vec<Payload>,
}

impl Message {
    /// Parses a datagram (the UDP payload, without the non-ESP marker).
    /// SK and SKF payloads are kept as [`Payload::Sk`] and
    /// [`Payload::Skf`].
    pub fn parse(datagram: &[u8]) -> Result<Self> {
        let p = IkePacket::new_checked(datagram)?;
        Ok(Self {
            header: Header::parse(&p),
            payloads: parse_chain(p.next_payload(), p.payloads(), false)?,
        })
    }

    /// Parses a datagram for the crypto layer: header, unencrypted
    /// payloads and the location of the SK/SKF body.
    pub fn parse_outer(datagram: &[u8]) -> Result<OuterMessage<'_>> {
        let p = IkePacket::new_checked(datagram)?;
        let mut chain = RawChain::new(p.next_payload(), p.payloads());
        let mut payloads = Vec::new();
        let mut encrypted = None;
        while let Some(raw) = chain.next_raw()? {
            let body_start = HEADER_LEN + raw.body_offset;
            match raw.payload_type {
                PayloadType::SK => {
                    encrypted = Some(Protected {
                        kind: ProtectedKind::Sk,
                        inner_next: raw.next,
                        message: datagram,
                        body_offset: body_start,
                    });
                }
                PayloadType::SKF => {
                    let info =
                        EncryptedFragmentPayload::parse_info(raw.next, &mut Reader::new(raw.body))?;
                    encrypted = Some(Protected {
                        kind: ProtectedKind::Fragment(info),
                        inner_next: raw.next,
                        message: datagram,
                        body_offset: body_start + SKF_FIELDS_LEN,
                    });
                }
                _ => payloads.push(parse_raw(&raw)?),
            }
        }
        Ok(OuterMessage {
            header: Header::parse(&p),
            payloads,
            encrypted,
        })
    }

    /// Serialises the message: header, chained payloads, lengths.
    pub fn emit(&self) -> core::result::Result<Vec<u8>, EmitError> {
        let mut out = Vec::with_capacity(HEADER_LEN + 64 * self.payloads.len());
        self.header.emit(PayloadType::NONE, &mut out)?;
        let first = emit_chain(&self.payloads, &mut out, false)?;
        out[16] = first.0;
        patch_length(&mut out)?;
        Ok(out)
    }

    /// The notifies of the message.
    pub fn notifies(&self) -> impl Iterator<Item = &NotifyPayload> {
        notifies(&self.payloads)
    }

    /// The first notify of a type.
    #[must_use]
    pub fn notify(&self, t: NotifyType) -> Option<&NotifyPayload> {
        self.notifies().find(|n| n.notify_type == t)
    }
}

/// The notifies of a payload list.
pub fn notifies(payloads: &[Payload]) -> impl Iterator<Item = &NotifyPayload> {
    payloads.iter().filter_map(|p| match p {
        Payload::Notify(n) => Some(n),
        _ => None,
    })
}

/// A received message with its protected part located but not decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OuterMessage<'a> {
    /// The header.
    pub header: Header,
    /// Payloads before SK/SKF (all of them in an unprotected message such
    /// as IKE_SA_INIT).
    pub payloads: Vec<Payload>,
    /// The SK or SKF payload, if any.
    pub encrypted: Option<Protected<'a>>,
}

/// Whether the protected part is a whole SK payload or one SKF fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtectedKind {
    /// An Encrypted payload.
    Sk,
    /// An Encrypted Fragment payload.
    Fragment(FragmentInfo),
}

/// The SK/SKF payload of a received message, as the crypto layer needs it.
/// Only [`Message::parse_outer`] makes one, so its offsets are always in
/// range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protected<'a> {
    kind: ProtectedKind,
    inner_next: PayloadType,
    message: &'a [u8],
    body_offset: usize,
}

impl<'a> Protected<'a> {
    /// SK or SKF (with its fragment fields).
    #[must_use]
    pub fn kind(&self) -> ProtectedKind {
        self.kind
    }

    /// Type of the first inner payload (NONE in fragments after the first).
    #[must_use]
    pub fn inner_next(&self) -> PayloadType {
        self.inner_next
    }

    /// The whole message. An integrity ICV covers `message[..len - icv]`
    /// (RFC 7296 section 3.14: from the first octet of the header through
    /// the Pad Length).
    #[must_use]
    pub fn message(&self) -> &'a [u8] {
        self.message
    }

    /// Where the IV starts in [`Protected::message`].
    #[must_use]
    pub fn body_offset(&self) -> usize {
        self.body_offset
    }

    /// IV, ciphertext, padding and ICV.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        &self.message[self.body_offset..]
    }

    /// Every byte before the IV: the IKE header, unencrypted payloads and
    /// the SK/SKF generic header (and SKF's fragment fields). This is the
    /// AEAD associated data (RFC 5282 section 5.1; RFC 7383 section 2.5
    /// for SKF).
    #[must_use]
    pub fn associated_data(&self) -> &'a [u8] {
        &self.message[..self.body_offset]
    }
}

/// Parses a decrypted inner chain (padding and Pad Length removed) whose
/// first payload has type `first` ([`Protected::inner_next`]). SK and SKF
/// are refused inside.
pub fn parse_inner(first: PayloadType, plaintext: &[u8]) -> Result<Vec<Payload>> {
    parse_chain(first, plaintext, true)
}

/// Serialises payloads to be encrypted: the inner chain's bytes and the
/// type of its first payload (the SK header's Next Payload).
pub fn emit_inner(payloads: &[Payload]) -> core::result::Result<(PayloadType, Vec<u8>), EmitError> {
    let mut out = Vec::new();
    let first = emit_chain(payloads, &mut out, true)?;
    Ok((first, out))
}

/// What to protect: a whole SK payload, or one SKF fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtectedLayout {
    /// An SK payload whose first inner payload has this type.
    Sk(PayloadType),
    /// An SKF payload with these fields.
    Fragment(FragmentInfo),
}

/// A message laid out for sealing: everything before the body is final,
/// the body (IV, ciphertext, padding, ICV) is zeroes for the crypto layer
/// to fill in place. Only [`emit_protected`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealBuffer {
    bytes: Vec<u8>,
    body_offset: usize,
}

impl SealBuffer {
    /// The associated data and the body to fill.
    pub fn split_mut(&mut self) -> (&[u8], &mut [u8]) {
        let (a, b) = self.bytes.split_at_mut(self.body_offset);
        (a, b)
    }

    /// The whole message, Length fields set.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The whole message, to send.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Where the body starts (the associated data is everything before).
    #[must_use]
    pub fn body_offset(&self) -> usize {
        self.body_offset
    }

    /// The body's range in [`SealBuffer::bytes`].
    #[must_use]
    pub fn body_range(&self) -> Range<usize> {
        self.body_offset..self.bytes.len()
    }
}

/// Lays out header, unencrypted `outer` payloads (usually none) and an
/// SK/SKF payload with a body of `body_len` zero bytes.
pub fn emit_protected(
    header: &Header,
    outer: &[Payload],
    layout: ProtectedLayout,
    body_len: usize,
) -> core::result::Result<SealBuffer, EmitError> {
    let mut out = Vec::with_capacity(HEADER_LEN + PAYLOAD_HEADER_LEN + SKF_FIELDS_LEN + body_len);
    header.emit(PayloadType::NONE, &mut out)?;
    let mut prev_next_at = 16;
    if !outer.is_empty() {
        if outer
            .iter()
            .any(|p| matches!(p, Payload::Sk(_) | Payload::Skf(_)))
        {
            return Err(EmitError::EncryptedNotLast);
        }
        emit_chain(outer, &mut out, true)?;
        out[16] = outer[0].payload_type().0;
        // Re-walk the chain to find the last payload's Next Payload field.
        let mut off = HEADER_LEN;
        for _ in 0..outer.len() - 1 {
            off += usize::from(u16::from_be_bytes([out[off + 2], out[off + 3]]));
        }
        prev_next_at = off;
    }
    let (t, inner_next) = match layout {
        ProtectedLayout::Sk(n) => (PayloadType::SK, n),
        ProtectedLayout::Fragment(info) => {
            info.check()?;
            (PayloadType::SKF, info.next_payload)
        }
    };
    out[prev_next_at] = t.0;
    let start = out.len();
    out.push(inner_next.0);
    out.push(0);
    let at = reserve_u16(&mut out);
    if let ProtectedLayout::Fragment(info) = layout {
        emit_fragment_fields(&info, &mut out);
    }
    let body_offset = out.len();
    out.resize(body_offset + body_len, 0);
    patch_u16_len(&mut out, at, start, "encrypted payload")?;
    patch_length(&mut out)?;
    Ok(SealBuffer {
        bytes: out,
        body_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikev2::codec::encrypted::EncryptedPayload;
    use crate::ikev2::codec::error::Error;
    use crate::ikev2::codec::payloads::{IdPayload, NoncePayload, VendorIdPayload};
    use crate::ikev2::codec::types::ExchangeType;

    fn header() -> Header {
        Header {
            spi_i: 0x1111_2222_3333_4444,
            spi_r: 0x5555_6666_7777_8888,
            exchange_type: ExchangeType::IKE_AUTH,
            initiator: true,
            response: false,
            message_id: 1,
        }
    }

    /// An IKE_SA_INIT request laid out field by field after RFC 7296
    /// section 3 (figures 4 to 22) and RFC 7383/7427's notifies, as a
    /// strongSwan spoke sends it: SA (AES-CBC-256, HMAC-SHA2-256 PRF and
    /// integrity, Curve25519), KE, Nonce, NAT detection, fragmentation and
    /// signature hash notifies, a Vendor ID. 250 bytes.
    const IKE_SA_INIT_REQUEST: &str = "
        8a3c9d2e1f4b5a69 0000000000000000 21 20 22 08 00000000 000000fa
        22 00 0030
           00 00 002c 01 01 00 04
              03 00 000c 01 00 000c 800e 0100
              03 00 0008 02 00 0005
              03 00 0008 03 00 000c
              00 00 0008 04 00 001f
        28 00 0028 001f 0000
           e3f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e
        29 00 0024
           0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
        29 00 001c 00 00 4004 b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4
        29 00 001c 00 00 4005 0102030405060708090a0b0c0d0e0f1011121314
        29 00 0008 00 00 402e
        2b 00 000e 00 00 402f 0002 0003 0004
        00 00 0014 882fe56d6fd20dbc2251613b2ebe5beb";

    fn hex_bytes(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    #[test]
    fn test_parse_ike_sa_init() {
        use crate::ikev2::codec::sa::{Proposal, SaPayload, Transform, TransformId};
        use crate::ikev2::codec::types::{
            DhGroup, EncrId, HashAlgorithm, IntegId, PrfId, ProtocolId,
        };
        let b = hex_bytes(IKE_SA_INIT_REQUEST);
        assert_eq!(b.len(), 250);
        let m = Message::parse(&b).unwrap();
        assert_eq!(
            m.header,
            Header {
                spi_i: 0x8a3c_9d2e_1f4b_5a69,
                spi_r: 0,
                exchange_type: ExchangeType::IKE_SA_INIT,
                initiator: true,
                response: false,
                message_id: 0,
            }
        );
        let types: Vec<_> = m.payloads.iter().map(Payload::payload_type).collect();
        assert_eq!(
            types,
            [
                PayloadType::SA,
                PayloadType::KE,
                PayloadType::NONCE,
                PayloadType::NOTIFY,
                PayloadType::NOTIFY,
                PayloadType::NOTIFY,
                PayloadType::NOTIFY,
                PayloadType::VENDOR_ID
            ]
        );
        assert_eq!(
            m.payloads[0],
            Payload::Sa(SaPayload {
                proposals: vec![Proposal {
                    number: 1,
                    protocol: ProtocolId::IKE,
                    spi: vec![],
                    transforms: vec![
                        Transform::with_key_length(TransformId::Encr(EncrId::AES_CBC), 256),
                        Transform::new(TransformId::Prf(PrfId::HMAC_SHA2_256)),
                        Transform::new(TransformId::Integ(IntegId::HMAC_SHA2_256_128)),
                        Transform::new(TransformId::Dh(DhGroup::CURVE25519)),
                    ],
                }]
            })
        );
        let Payload::Ke(ke) = &m.payloads[1] else {
            panic!()
        };
        assert_eq!(
            (ke.group, ke.data.len(), ke.data[0]),
            (DhGroup::CURVE25519, 32, 0xe3)
        );
        let Payload::Nonce(n) = &m.payloads[2] else {
            panic!()
        };
        assert_eq!(n.data.len(), 32);
        let src = m.notify(NotifyType::NAT_DETECTION_SOURCE_IP).unwrap();
        assert_eq!(src.nat_detection_hash().unwrap()[0], 0xb1);
        assert!(m.notify(NotifyType::NAT_DETECTION_DESTINATION_IP).is_some());
        assert!(m
            .notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
            .is_some());
        let h = m.notify(NotifyType::SIGNATURE_HASH_ALGORITHMS).unwrap();
        assert_eq!(h.hash_algorithms().next(), Some(HashAlgorithm::SHA2_256));
        let o = Message::parse_outer(&b).unwrap();
        assert_eq!(
            (o.header, &o.payloads, o.encrypted),
            (m.header, &m.payloads, None)
        );
    }

    #[test]
    fn test_emit_ike_sa_init() {
        let b = hex_bytes(IKE_SA_INIT_REQUEST);
        assert_eq!(Message::parse(&b).unwrap().emit().unwrap(), b);
    }

    #[test]
    fn test_check_len_ike_sa_init() {
        let b = hex_bytes(IKE_SA_INIT_REQUEST);
        // Every truncation, with the Length field fixed up, fails.
        for n in HEADER_LEN..b.len() {
            let mut t = b[..n].to_vec();
            t[24..28].copy_from_slice(&(n as u32).to_be_bytes());
            assert!(Message::parse(&t).is_err(), "{n}");
            assert!(Message::parse_outer(&t).is_err(), "{n}");
        }
        // The Vendor ID marked critical is still understood.
        let mut c = b.clone();
        c[231] = 0x80;
        assert!(Message::parse(&c).is_ok());
        // An unknown type (49, GSPM) in its place: skipped, or refused if critical.
        c[231] = 0;
        c[216] = 49;
        let m = Message::parse(&c).unwrap();
        assert!(
            matches!(m.payloads.last(), Some(Payload::Unknown(u)) if u.payload_type == PayloadType::GSPM)
        );
        c[231] = 0x80;
        assert_eq!(
            Message::parse(&c),
            Err(Error::UnsupportedCriticalPayload(PayloadType::GSPM))
        );
        assert_eq!(
            Message::parse_outer(&c),
            Err(Error::UnsupportedCriticalPayload(PayloadType::GSPM))
        );
    }

    #[test]
    fn test_sk_roundtrip_and_outer() {
        let inner = vec![Payload::IdI(IdPayload::fqdn("spoke1.cisco.com"))];
        let (first, plain) = emit_inner(&inner).unwrap();
        assert_eq!(first, PayloadType::IDI);
        assert_eq!(parse_inner(first, &plain).unwrap(), inner);
        // "Encrypt" with a null cipher: IV 4 bytes, plaintext, ICV 4 bytes.
        let mut sb =
            emit_protected(&header(), &[], ProtectedLayout::Sk(first), 8 + plain.len()).unwrap();
        assert_eq!(sb.body_offset(), HEADER_LEN + 4);
        {
            let (aad, body) = sb.split_mut();
            assert_eq!(aad.len(), 32);
            body[4..4 + plain.len()].copy_from_slice(&plain);
        }
        let range = sb.body_range();
        let o = Message::parse_outer(sb.bytes()).unwrap();
        assert_eq!(o.header, header());
        assert!(o.payloads.is_empty());
        let e = o.encrypted.unwrap();
        assert_eq!(e.kind(), ProtectedKind::Sk);
        assert_eq!(e.inner_next(), PayloadType::IDI);
        assert_eq!(e.associated_data(), &sb.bytes()[..range.start]);
        assert_eq!(e.body(), &sb.bytes()[range]);
        assert_eq!(
            parse_inner(e.inner_next(), &e.body()[4..e.body().len() - 4]).unwrap(),
            inner
        );
        // The same message through Message::parse keeps SK as bytes.
        let m = Message::parse(sb.bytes()).unwrap();
        assert_eq!(
            m.payloads,
            [Payload::Sk(EncryptedPayload {
                inner_next: PayloadType::IDI,
                body: e.body().to_vec()
            })]
        );
        assert_eq!(m.emit().unwrap(), sb.bytes());
    }

    #[test]
    fn test_skf_with_outer_payloads() {
        let outer = vec![
            Payload::VendorId(VendorIdPayload {
                data: vec![1, 2, 3],
            }),
            Payload::Nonce(NoncePayload { data: vec![9; 16] }),
        ];
        let info = FragmentInfo {
            number: 2,
            total: 3,
            next_payload: PayloadType::NONE,
        };
        let sb = emit_protected(&header(), &outer, ProtectedLayout::Fragment(info), 10).unwrap();
        let o = Message::parse_outer(sb.bytes()).unwrap();
        assert_eq!(o.payloads, outer);
        let e = o.encrypted.unwrap();
        assert_eq!(e.kind(), ProtectedKind::Fragment(info));
        assert_eq!(e.body().len(), 10);
        assert_eq!(e.body_offset(), sb.body_offset());
        assert_eq!(e.associated_data().len(), HEADER_LEN + 7 + 20 + 8);
        let m = Message::parse(sb.bytes()).unwrap();
        assert_eq!(m.payloads.len(), 3);
        assert_eq!(m.emit().unwrap(), sb.bytes());
        // Bad fragment fields are refused on both sides.
        let bad = FragmentInfo { number: 4, ..info };
        assert!(emit_protected(&header(), &[], ProtectedLayout::Fragment(bad), 1).is_err());
        let mut b = sb.bytes().to_vec();
        let at = HEADER_LEN + 7 + 20 + 4;
        b[at..at + 2].copy_from_slice(&[0, 0]);
        assert!(matches!(
            Message::parse_outer(&b),
            Err(Error::InvalidValue { .. })
        ));
        // SK inside outer is refused.
        let sk = Payload::Sk(EncryptedPayload {
            inner_next: PayloadType::NONE,
            body: vec![],
        });
        assert_eq!(
            emit_protected(&header(), &[sk], ProtectedLayout::Sk(PayloadType::NONE), 0),
            Err(EmitError::EncryptedNotLast)
        );
    }

    #[test]
    fn test_parse_errors() {
        let m = Message {
            header: header(),
            payloads: vec![Payload::Nonce(NoncePayload { data: vec![1; 16] })],
        };
        let b = m.emit().unwrap();
        assert_eq!(Message::parse(&b).unwrap(), m);
        let mut long = b.clone();
        long.push(0);
        assert!(matches!(
            Message::parse(&long),
            Err(Error::MessageLengthMismatch { .. })
        ));
        assert!(matches!(
            Message::parse_outer(&long),
            Err(Error::MessageLengthMismatch { .. })
        ));
        // Header says more payloads follow than there are bytes for.
        let mut b2 = b.clone();
        b2[HEADER_LEN] = PayloadType::NONCE.0;
        assert!(matches!(Message::parse(&b2), Err(Error::Truncated { .. })));
        assert!(matches!(
            Message::parse_outer(&b2),
            Err(Error::Truncated { .. })
        ));
        // Inner chain with an SK.
        assert_eq!(
            parse_inner(PayloadType::SK, &[0, 0, 0, 4]),
            Err(Error::NestedEncrypted(PayloadType::SK))
        );
        // Inner emission refuses SK.
        let sk = Payload::Sk(EncryptedPayload {
            inner_next: PayloadType::NONE,
            body: vec![],
        });
        assert_eq!(emit_inner(&[sk]), Err(EmitError::EncryptedNotLast));
    }

    #[test]
    fn test_notify_lookup() {
        let m = Message {
            header: header(),
            payloads: vec![
                Payload::Notify(NotifyPayload::new(NotifyType::INITIAL_CONTACT, vec![])),
                Payload::Notify(NotifyPayload::window_size(4)),
            ],
        };
        assert_eq!(m.notifies().count(), 2);
        assert_eq!(
            m.notify(NotifyType::SET_WINDOW_SIZE)
                .and_then(NotifyPayload::window),
            Some(4)
        );
        assert!(m.notify(NotifyType::COOKIE).is_none());
    }
}

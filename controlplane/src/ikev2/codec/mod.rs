//! IKEv2 message and payload codec (RFC 7296 section 3, RFC 7383, RFC 7427).
//!
//! Parsing never panics and validates every length and count; emission
//! runs the same checks, so whatever is emitted parses back to the same
//! value (a property test and the `ikev2` fuzz target check it).
//!
//! - [`IkePacket`]: a checked view of the header (SPIs before any parse).
//! - [`Message`]: header and [`Payload`]s; [`Message::parse`] and
//!   [`Message::emit`].
//! - Protected messages: [`Message::parse_outer`] locates the SK/SKF body
//!   and its associated data for the crypto layer, [`parse_inner`] parses
//!   the decrypted chain; [`emit_inner`] and [`emit_protected`] are the
//!   sending side.
//! - [`fragment`]: RFC 7383 reassembly of decrypted fragment plaintexts and
//!   splitting of a plaintext chain.
//! - Unknown payloads without the critical bit are kept as
//!   [`Payload::Unknown`]; with it the parse fails with
//!   [`Error::UnsupportedCriticalPayload`], which carries the type for the
//!   UNSUPPORTED_CRITICAL_PAYLOAD answer.
//!
//! # For the state machine
//!
//! - Look up the IKE SA with [`IkePacket::new_checked`] (SPIs, exchange
//!   type, flags, message ID) before parsing payloads. The datagram is the
//!   UDP payload with the 4-byte non-ESP marker of port 4500 removed, and
//!   the IKE Length must equal its length.
//! - Errors: every [`Error`] is malformed input; [`Error::suggested_notify`]
//!   names the notify (UNSUPPORTED_CRITICAL_PAYLOAD with the payload type,
//!   INVALID_MAJOR_VERSION, else INVALID_SYNTAX). Answer only requests, and
//!   INVALID_SYNTAX only inside a protected response (RFC 7296 section
//!   2.21); drop unprotected garbage silently.
//! - What the codec checks: lengths and counts of every structure, Last
//!   Substruc values, SPI sizes per protocol (proposals, Delete, the three
//!   Child SA notifies), Key Length as TV, nonce 16..=256, notify data sizes
//!   of NAT detection (20), COOKIE (1..=64), INVALID_KE_PAYLOAD (2),
//!   SET_WINDOW_SIZE (4), UNSUPPORTED_CRITICAL_PAYLOAD (1),
//!   SIGNATURE_HASH_ALGORITHMS (even) and IKEV2_FRAGMENTATION_SUPPORTED
//!   (empty), CP attribute sizes of the registered types, EAP header, SKF
//!   fragment fields, RFC 7427 signature data, ID address sizes.
//! - What it leaves to the state machine: proposal choice, proposal
//!   numbering of requests ([`SaPayload::check_request_numbering`]; a
//!   response carries the chosen proposal's number), which payloads an
//!   exchange needs and in what order, KE data length per group (crypto),
//!   NAT detection hashes, traffic selector narrowing.
//! - A Notify without SPI always has protocol [`ProtocolId::NONE`] after
//!   parsing (the field is ignored on receipt; Cisco sends 1 there).
//! - [`IdPayload::reserved`] keeps the received RESERVED octets because
//!   AUTH signs the ID payload body as received: use
//!   [`IdPayload::auth_octets`] for RestOfInitIDPayload/RestOfRespIDPayload.
//! - Minor version, the V flag and reserved bits are ignored on receipt and
//!   sent as zero; the critical bit is always sent clear.

mod chain;
mod cp;
mod encrypted;
mod error;
pub mod fragment;
mod header;
mod message;
mod payloads;
mod reader;
mod sa;
mod ts;
pub mod types;

pub use chain::{Payload, PAYLOAD_HEADER_LEN};
pub use cp::{CfgAttribute, CpPayload};
pub use encrypted::{EncryptedFragmentPayload, EncryptedPayload, FragmentInfo, SKF_FIELDS_LEN};
pub use error::{EmitError, Error, Result};
pub use header::{flags, Header, IkePacket, HEADER_LEN, MAJOR_VERSION};
pub use message::{
    emit_inner, emit_protected, notifies, parse_inner, Message, OuterMessage, Protected,
    ProtectedKind, ProtectedLayout, SealBuffer,
};
pub use payloads::{
    sig_alg, AuthPayload, CertPayload, CertReqPayload, DeletePayload, EapPayload, IdPayload,
    KePayload, NoncePayload, NotifyPayload, SignatureAuthData, UnknownPayload, VendorIdPayload,
    CA_HASH_LEN, COOKIE_MAX, NAT_DETECTION_LEN, NONCE_MAX, NONCE_MIN,
};
pub use sa::{AttributeValue, Proposal, SaPayload, Transform, TransformAttribute, TransformId};
pub use ts::{TrafficSelector, TsPayload, TsRange};
pub use types::{
    AuthMethod, CertEncoding, CfgAttributeType, CfgType, DhGroup, EapCode, EncrId, EsnId,
    ExchangeType, HashAlgorithm, IdType, IntegId, NotifyType, PayloadType, PrfId, ProtocolId,
    TransformAttributeType, TransformType, TsType,
};

use fragment::{Progress, Reassembler, ReassemblyLimits};

/// Runs every parser over `data` with round trips; the `ikev2` fuzz target
/// and the corpus replay test call it. It must never panic.
///
/// - As a datagram: [`Message::parse`]; on success the message is emitted,
///   parsed again and must be equal, and emitting that gives the same bytes.
///   [`Message::parse_outer`] must agree with it on success, and its SK/SKF
///   body is also tried as a plaintext inner chain.
/// - As an inner chain: the first byte is the first payload type, the rest
///   the chain, with the same round trip.
/// - As a sequence of fragments for the [`Reassembler`] (with small
///   limits): records of Fragment Number, Total Fragments, Next Payload,
///   a length octet and that many plaintext bytes; a completed message is
///   parsed, and the limits must hold.
/// - The splitter: the input split with a budget from its first byte and
///   reassembled must give the input back.
pub fn fuzz_parse_all(data: &[u8]) {
    if let Ok(m) = Message::parse(data) {
        let bytes = m.emit().expect("a parsed message emits");
        let again = Message::parse(&bytes).expect("an emitted message parses");
        assert_eq!(again, m);
        assert_eq!(again.emit().expect("emits"), bytes);
        let outer = Message::parse_outer(data).expect("parse_outer agrees with parse");
        assert_eq!(outer.header, m.header);
        if let Some(e) = outer.encrypted {
            assert_eq!(e.associated_data().len() + e.body().len(), data.len());
            fuzz_inner(e.inner_next(), e.body());
        }
    } else if let Ok(outer) = Message::parse_outer(data) {
        // Only the SK/SKF part can differ: the parse checks nothing more
        // in parse_outer, so both must succeed or fail together.
        panic!("parse_outer accepted what parse refused: {outer:?}");
    }
    if let Some((&first, chain)) = data.split_first() {
        fuzz_inner(PayloadType(first), chain);
    }
    fuzz_reassembly(data);
    fuzz_split(data);
}

fn fuzz_inner(first: PayloadType, chain: &[u8]) {
    if let Ok(ps) = parse_inner(first, chain) {
        let (t, bytes) = emit_inner(&ps).expect("a parsed chain emits");
        assert_eq!(
            t,
            if ps.is_empty() {
                PayloadType::NONE
            } else {
                first
            }
        );
        assert_eq!(parse_inner(t, &bytes).expect("an emitted chain parses"), ps);
    }
}

fn fuzz_reassembly(data: &[u8]) {
    let limits = ReassemblyLimits {
        max_fragments: 8,
        max_bytes: 256,
    };
    let mut r = Reassembler::new(1, limits);
    let mut rest = data;
    while rest.len() >= 6 {
        let info = FragmentInfo {
            number: u16::from(rest[0] & 0x0f),
            total: u16::from(rest[1] & 0x0f),
            next_payload: PayloadType(rest[2]),
        };
        let message_id = u32::from(rest[3] & 1) ^ 1;
        let len = usize::from(rest[4]).min(rest.len() - 5);
        let piece = &rest[5..5 + len];
        rest = &rest[5 + len..];
        let wanted = r.accepts(message_id, &info);
        match r.insert(message_id, &info, piece) {
            Ok(Progress::Complete(m)) => {
                assert!(m.plaintext.len() <= limits.max_bytes);
                assert_eq!(wanted, Ok(true));
                let _ = m.parse();
            }
            Ok(Progress::Stored { received, total }) => {
                assert_eq!(wanted, Ok(true));
                assert!(received < total && total <= limits.max_fragments);
            }
            Ok(Progress::Duplicate) => assert_eq!(wanted, Ok(false)),
            Err(e) => {
                assert!(wanted.is_err() || matches!(e, fragment::ReassemblyError::TooLarge { .. }))
            }
        }
        let (received, total) = r.progress();
        assert!(received <= total);
    }
}

fn fuzz_split(data: &[u8]) {
    let Some((&b, rest)) = data.split_first() else {
        return;
    };
    let budget = usize::from(b) + 1;
    let Ok(pieces) = fragment::split_fragments(PayloadType::SA, rest, budget) else {
        return; // more than 65535 fragments
    };
    let mut r = Reassembler::new(
        0,
        ReassemblyLimits {
            max_fragments: u16::MAX,
            max_bytes: usize::MAX,
        },
    );
    let mut out = None;
    for p in pieces.iter().rev() {
        assert!(p.plaintext.len() <= budget);
        if let Progress::Complete(m) = r.insert(0, &p.info, p.plaintext).expect("own fragments") {
            out = Some(m);
        }
    }
    let m = out.expect("all fragments given");
    assert_eq!(m.plaintext, rest);
    assert_eq!(m.first_payload, PayloadType::SA);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
            fuzz_parse_all(&data);
        }
    }
}

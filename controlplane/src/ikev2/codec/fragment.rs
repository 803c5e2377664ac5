//! IKEv2 fragmentation (RFC 7383) without crypto: reassembling the
//! decrypted contents of SKF fragments, and splitting a plaintext inner
//! chain into fragment pieces.
//!
//! Each fragment is encrypted and authenticated on its own, so the crypto
//! layer verifies and decrypts every SKF body first; the [`Reassembler`]
//! only ever sees authenticated plaintext. Before decrypting, the caller
//! can ask [`Reassembler::accepts`] whether a fragment is wanted at all
//! (duplicates and fragments of another message are not).

use super::chain::Payload;
use super::encrypted::FragmentInfo;
use super::error::{EmitError, Error};
use super::message::parse_inner;
use super::types::PayloadType;

/// Bounds on one message's reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Largest Total Fragments accepted.
    pub max_fragments: u16,
    /// Largest total plaintext kept.
    pub max_bytes: usize,
}

impl Default for ReassemblyLimits {
    /// 64 fragments, 64 KiB: more than any IKE message of this appliance
    /// needs (certificate chains included).
    fn default() -> Self {
        Self {
            max_fragments: 64,
            max_bytes: 64 * 1024,
        }
    }
}

/// Why a fragment was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReassemblyError {
    /// The fragment belongs to another message.
    WrongMessageId {
        /// The message being reassembled.
        expected: u32,
        /// The fragment's.
        got: u32,
    },
    /// The fragment's fields break RFC 7383 section 2.5 (number zero or
    /// above the total, Next Payload set in a non-first fragment).
    Invalid(Error),
    /// Total Fragments is smaller than in the fragments already stored;
    /// this fragment is discarded (a larger one restarts reassembly).
    TotalFragmentsMismatch {
        /// Total Fragments of the stored fragments.
        stored: u16,
        /// This fragment's.
        got: u16,
    },
    /// Total Fragments is above [`ReassemblyLimits::max_fragments`].
    TooManyFragments {
        /// This fragment's Total Fragments.
        total: u16,
        /// The limit.
        max: u16,
    },
    /// The plaintext would exceed [`ReassemblyLimits::max_bytes`]; every
    /// stored fragment was discarded.
    TooLarge {
        /// The plaintext with this fragment.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}

impl core::fmt::Display for ReassemblyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::WrongMessageId { expected, got } => {
                write!(f, "fragment of message {got}, reassembling {expected}")
            }
            Self::Invalid(e) => write!(f, "invalid fragment: {e}"),
            Self::TotalFragmentsMismatch { stored, got } => {
                write!(f, "Total Fragments {got}, stored fragments say {stored}")
            }
            Self::TooManyFragments { total, max } => {
                write!(f, "{total} fragments, at most {max} accepted")
            }
            Self::TooLarge { bytes, max } => {
                write!(f, "{bytes} bytes of fragments, at most {max} accepted")
            }
        }
    }
}

impl std::error::Error for ReassemblyError {}

/// What happened to a fragment given to [`Reassembler::insert`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Stored; more are missing.
    Stored {
        /// Fragments held.
        received: u16,
        /// Total Fragments.
        total: u16,
    },
    /// Already held (or the message is complete): ignored.
    Duplicate,
    /// The last missing fragment: the whole plaintext.
    Complete(Reassembled),
}

/// A reassembled inner payload chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reassembled {
    /// Type of the first inner payload (fragment 1's Next Payload).
    pub first_payload: PayloadType,
    /// The concatenated plaintexts, in fragment order.
    pub plaintext: Vec<u8>,
}

impl Reassembled {
    /// Parses the reassembled chain.
    pub fn parse(&self) -> Result<Vec<Payload>, Error> {
        parse_inner(self.first_payload, &self.plaintext)
    }
}

/// Reassembles the fragments of one message (one message ID).
#[derive(Clone, Debug)]
pub struct Reassembler {
    message_id: u32,
    limits: ReassemblyLimits,
    /// Total Fragments of the stored fragments (0 before the first).
    total: u16,
    first_payload: PayloadType,
    pieces: Vec<Option<Vec<u8>>>,
    received: u16,
    bytes: usize,
    complete: bool,
}

impl Reassembler {
    /// Starts reassembling message `message_id`.
    #[must_use]
    pub fn new(message_id: u32, limits: ReassemblyLimits) -> Self {
        Self {
            message_id,
            limits,
            total: 0,
            first_payload: PayloadType::NONE,
            pieces: Vec::new(),
            received: 0,
            bytes: 0,
            complete: false,
        }
    }

    /// The message ID.
    #[must_use]
    pub fn message_id(&self) -> u32 {
        self.message_id
    }

    /// Fragments held and Total Fragments (0 before the first).
    #[must_use]
    pub fn progress(&self) -> (u16, u16) {
        (self.received, self.total)
    }

    /// Whether a fragment is worth decrypting: `Ok(false)` for one already
    /// held, an error for one that [`Reassembler::insert`] would refuse.
    /// Nothing changes.
    pub fn accepts(&self, message_id: u32, info: &FragmentInfo) -> Result<bool, ReassemblyError> {
        if message_id != self.message_id {
            return Err(ReassemblyError::WrongMessageId {
                expected: self.message_id,
                got: message_id,
            });
        }
        info.check().map_err(ReassemblyError::Invalid)?;
        if self.complete {
            return Ok(false);
        }
        if info.total > self.limits.max_fragments {
            return Err(ReassemblyError::TooManyFragments {
                total: info.total,
                max: self.limits.max_fragments,
            });
        }
        // RFC 7383 section 2.6 (with PMTU discovery the sender may re-split
        // a message into more fragments): a fragment with a larger Total
        // Fragments discards those stored and restarts; one with a smaller
        // Total Fragments is discarded.
        if self.total != 0 && info.total < self.total {
            return Err(ReassemblyError::TotalFragmentsMismatch {
                stored: self.total,
                got: info.total,
            });
        }
        if info.total == self.total {
            let held = self
                .pieces
                .get(usize::from(info.number) - 1)
                .is_some_and(Option::is_some);
            return Ok(!held);
        }
        Ok(true)
    }

    /// Stores the decrypted (and authenticated) plaintext of one fragment,
    /// padding removed.
    pub fn insert(
        &mut self,
        message_id: u32,
        info: &FragmentInfo,
        plaintext: &[u8],
    ) -> Result<Progress, ReassemblyError> {
        if !self.accepts(message_id, info)? {
            return Ok(Progress::Duplicate);
        }
        if info.total != self.total {
            // First fragment, or a larger Total Fragments: (re)start.
            self.total = info.total;
            self.pieces = vec![None; usize::from(info.total)];
            self.received = 0;
            self.bytes = 0;
            self.first_payload = PayloadType::NONE;
        }
        let bytes = self.bytes + plaintext.len();
        if bytes > self.limits.max_bytes {
            let max = self.limits.max_bytes;
            *self = Self::new(self.message_id, self.limits);
            return Err(ReassemblyError::TooLarge { bytes, max });
        }
        let idx = usize::from(info.number) - 1;
        self.pieces[idx] = Some(plaintext.to_vec());
        if info.number == 1 {
            self.first_payload = info.next_payload;
        }
        self.received += 1;
        self.bytes = bytes;
        if self.received < self.total {
            return Ok(Progress::Stored {
                received: self.received,
                total: self.total,
            });
        }
        let mut out = Vec::with_capacity(self.bytes);
        for p in self.pieces.drain(..).flatten() {
            out.extend_from_slice(&p);
        }
        self.complete = true;
        Ok(Progress::Complete(Reassembled {
            first_payload: self.first_payload,
            plaintext: out,
        }))
    }
}

/// One fragment to encrypt and send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentPiece<'a> {
    /// Its SKF fields.
    pub info: FragmentInfo,
    /// Its share of the inner chain's plaintext (before padding).
    pub plaintext: &'a [u8],
}

/// Splits a plaintext inner chain (from [`super::emit_inner`]) into
/// pieces of at most `budget` bytes, with their SKF fields: fragment 1
/// carries the first inner payload's type, the others NONE. The budget is
/// what one fragment's plaintext may take: the path MTU less the IP and UDP
/// headers, the IKE header, any unencrypted payloads, the SKF header (8
/// bytes), IV, ICV and worst-case padding.
pub fn split_fragments(
    first_payload: PayloadType,
    plaintext: &[u8],
    budget: usize,
) -> Result<Vec<FragmentPiece<'_>>, EmitError> {
    if budget == 0 {
        return Err(EmitError::Invalid(Error::InvalidValue {
            what: "fragment budget",
            value: 0,
        }));
    }
    let count = plaintext.len().div_ceil(budget).max(1);
    let total = u16::try_from(count).map_err(|_| EmitError::TooMany {
        what: "fragments",
        count,
    })?;
    let mut chunks: Vec<&[u8]> = plaintext.chunks(budget).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    Ok(chunks
        .into_iter()
        .zip(1..=total)
        .map(|(c, number)| FragmentPiece {
            info: FragmentInfo {
                number,
                total,
                next_payload: if number == 1 {
                    first_payload
                } else {
                    PayloadType::NONE
                },
            },
            plaintext: c,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikev2::codec::emit_inner;
    use crate::ikev2::codec::payloads::{IdPayload, VendorIdPayload};

    fn info(number: u16, total: u16, next: PayloadType) -> FragmentInfo {
        FragmentInfo {
            number,
            total,
            next_payload: next,
        }
    }

    #[test]
    fn test_split_and_reassemble() {
        let inner = vec![
            Payload::IdI(IdPayload::fqdn("spoke1.cisco.com")),
            Payload::VendorId(VendorIdPayload { data: vec![7; 100] }),
        ];
        let (first, plain) = emit_inner(&inner).unwrap();
        let pieces = split_fragments(first, &plain, 30).unwrap();
        assert_eq!(pieces.len(), plain.len().div_ceil(30));
        assert_eq!(pieces[0].info.next_payload, PayloadType::IDI);
        assert!(pieces[1..]
            .iter()
            .all(|p| p.info.next_payload == PayloadType::NONE));
        assert!(pieces
            .iter()
            .all(|p| p.plaintext.len() <= 30 && p.info.check().is_ok()));
        // Deliver in reverse order with a duplicate.
        let mut r = Reassembler::new(5, ReassemblyLimits::default());
        let n = pieces.len() as u16;
        let mut done = None;
        for (k, p) in pieces.iter().rev().enumerate() {
            assert_eq!(r.accepts(5, &p.info), Ok(true));
            match r.insert(5, &p.info, p.plaintext).unwrap() {
                Progress::Stored { received, total } => {
                    assert_eq!((received, total), (k as u16 + 1, n));
                    assert_eq!(r.insert(5, &p.info, p.plaintext), Ok(Progress::Duplicate));
                    assert_eq!(r.accepts(5, &p.info), Ok(false));
                }
                Progress::Complete(m) => done = Some(m),
                Progress::Duplicate => panic!("duplicate"),
            }
        }
        let m = done.unwrap();
        assert_eq!(m.plaintext, plain);
        assert_eq!(m.parse().unwrap(), inner);
        assert_eq!(
            r.insert(5, &pieces[0].info, pieces[0].plaintext),
            Ok(Progress::Duplicate)
        );
    }

    #[test]
    fn test_split_edges() {
        let p = split_fragments(PayloadType::NONE, &[], 10).unwrap();
        assert_eq!(
            p,
            [FragmentPiece {
                info: info(1, 1, PayloadType::NONE),
                plaintext: &[]
            }]
        );
        let p = split_fragments(PayloadType::SA, &[1, 2, 3], 3).unwrap();
        assert_eq!(p.len(), 1);
        assert!(split_fragments(PayloadType::SA, &[1], 0).is_err());
        assert!(matches!(
            split_fragments(PayloadType::SA, &vec![0; 70_000], 1),
            Err(EmitError::TooMany { .. })
        ));
    }

    #[test]
    fn test_errors() {
        let mut r = Reassembler::new(
            9,
            ReassemblyLimits {
                max_fragments: 4,
                max_bytes: 10,
            },
        );
        assert_eq!(
            r.insert(8, &info(1, 2, PayloadType::SA), b"a"),
            Err(ReassemblyError::WrongMessageId {
                expected: 9,
                got: 8
            })
        );
        assert!(matches!(
            r.insert(9, &info(3, 2, PayloadType::NONE), b"a"),
            Err(ReassemblyError::Invalid(_))
        ));
        assert!(matches!(
            r.insert(9, &info(2, 2, PayloadType::SA), b"a"),
            Err(ReassemblyError::Invalid(_))
        ));
        assert_eq!(
            r.insert(9, &info(1, 5, PayloadType::SA), b"a"),
            Err(ReassemblyError::TooManyFragments { total: 5, max: 4 })
        );
        assert_eq!(
            r.insert(9, &info(2, 3, PayloadType::NONE), b"bbbb"),
            Ok(Progress::Stored {
                received: 1,
                total: 3
            })
        );
        // Smaller total: discarded, state kept.
        assert_eq!(
            r.insert(9, &info(1, 2, PayloadType::SA), b"a"),
            Err(ReassemblyError::TotalFragmentsMismatch { stored: 3, got: 2 })
        );
        assert_eq!(r.progress(), (1, 3));
        // Larger total: restart with this fragment only.
        assert_eq!(
            r.insert(9, &info(4, 4, PayloadType::NONE), b"dd"),
            Ok(Progress::Stored {
                received: 1,
                total: 4
            })
        );
        assert_eq!(
            r.insert(9, &info(1, 4, PayloadType::SA), b"aaaa"),
            Ok(Progress::Stored {
                received: 2,
                total: 4
            })
        );
        // Over the byte limit: everything dropped.
        assert_eq!(
            r.insert(9, &info(2, 4, PayloadType::NONE), b"bbbbb"),
            Err(ReassemblyError::TooLarge { bytes: 11, max: 10 })
        );
        assert_eq!(r.progress(), (0, 0));
        assert!(ReassemblyError::TooLarge { bytes: 1, max: 0 }
            .to_string()
            .contains("bytes"));
    }
}

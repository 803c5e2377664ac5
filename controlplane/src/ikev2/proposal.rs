//! Proposal choice (RFC 7296 section 2.7 and 3.3): the responder picks one
//! proposal and one transform of each type; the initiator checks that the
//! answer is one of its own.

use super::codec::{
    DhGroup as WireDh, EsnId, Proposal, ProtocolId, SaPayload, Transform, TransformId,
    TransformType,
};
use super::config::{encr_transform, EsnPolicy, EspProposal, IkeProposal};
use super::crypto::{
    DhGroup, DhGroupId, Encr, EncrId, EspSuite, IkeSuite, Integ, IntegId, Prf, PrfId,
};
use super::error::{Error, Malformed, PeerMisbehaved};

fn encr_of(t: &Transform) -> Option<Encr> {
    match t.id {
        TransformId::Encr(e) => Encr::from_transform(EncrId(e.0), t.key_length()).ok(),
        _ => None,
    }
}

fn prf_of(t: &Transform) -> Option<Prf> {
    match t.id {
        TransformId::Prf(p) => Prf::from_id(PrfId(p.0)).ok(),
        _ => None,
    }
}

fn integ_of(t: &Transform) -> Option<Option<Integ>> {
    match t.id {
        TransformId::Integ(i) => Integ::from_id(IntegId(i.0)).ok(),
        _ => None,
    }
}

fn dh_of(t: &Transform) -> Option<Option<DhGroup>> {
    match t.id {
        TransformId::Dh(WireDh::NONE) => Some(None),
        TransformId::Dh(d) => DhGroup::from_id(DhGroupId(d.0)).ok().map(Some),
        _ => None,
    }
}

/// The wire DH group of a crypto group.
#[must_use]
pub(crate) fn wire_dh(g: DhGroup) -> WireDh {
    WireDh(g.id().0)
}

/// The crypto group of a wire group, if we implement it.
#[must_use]
pub(crate) fn crypto_dh(g: WireDh) -> Option<DhGroup> {
    DhGroup::from_id(DhGroupId(g.0)).ok()
}

/// The transforms of an accepted IKE suite.
fn ike_transforms(s: &IkeSuite) -> Vec<Transform> {
    let mut v = vec![
        encr_transform(s.encr()),
        Transform::new(TransformId::Prf(super::codec::PrfId(s.prf().id().0))),
    ];
    if let Some(i) = s.integ() {
        v.push(Transform::new(TransformId::Integ(super::codec::IntegId(
            i.id().0,
        ))));
    }
    v.push(Transform::new(TransformId::Dh(wire_dh(s.dh()))));
    v
}

/// Responder: the first of the peer's IKE proposals that one of ours
/// accepts. `ke_group` is the group of the peer's KE payload: when the
/// proposal allows it, it is chosen (no INVALID_KE_PAYLOAD round trip).
/// Returns the answer's proposal (with `spi`) and the suite.
pub(crate) fn select_ike(
    ours: &[IkeProposal],
    sa: &SaPayload,
    ke_group: Option<WireDh>,
    spi: Vec<u8>,
) -> Result<(Proposal, IkeSuite), Error> {
    sa.check_request_numbering()?;
    for p in &sa.proposals {
        if p.protocol != ProtocolId::IKE {
            continue;
        }
        for o in ours {
            let Some(encr) = p
                .transforms_of(TransformType::ENCR)
                .filter_map(encr_of)
                .find(|e| o.encr.contains(e))
            else {
                continue;
            };
            let Some(prf) = p
                .transforms_of(TransformType::PRF)
                .filter_map(prf_of)
                .find(|x| o.prf.contains(x))
            else {
                continue;
            };
            let integ = if encr.is_aead() {
                None
            } else {
                match p
                    .transforms_of(TransformType::INTEG)
                    .filter_map(integ_of)
                    .flatten()
                    .find(|x| o.integ.contains(x))
                {
                    Some(i) => Some(i),
                    None => continue,
                }
            };
            let groups: Vec<DhGroup> = p
                .transforms_of(TransformType::DH)
                .filter_map(dh_of)
                .flatten()
                .filter(|g| o.dh.contains(g))
                .collect();
            let dh = match ke_group.and_then(crypto_dh) {
                Some(k) if groups.contains(&k) => k,
                _ => match groups.first() {
                    Some(g) => *g,
                    None => continue,
                },
            };
            let Ok(suite) = IkeSuite::new(encr, prf, integ, dh) else {
                continue;
            };
            let answer = Proposal {
                number: p.number,
                protocol: ProtocolId::IKE,
                spi,
                transforms: ike_transforms(&suite),
            };
            return Ok((answer, suite));
        }
    }
    Err(PeerMisbehaved::NoProposalChosen.into())
}

/// Initiator: the suite of the responder's answer, which must be one
/// proposal whose transforms we offered.
pub(crate) fn accept_ike(
    ours: &[IkeProposal],
    sa: &SaPayload,
) -> Result<(Proposal, IkeSuite), Error> {
    let [p] = &sa.proposals[..] else {
        return Err(Malformed::Payload("SA with one proposal").into());
    };
    if p.protocol != ProtocolId::IKE {
        return Err(PeerMisbehaved::NoProposalChosen.into());
    }
    let one = |t: TransformType| {
        let mut it = p.transforms_of(t);
        let first = it.next();
        if it.next().is_some() {
            None
        } else {
            Some(first)
        }
    };
    let bad = || Error::from(PeerMisbehaved::NoProposalChosen);
    let encr = one(TransformType::ENCR)
        .flatten()
        .and_then(encr_of)
        .ok_or_else(bad)?;
    let prf = one(TransformType::PRF)
        .flatten()
        .and_then(prf_of)
        .ok_or_else(bad)?;
    let integ = match one(TransformType::INTEG).ok_or_else(bad)? {
        None => None,
        Some(t) => integ_of(t).ok_or_else(bad)?,
    };
    let dh = one(TransformType::DH)
        .flatten()
        .and_then(dh_of)
        .flatten()
        .ok_or_else(bad)?;
    let suite = IkeSuite::new(encr, prf, integ, dh).map_err(|_| bad())?;
    let offered = ours.iter().any(|o| {
        o.encr.contains(&encr)
            && o.prf.contains(&prf)
            && integ.is_none_or(|i| o.integ.contains(&i))
            && o.dh.contains(&dh)
    });
    if !offered {
        return Err(bad());
    }
    Ok((p.clone(), suite))
}

/// An accepted ESP proposal.
#[derive(Clone, Debug)]
pub(crate) struct EspChoice {
    /// The peer's SPI (its inbound).
    pub(crate) peer_spi: u32,
    pub(crate) suite: EspSuite,
    pub(crate) esn: bool,
    /// PFS group of a CREATE_CHILD_SA.
    pub(crate) dh: Option<DhGroup>,
    /// The proposal to answer with (our SPI filled in later).
    pub(crate) answer: Proposal,
}

fn esn_of(t: &Transform) -> Option<bool> {
    match t.id {
        TransformId::Esn(EsnId::ESN) => Some(true),
        TransformId::Esn(EsnId::NO_ESN) => Some(false),
        _ => None,
    }
}

fn esn_allowed(p: EsnPolicy, esn: bool) -> bool {
    match p {
        EsnPolicy::Off => !esn,
        EsnPolicy::On => esn,
        EsnPolicy::Either => true,
    }
}

/// Responder: the first acceptable ESP proposal. `with_dh`: a
/// CREATE_CHILD_SA, where the proposal's D-H group is PFS; in IKE_AUTH
/// D-H transforms are ignored.
pub(crate) fn select_esp(
    ours: &[EspProposal],
    sa: &SaPayload,
    with_dh: bool,
    ke_group: Option<WireDh>,
) -> Result<EspChoice, Error> {
    sa.check_request_numbering()?;
    for p in &sa.proposals {
        if p.protocol != ProtocolId::ESP {
            continue;
        }
        let Ok(spi) = <[u8; 4]>::try_from(&p.spi[..]) else {
            continue;
        };
        // AEAD only: an integrity transform other than NONE rules the
        // proposal out.
        if p.transforms_of(TransformType::INTEG)
            .any(|t| t.id != TransformId::Integ(super::codec::IntegId::NONE))
        {
            continue;
        }
        for o in ours {
            let Some(encr) = p
                .transforms_of(TransformType::ENCR)
                .filter_map(encr_of)
                .find(|e| o.encr.contains(e) && e.is_aead())
            else {
                continue;
            };
            let esns: Vec<bool> = p
                .transforms_of(TransformType::ESN)
                .filter_map(esn_of)
                .collect();
            let esn = if esns.is_empty() {
                if esn_allowed(o.esn, false) {
                    false
                } else {
                    continue;
                }
            } else {
                match esns.iter().copied().find(|e| esn_allowed(o.esn, *e)) {
                    Some(e) => e,
                    None => continue,
                }
            };
            let dh = if with_dh {
                let offered: Vec<Option<DhGroup>> = p
                    .transforms_of(TransformType::DH)
                    .filter_map(dh_of)
                    .collect();
                let none_ok = offered.is_empty() || offered.contains(&None);
                if o.pfs.is_empty() {
                    if none_ok {
                        None
                    } else {
                        continue;
                    }
                } else {
                    let groups: Vec<DhGroup> = offered
                        .iter()
                        .flatten()
                        .copied()
                        .filter(|g| o.pfs.contains(g))
                        .collect();
                    match ke_group.and_then(crypto_dh) {
                        Some(k) if groups.contains(&k) => Some(k),
                        _ => match groups.first() {
                            Some(g) => Some(*g),
                            None => continue,
                        },
                    }
                }
            } else {
                None
            };
            let Ok(suite) = EspSuite::new(encr, None) else {
                continue;
            };
            let mut transforms = vec![encr_transform(encr)];
            if let Some(g) = dh {
                transforms.push(Transform::new(TransformId::Dh(wire_dh(g))));
            }
            transforms.push(Transform::new(TransformId::Esn(if esn {
                EsnId::ESN
            } else {
                EsnId::NO_ESN
            })));
            return Ok(EspChoice {
                peer_spi: u32::from_be_bytes(spi),
                suite,
                esn,
                dh,
                answer: Proposal {
                    number: p.number,
                    protocol: ProtocolId::ESP,
                    spi: Vec::new(),
                    transforms,
                },
            });
        }
    }
    Err(PeerMisbehaved::NoProposalChosen.into())
}

/// Initiator: checks the responder's ESP answer. `offered_dh` is the PFS
/// group of our KE payload (CREATE_CHILD_SA with PFS).
pub(crate) fn accept_esp(
    ours: &[EspProposal],
    sa: &SaPayload,
    offered_dh: Option<DhGroup>,
) -> Result<EspChoice, Error> {
    let bad = || Error::from(PeerMisbehaved::NoProposalChosen);
    let [p] = &sa.proposals[..] else {
        return Err(Malformed::Payload("SA with one proposal").into());
    };
    if p.protocol != ProtocolId::ESP {
        return Err(bad());
    }
    let spi = <[u8; 4]>::try_from(&p.spi[..]).map_err(|_| bad())?;
    let mut encrs = p.transforms_of(TransformType::ENCR);
    let encr = encrs.next().and_then(encr_of).ok_or_else(bad)?;
    if encrs.next().is_some() {
        return Err(bad());
    }
    let esn = match p
        .transforms_of(TransformType::ESN)
        .filter_map(esn_of)
        .collect::<Vec<_>>()[..]
    {
        [] => false,
        [e] => e,
        _ => return Err(bad()),
    };
    let dh: Vec<Option<DhGroup>> = p
        .transforms_of(TransformType::DH)
        .filter_map(dh_of)
        .collect();
    let dh = match (&dh[..], offered_dh) {
        ([] | [None], None) => None,
        ([Some(g)], Some(o)) if *g == o => Some(o),
        _ => return Err(bad()),
    };
    let ok = ours
        .iter()
        .any(|o| o.encr.contains(&encr) && esn_allowed(o.esn, esn));
    if !ok {
        return Err(bad());
    }
    Ok(EspChoice {
        peer_spi: u32::from_be_bytes(spi),
        suite: EspSuite::new(encr, None).map_err(|_| bad())?,
        esn,
        dh,
        answer: p.clone(),
    })
}

/// Our IKE SA payload: every configured proposal, numbered from 1, with
/// `first_dh` moved to the front of each group list.
pub(crate) fn ike_offer(ours: &[IkeProposal], spi: &[u8], first_dh: DhGroup) -> SaPayload {
    SaPayload {
        proposals: ours
            .iter()
            .enumerate()
            .map(|(i, p)| {
                p.to_wire(
                    u8::try_from(i + 1).unwrap_or(u8::MAX),
                    spi.to_vec(),
                    Some(first_dh),
                )
            })
            .collect(),
    }
}

/// Our ESP SA payload.
pub(crate) fn esp_offer(
    ours: &[EspProposal],
    spi: u32,
    with_dh: bool,
    first_dh: Option<DhGroup>,
) -> SaPayload {
    SaPayload {
        proposals: ours
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut w = p.to_wire(u8::try_from(i + 1).unwrap_or(u8::MAX), spi, with_dh);
                if let Some(g) = first_dh {
                    // The KE payload's group first among the D-H transforms.
                    let dh = Transform::new(TransformId::Dh(wire_dh(g)));
                    if let Some(pos) = w.transforms.iter().position(|t| *t == dh) {
                        let t = w.transforms.remove(pos);
                        let first_dh_pos = w
                            .transforms
                            .iter()
                            .position(|t| t.id.transform_type() == TransformType::DH)
                            .unwrap_or(w.transforms.len());
                        w.transforms.insert(first_dh_pos, t);
                    }
                }
                w
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_select_and_accept_ike() {
        let ours = vec![IkeProposal::aead_default(), IkeProposal::cbc_default()];
        let offer = ike_offer(&ours, &[], DhGroup::Ecp256);
        let (answer, suite) = select_ike(&ours, &offer, Some(WireDh::ECP_256), Vec::new()).unwrap();
        assert_eq!(suite.encr(), Encr::AesGcm16_256);
        assert_eq!(suite.dh(), DhGroup::Ecp256);
        let (_, s2) = accept_ike(
            &ours,
            &SaPayload {
                proposals: vec![answer],
            },
        )
        .unwrap();
        assert_eq!(s2, suite);
        // A responder with CBC only picks the second proposal.
        let cbc = vec![IkeProposal::cbc_default()];
        let (answer, suite) = select_ike(&cbc, &offer, Some(WireDh::ECP_256), Vec::new()).unwrap();
        assert_eq!(answer.number, 2);
        assert_eq!(suite.integ(), Some(Integ::HmacSha256_128));
        // KE group not allowed: the first allowed one (INVALID_KE_PAYLOAD).
        let only_p384 = vec![IkeProposal {
            dh: vec![DhGroup::Ecp384],
            ..IkeProposal::cbc_default()
        }];
        let (_, suite) = select_ike(&only_p384, &offer, Some(WireDh::ECP_256), Vec::new()).unwrap();
        assert_eq!(suite.dh(), DhGroup::Ecp384);
        // Nothing in common.
        let none = vec![IkeProposal {
            dh: vec![DhGroup::Modp2048],
            ..IkeProposal::aead_default()
        }];
        assert!(select_ike(
            &none,
            &ike_offer(&[IkeProposal::aead_default()], &[], DhGroup::Curve25519),
            None,
            Vec::new()
        )
        .is_err());
    }

    #[test]
    fn test_select_and_accept_esp() {
        let ours = vec![EspProposal::default()];
        let offer = esp_offer(&ours, 0x1234_5678, false, None);
        let c = select_esp(&ours, &offer, false, None).unwrap();
        assert_eq!(c.peer_spi, 0x1234_5678);
        assert!(c.esn);
        assert_eq!(c.suite.encr(), Encr::AesGcm16_256);
        let mut answer = c.answer.clone();
        answer.spi = 7u32.to_be_bytes().to_vec();
        let a = accept_esp(
            &ours,
            &SaPayload {
                proposals: vec![answer],
            },
            None,
        )
        .unwrap();
        assert_eq!(a.peer_spi, 7);
        // PFS.
        let pfs = vec![EspProposal {
            pfs: vec![DhGroup::Curve25519],
            esn: EsnPolicy::Off,
            ..EspProposal::default()
        }];
        let offer = esp_offer(&pfs, 1, true, Some(DhGroup::Curve25519));
        let c = select_esp(&pfs, &offer, true, Some(WireDh::CURVE25519)).unwrap();
        assert_eq!(c.dh, Some(DhGroup::Curve25519));
        assert!(!c.esn);
        let mut answer = c.answer;
        answer.spi = 9u32.to_be_bytes().to_vec();
        let sa = SaPayload {
            proposals: vec![answer],
        };
        assert!(accept_esp(&pfs, &sa, Some(DhGroup::Curve25519)).is_ok());
        assert!(accept_esp(&pfs, &sa, None).is_err());
    }
}

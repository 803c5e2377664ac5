//! Traffic selector narrowing (RFC 7296 section 2.9).

use super::codec::{TrafficSelector, TsRange};

fn intersect_range<A: Copy + Ord>(a: &TsRange<A>, b: &TsRange<A>) -> Option<TsRange<A>> {
    let ip_protocol = match (a.ip_protocol, b.ip_protocol) {
        (0, p) | (p, 0) => p,
        (p, q) if p == q => p,
        _ => return None,
    };
    // OPAQUE ports (65535..=0) only meet any ports or OPAQUE itself.
    let opaque = |r: &TsRange<A>| r.start_port == u16::MAX && r.end_port == 0;
    let (start_port, end_port) = match (opaque(a), opaque(b)) {
        (true, true) => (u16::MAX, 0),
        (true, false) if b.start_port == 0 && b.end_port == u16::MAX => (u16::MAX, 0),
        (false, true) if a.start_port == 0 && a.end_port == u16::MAX => (u16::MAX, 0),
        (true, _) | (_, true) => return None,
        _ => {
            let s = a.start_port.max(b.start_port);
            let e = a.end_port.min(b.end_port);
            if s > e {
                return None;
            }
            (s, e)
        }
    };
    let start = a.start.max(b.start);
    let end = a.end.min(b.end);
    if start > end {
        return None;
    }
    Some(TsRange {
        ip_protocol,
        start_port,
        end_port,
        start,
        end,
    })
}

/// The intersection of two selectors of the same type.
#[must_use]
pub fn intersect(a: &TrafficSelector, b: &TrafficSelector) -> Option<TrafficSelector> {
    match (a, b) {
        (TrafficSelector::Ipv4(x), TrafficSelector::Ipv4(y)) => {
            intersect_range(x, y).map(TrafficSelector::Ipv4)
        }
        (TrafficSelector::Ipv6(x), TrafficSelector::Ipv6(y)) => {
            intersect_range(x, y).map(TrafficSelector::Ipv6)
        }
        _ => None,
    }
}

/// Narrows the peer's proposed selectors to what our configuration allows:
/// every non-empty intersection of a proposed selector with a configured
/// one, without duplicates. Empty means TS_UNACCEPTABLE.
//= https://www.rfc-editor.org/rfc/rfc7296#section-2.9
//# the responder is allowed to narrow the choices by selecting a subset
//# of the traffic, for instance by eliminating or narrowing the range of
//# one or more members of the set of traffic selectors, provided the set
//# does not become the NULL set.
#[must_use]
pub fn narrow(proposed: &[TrafficSelector], allowed: &[TrafficSelector]) -> Vec<TrafficSelector> {
    let mut out: Vec<TrafficSelector> = Vec::new();
    for p in proposed {
        for a in allowed {
            if let Some(x) = intersect(p, a) {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
    }
    out
}

fn range_within<A: Copy + Ord>(inner: &TsRange<A>, outer: &TsRange<A>) -> bool {
    intersect_range(inner, outer).as_ref() == Some(inner)
}

/// Whether every selector of `got` lies inside one of `proposed` (the
/// initiator's check of the responder's narrowed selectors).
#[must_use]
pub fn is_subset(got: &[TrafficSelector], proposed: &[TrafficSelector]) -> bool {
    !got.is_empty()
        && got.iter().all(|g| {
            proposed.iter().any(|p| match (g, p) {
                (TrafficSelector::Ipv4(x), TrafficSelector::Ipv4(y)) => range_within(x, y),
                (TrafficSelector::Ipv6(x), TrafficSelector::Ipv6(y)) => range_within(x, y),
                _ => false,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikev2::config::{ts_any_v4, ts_any_v6};
    use std::net::Ipv4Addr;

    fn v4(a: [u8; 4], b: [u8; 4]) -> TrafficSelector {
        TrafficSelector::Ipv4(TsRange::addresses(Ipv4Addr::from(a), Ipv4Addr::from(b)))
    }

    #[test]
    fn test_narrow() {
        let lan = v4([192, 168, 110, 0], [192, 168, 110, 255]);
        assert_eq!(
            narrow(&[ts_any_v4(), ts_any_v6()], std::slice::from_ref(&lan)),
            vec![lan.clone()]
        );
        assert!(narrow(&[ts_any_v6()], std::slice::from_ref(&lan)).is_empty());
        let tcp = TrafficSelector::Ipv4(TsRange {
            ip_protocol: 6,
            start_port: 80,
            end_port: 80,
            start: Ipv4Addr::new(0, 0, 0, 0),
            end: Ipv4Addr::new(255, 255, 255, 255),
        });
        let got = narrow(&[tcp], std::slice::from_ref(&lan));
        assert!(
            matches!(&got[..], [TrafficSelector::Ipv4(r)] if r.ip_protocol == 6 && r.start_port == 80 && r.start == Ipv4Addr::new(192,168,110,0))
        );
        assert!(is_subset(&got, &[ts_any_v4()]));
        assert!(is_subset(std::slice::from_ref(&lan), &[ts_any_v4()]));
        assert!(!is_subset(&[ts_any_v4()], &[lan]));
        assert!(!is_subset(&[], &[ts_any_v4()]));
    }

    fn arb_v4() -> impl proptest::strategy::Strategy<Value = TrafficSelector> {
        use proptest::prelude::*;
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(|(p, a, b, x, y)| {
                TrafficSelector::Ipv4(TsRange {
                    ip_protocol: p % 3 * 6,
                    start_port: a.min(b),
                    end_port: a.max(b),
                    start: Ipv4Addr::from(x.min(y)),
                    end: Ipv4Addr::from(x.max(y)),
                })
            })
    }

    proptest::proptest! {
        /// Narrowing only ever gives selectors inside both what was
        /// proposed and what is allowed.
        #[test]
        fn prop_narrow_is_subset(
            proposed in proptest::collection::vec(arb_v4(), 1..4),
            allowed in proptest::collection::vec(arb_v4(), 1..4),
        ) {
            let got = narrow(&proposed, &allowed);
            if !got.is_empty() {
                proptest::prop_assert!(is_subset(&got, &proposed));
                proptest::prop_assert!(is_subset(&got, &allowed));
            }
        }
    }
}

//! The IKE SA and Child SA lifecycles as transition tables.
//!
//! Every state change of the core goes through [`IkeState::next`] or
//! [`ChildState::next`]; an input that the table does not list for a state
//! leaves the state as it is (the core treats that input as unexpected).
//! [`render_ike_table`] and [`render_child_table`] print the tables; a
//! snapshot test compares them with committed files, so that a change of
//! the lifecycle is always a visible change of the snapshot.

use std::fmt;

/// The state of an IKE SA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum IkeState {
    /// Initiator: IKE_SA_INIT request sent.
    InitSent,
    /// Responder: IKE_SA_INIT answered, waiting for IKE_AUTH (half-open).
    InitResponded,
    /// Initiator: IKE_AUTH request sent.
    AuthSent,
    /// Authenticated; Child SAs can exist.
    Established,
    /// We sent a CREATE_CHILD_SA request rekeying this IKE SA.
    Rekeying,
    /// Replaced by a new IKE SA; waits for the Delete of this one.
    Rekeyed,
    /// We sent a Delete for this IKE SA.
    Deleting,
    /// Gone; the entry only lingers to answer retransmissions.
    Closed,
}

/// What happens to an IKE SA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum IkeInput {
    /// Initiator: send IKE_SA_INIT again (COOKIE or INVALID_KE_PAYLOAD).
    InitRetry,
    /// Initiator: IKE_SA_INIT response accepted, IKE_AUTH sent.
    InitDone,
    /// Responder: IKE_AUTH request authenticated and answered.
    AuthRequestOk,
    /// Initiator: IKE_AUTH response authenticated.
    AuthResponseOk,
    /// Authentication failed on either side.
    AuthFailed,
    /// A failure ends the SA (no proposal, half-open timeout, peer dead).
    Fail,
    /// We start an IKE SA rekey.
    RekeyStart,
    /// Our rekey failed (TEMPORARY_FAILURE, NO_PROPOSAL_CHOSEN): back to
    /// established.
    RekeyAbort,
    /// A rekey (ours or the peer's) replaced this SA.
    Replaced,
    /// We send a Delete.
    DeleteStart,
    /// The peer deleted the SA, or our Delete was answered.
    Deleted,
}

impl IkeState {
    /// The state after `input`, or `None` if `input` is not expected in
    /// this state.
    #[must_use]
    pub fn next(self, input: IkeInput) -> Option<Self> {
        use IkeInput as I;
        Some(match (self, input) {
            (Self::InitSent, I::InitRetry) => Self::InitSent,
            (Self::InitSent, I::InitDone) => Self::AuthSent,
            (Self::InitResponded, I::AuthRequestOk) => Self::Established,
            (Self::AuthSent, I::AuthResponseOk) => Self::Established,
            (Self::InitResponded | Self::AuthSent, I::AuthFailed) => Self::Closed,
            (Self::InitSent | Self::InitResponded | Self::AuthSent, I::Fail) => Self::Closed,
            (Self::Established, I::RekeyStart) => Self::Rekeying,
            (Self::Rekeying, I::RekeyAbort) => Self::Established,
            (Self::Established | Self::Rekeying, I::Replaced) => Self::Rekeyed,
            (Self::Established | Self::Rekeying | Self::Rekeyed, I::Fail) => Self::Closed,
            (Self::Established | Self::Rekeying | Self::Rekeyed, I::DeleteStart) => Self::Deleting,
            (Self::Established | Self::Rekeying | Self::Rekeyed | Self::Deleting, I::Deleted) => {
                Self::Closed
            }
            (Self::Deleting, I::Fail) => Self::Closed,
            (Self::AuthSent, I::Deleted) => Self::Closed,
            _ => return None,
        })
    }

    /// All states, for the table.
    pub const ALL: [Self; 8] = [
        Self::InitSent,
        Self::InitResponded,
        Self::AuthSent,
        Self::Established,
        Self::Rekeying,
        Self::Rekeyed,
        Self::Deleting,
        Self::Closed,
    ];
}

impl IkeInput {
    /// All inputs, for the table.
    pub const ALL: [Self; 11] = [
        Self::InitRetry,
        Self::InitDone,
        Self::AuthRequestOk,
        Self::AuthResponseOk,
        Self::AuthFailed,
        Self::Fail,
        Self::RekeyStart,
        Self::RekeyAbort,
        Self::Replaced,
        Self::DeleteStart,
        Self::Deleted,
    ];
}

/// The state of a Child SA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChildState {
    /// Installed in both directions.
    Installed,
    /// We sent a CREATE_CHILD_SA rekeying it.
    Rekeying,
    /// Replaced by a new Child SA; inbound still accepted until deleted.
    Rekeyed,
    /// We sent a Delete for it.
    Deleting,
    /// Removed.
    Removed,
}

/// What happens to a Child SA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChildInput {
    /// We start a rekey.
    RekeyStart,
    /// Our rekey failed; the SA stays.
    RekeyAbort,
    /// A rekey (ours or the peer's) installed its successor.
    Replaced,
    /// We send a Delete.
    DeleteStart,
    /// Deleted by the peer, our Delete answered, expired, or its IKE SA
    /// went away.
    Removed,
}

impl ChildState {
    /// The state after `input`, or `None` if not expected.
    #[must_use]
    pub fn next(self, input: ChildInput) -> Option<Self> {
        use ChildInput as I;
        Some(match (self, input) {
            (Self::Installed, I::RekeyStart) => Self::Rekeying,
            (Self::Rekeying, I::RekeyAbort) => Self::Installed,
            (Self::Installed | Self::Rekeying, I::Replaced) => Self::Rekeyed,
            (Self::Installed | Self::Rekeying | Self::Rekeyed, I::DeleteStart) => Self::Deleting,
            (Self::Installed | Self::Rekeying | Self::Rekeyed | Self::Deleting, I::Removed) => {
                Self::Removed
            }
            _ => return None,
        })
    }

    /// All states.
    pub const ALL: [Self; 5] = [
        Self::Installed,
        Self::Rekeying,
        Self::Rekeyed,
        Self::Deleting,
        Self::Removed,
    ];
}

impl ChildInput {
    /// All inputs.
    pub const ALL: [Self; 5] = [
        Self::RekeyStart,
        Self::RekeyAbort,
        Self::Replaced,
        Self::DeleteStart,
        Self::Removed,
    ];
}

fn render<S: fmt::Debug + Copy, I: fmt::Debug + Copy>(
    title: &str,
    states: &[S],
    inputs: &[I],
    next: impl Fn(S, I) -> Option<S>,
) -> String {
    let mut out = format!("# {title}: (state, input) -> state; pairs not listed are ignored\n");
    for &s in states {
        for &i in inputs {
            if let Some(n) = next(s, i) {
                out.push_str(&format!("{s:?} + {i:?} -> {n:?}\n"));
            }
        }
    }
    out
}

/// The IKE SA transition table as text.
#[must_use]
pub fn render_ike_table() -> String {
    render("IKE SA", &IkeState::ALL, &IkeInput::ALL, IkeState::next)
}

/// The Child SA transition table as text.
#[must_use]
pub fn render_child_table() -> String {
    render(
        "Child SA",
        &ChildState::ALL,
        &ChildInput::ALL,
        ChildState::next,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_closed_is_terminal() {
        for i in IkeInput::ALL {
            assert_eq!(IkeState::Closed.next(i), None);
        }
        for i in ChildInput::ALL {
            assert_eq!(ChildState::Removed.next(i), None);
        }
    }

    #[test]
    fn test_every_state_can_close() {
        for s in IkeState::ALL {
            if s != IkeState::Closed {
                assert!(
                    s.next(IkeInput::Fail) == Some(IkeState::Closed)
                        || s.next(IkeInput::Deleted) == Some(IkeState::Closed),
                    "{s:?}"
                );
            }
        }
    }
}

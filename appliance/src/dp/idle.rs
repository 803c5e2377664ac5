//! What a polling loop does when its queues come back empty.
//!
//! - [`IdlePolicy::Busy`]: nothing; poll again at once. For cores that
//!   belong to the dataplane alone (production).
//! - [`IdlePolicy::Adaptive`]: keep polling for a while (traffic often
//!   comes in trains), then poll with a CPU pause hint between polls, then
//!   sleep between polls, doubling the sleep from `min_sleep` up to
//!   `max_sleep`; any packet resets it. With the defaults an idle worker
//!   wakes about 5,000 times a second (200 us sleeps, plus the kernel's
//!   timer slack), so several appliances and their hosts share a 2-core
//!   machine, and a packet after a silence waits at most about one sleep.
//!
//! [`Backoff`] is the state machine alone (no clock, no sleeping), so its
//! decisions are unit-tested; the loops carry them out with
//! [`Backoff::idle`].

use std::time::Duration;

/// The policy, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdlePolicy {
    /// Pure busy polling.
    Busy,
    /// Spin, then pause, then sleep with exponential back-off.
    Adaptive {
        /// Empty polls before pausing.
        spin_polls: u32,
        /// Further empty polls with a pause hint before sleeping.
        pause_polls: u32,
        /// First sleep.
        min_sleep: Duration,
        /// Longest sleep.
        max_sleep: Duration,
    },
}

impl IdlePolicy {
    /// The adaptive policy with its defaults: 64 empty polls, 1,024 paused
    /// polls, then sleeps from 1 us to 200 us.
    pub fn adaptive() -> Self {
        Self::Adaptive {
            spin_polls: 64,
            pause_polls: 1024,
            min_sleep: Duration::from_micros(1),
            max_sleep: Duration::from_micros(200),
        }
    }

    /// The same policy with another longest sleep (adaptive only).
    #[must_use]
    pub fn with_max_sleep(self, d: Duration) -> Self {
        match self {
            Self::Busy => Self::Busy,
            Self::Adaptive {
                spin_polls,
                pause_polls,
                min_sleep,
                ..
            } => Self::Adaptive {
                spin_polls,
                pause_polls,
                min_sleep: min_sleep.min(d),
                max_sleep: d,
            },
        }
    }
}

/// What to do after a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleAction {
    /// Poll again at once.
    Poll,
    /// Execute a CPU pause hint, then poll.
    Pause,
    /// Sleep this long, then poll.
    Sleep(Duration),
}

/// The back-off state of one polling loop.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: IdlePolicy,
    empty: u32,
    sleep: Duration,
}

impl Backoff {
    /// A fresh state.
    pub fn new(policy: IdlePolicy) -> Self {
        Self {
            policy,
            empty: 0,
            sleep: Duration::ZERO,
        }
    }

    /// Records a poll that found `work` items and says what to do next.
    #[inline]
    pub fn after_poll(&mut self, work: usize) -> IdleAction {
        let IdlePolicy::Adaptive {
            spin_polls,
            pause_polls,
            min_sleep,
            max_sleep,
        } = self.policy
        else {
            return IdleAction::Poll;
        };
        if work > 0 {
            self.empty = 0;
            self.sleep = Duration::ZERO;
            return IdleAction::Poll;
        }
        self.empty = self.empty.saturating_add(1);
        if self.empty <= spin_polls {
            IdleAction::Poll
        } else if self.empty <= spin_polls.saturating_add(pause_polls) {
            IdleAction::Pause
        } else {
            self.sleep = if self.sleep.is_zero() {
                min_sleep
            } else {
                (self.sleep * 2).min(max_sleep)
            };
            IdleAction::Sleep(self.sleep)
        }
    }

    /// Carries out an action; true if it slept.
    #[inline]
    pub fn idle(action: IdleAction) -> bool {
        match action {
            IdleAction::Poll => false,
            IdleAction::Pause => {
                std::hint::spin_loop();
                false
            }
            IdleAction::Sleep(d) => {
                std::thread::sleep(d);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_busy_never_waits() {
        let mut b = Backoff::new(IdlePolicy::Busy);
        for _ in 0..100_000 {
            assert_eq!(b.after_poll(0), IdleAction::Poll);
        }
    }

    #[test]
    fn test_adaptive_spins_pauses_then_backs_off() {
        let p = IdlePolicy::Adaptive {
            spin_polls: 3,
            pause_polls: 2,
            min_sleep: Duration::from_micros(1),
            max_sleep: Duration::from_micros(10),
        };
        let mut b = Backoff::new(p);
        let got: Vec<IdleAction> = (0..11).map(|_| b.after_poll(0)).collect();
        let us = |n| IdleAction::Sleep(Duration::from_micros(n));
        assert_eq!(
            got,
            vec![
                IdleAction::Poll,
                IdleAction::Poll,
                IdleAction::Poll,
                IdleAction::Pause,
                IdleAction::Pause,
                us(1),
                us(2),
                us(4),
                us(8),
                us(10),
                us(10),
            ]
        );
        // A packet resets everything.
        assert_eq!(b.after_poll(5), IdleAction::Poll);
        assert_eq!(b.after_poll(0), IdleAction::Poll);
        let after: Vec<IdleAction> = (0..5).map(|_| b.after_poll(0)).collect();
        assert_eq!(after[4], us(1), "back-off starts over at the minimum");
    }

    #[test]
    fn test_defaults_and_max_sleep() {
        let IdlePolicy::Adaptive { max_sleep, .. } = IdlePolicy::adaptive() else {
            panic!()
        };
        assert_eq!(max_sleep, Duration::from_micros(200));
        let mut b = Backoff::new(IdlePolicy::adaptive().with_max_sleep(Duration::from_micros(50)));
        let last = (0..5000).map(|_| b.after_poll(0)).last().unwrap();
        assert_eq!(last, IdleAction::Sleep(Duration::from_micros(50)));
        assert_eq!(
            IdlePolicy::Busy.with_max_sleep(Duration::from_micros(5)),
            IdlePolicy::Busy
        );
    }
}

//! IKEv2 (RFC 7296): message codec, cryptographic suite, configuration and
//! the sans-IO state machines. No I/O, no clock in the core; the
//! [`driver`] module is a thin UDP driver for tests and tools.

pub mod auth;
pub mod codec;
pub mod config;
pub mod crypto;
pub mod driver;
mod endpoint;
pub mod error;
pub mod events;
pub mod identity;
pub mod pool;
mod proposal;
mod sa;
pub mod selectors;
pub mod state;

pub use auth::{AuthFailure, Authenticator, Keyring, Psk};
pub use config::{Config, ConfigError};
pub use endpoint::{fuzz_responder, Endpoint};
pub use error::Error;
pub use events::{Event, IkeSaId, RandomSource, SpiAllocator, Transmit};
pub use identity::{Identity, IdentityMatch};
pub use sa::{ChildSaInfo, IkeSaInfo, Stats};

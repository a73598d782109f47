//! Registry credentials: where they come from and how they are kept secret.
//!
//! Owns: the redacting [`Secret`] type, and finding credentials for a registry host.
//! Does not: talk to registries (see [`super::registry`]).

use std::fmt;

/// A secret string (password, token). `Display` and `Debug` print `***`; only
/// [`Secret::expose`] gives the value, at the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself. Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Credentials for one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// User name and password (basic auth, exchanged for a bearer token when asked).
    Basic {
        /// User name (not secret).
        username: String,
        /// Password.
        password: Secret,
    },
    /// An identity token (`identitytoken` in Docker's config).
    IdentityToken(Secret),
}

//! Vidimus access: who may use the system.
//!
//! Local users with argon2id password hashes ([`password`]) and an optional TOTP second
//! factor ([`totp`]), session and CSRF tokens
//! ([`token`]), login rate limiting ([`ratelimit`]); organisations and jurisdictions
//! ([`org`]); access requests and what the regulation requires of them before they
//! become grants ([`request`], Art. 33–35). All sans-IO. The decisions at access
//! time are Cedar policies (`vidimus-policy`).

pub mod digest;
pub mod org;
pub mod password;
pub mod ratelimit;
pub mod request;
pub mod token;
pub mod totp;

/// What a user may do until fine-grained policy arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manages users, cameras and everything else.
    Admin,
    /// Watches live and recorded video and exports.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

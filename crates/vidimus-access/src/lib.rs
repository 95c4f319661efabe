//! Vidimus access: who may use the system.
//!
//! Today: local users with argon2id password hashes ([`password`]), session and CSRF
//! tokens ([`token`]), and login rate limiting ([`ratelimit`]). The lawful-access
//! issue adds organisations, work IDs, requests, grants, Cedar policies and the access
//! register here.

pub mod password;
pub mod ratelimit;
pub mod token;

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

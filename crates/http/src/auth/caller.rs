//! Who made a request, as a handler takes it: the principal the authentication layer
//! checked, or anonymous. Never refuses (the layer already did what the realm requires).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::identities::Principal;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller(pub Option<Principal>);

impl Caller {
    /// The principal's name; `None`: anonymous.
    pub fn name(&self) -> Option<&str> {
        self.0.as_ref().map(|Principal(name)| name.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller(parts.extensions.get::<Principal>().cloned()))
    }
}

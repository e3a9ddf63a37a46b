//! Why the core refused a call. Variants say what kind of refusal it is; the HTTP layer
//! (`http_error.rs`) alone decides the status code each one answers with.

/// A refused call; the message is what the client reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The call is malformed, or names something this master does not have.
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this (an agent marked gone, a framework not subscribed, a
    /// registration a hook refused).
    #[error("{0}")]
    Forbidden(String),
    /// What the operator names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The call contradicts the current state (an agent not connected, resources in use).
    #[error("{0}")]
    Conflict(String),
}

impl CoreError {
    pub fn invalid(message: impl Into<String>) -> Self {
        CoreError::Invalid(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        CoreError::Forbidden(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        CoreError::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        CoreError::Conflict(message.into())
    }
}

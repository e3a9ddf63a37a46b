//! Why the API refused a change, each kind answered with its own status (see
//! `http::respond::op_error`).

use crate::validation::Violations;

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Invalid(Violations),
    #[error("{0}")]
    NotFound(String),
    /// The ids of the deployments that lock the app.
    #[error("App is locked by one or more deployments.")]
    Locked(Vec<String>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the services store failed: {0}")]
    Store(String),
}

impl From<corral_state::StateError> for OpError {
    fn from(e: corral_state::StateError) -> Self {
        OpError::Store(e.to_string())
    }
}

pub fn unknown_app(id: &str) -> OpError {
    OpError::NotFound(format!("App '{id}' does not exist"))
}

pub fn unknown_task(id: &str) -> OpError {
    OpError::NotFound(format!("Task '{id}' does not exist"))
}

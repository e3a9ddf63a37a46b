//! Locking a std mutex: a panic elsewhere while it was held does not stop the agent. The
//! agent's locks guard in-memory state only and are never held across an await.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

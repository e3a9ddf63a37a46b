//! What the services component knows of each task it launched: a record stored per task
//! (so a restarted services process knows its tasks before the master answers), and the
//! task as Marathon's API shows it.

pub mod json;
pub mod record;

pub use record::TaskRecord;

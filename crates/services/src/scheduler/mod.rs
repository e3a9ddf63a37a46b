//! The scheduler: pure decisions (`plan`: what each app needs; `place`: which offers launch
//! which tasks) and the driver that carries them out against the master.

pub mod backoff;
pub mod constraints;
pub mod driver;
pub mod offer_json;
pub mod offer_stats;
pub mod place;
pub mod plan;
pub mod reconciliation;
pub mod resources;
pub mod task_info;

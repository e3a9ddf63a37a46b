//! The `corral` command line.

pub mod client_error;
pub mod master_address;
pub mod scheduler_client;
pub mod signals;

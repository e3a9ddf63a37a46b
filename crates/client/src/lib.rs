//! Clients of a Corral master, as any user could write them: the v1 scheduler API (a
//! framework's subscription, calls and event stream), the v1 operator API, and finding the
//! master to talk to (one address, an HA list, or the masters' etcd election).

pub mod client_error;
pub mod client_tls;
pub mod master_address;
pub mod operator_client;
pub mod operator_subscription;
mod record_stream;
pub mod scheduler_client;

pub use client_error::ClientError;
pub use client_tls::ClientTls;
/// What `--master etcd://` is read over (`--etcd-ca`, ...), for the crates above.
pub use corral_state::EtcdTls;
pub use master_address::MasterAddress;
pub use operator_subscription::OperatorEventStream;

//! The descriptor pool compiled by build.rs from proto/.

use std::sync::OnceLock;

use prost_reflect::DescriptorPool;

static ENCODED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mesos_v1.bin"));

/// Every message of Corral's Mesos .proto files.
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| match DescriptorPool::decode(ENCODED) {
        Ok(pool) => pool,
        // build.rs wrote these bytes from the same prost version: they always decode.
        Err(error) => panic!("the built-in Mesos descriptors do not decode: {error}"),
    })
}

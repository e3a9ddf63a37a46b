//! What the master and the services component persist, loaded back the way a restarted
//! process loads it: the writes applied to a real (in-memory) `StateStore`, then the
//! component's own loader. An entry the loader skips or refuses is a value that was written
//! but does not parse back.

use std::sync::Arc;

#[cfg(feature = "master")]
use corral_master::registry::{self, Recovered};
use corral_services::store::{Batch, Loaded, ServiceStore};
use corral_state::{MemoryStore, StateStore, WriteOp};

/// A store holding `writes`, applied in order.
pub fn store_with(writes: &[WriteOp]) -> MemoryStore {
    let store = MemoryStore::new();
    // The memory store's futures are ready at once: no runtime is needed.
    if let Err(error) = futures::executor::block_on(store.apply(writes.to_vec())) {
        panic!("the memory store refused a write: {error}");
    }
    store
}

/// The master's registry after `writes`, as `corral_master::registry::load` reads it; panics
/// naming the entries it skipped.
#[cfg(feature = "master")]
pub fn load_master(writes: &[WriteOp]) -> Recovered {
    let store = store_with(writes);
    let recovered = match futures::executor::block_on(registry::load(&store)) {
        Ok(recovered) => recovered,
        Err(error) => panic!("the master's registry does not load: {error}"),
    };
    assert!(
        recovered.skipped.is_empty(),
        "registry entries written by the master do not parse back: {:?}",
        recovered.skipped
    );
    recovered
}

/// The services' state after `batch`, as `ServiceStore::load` reads it (which refuses the
/// whole state if one record does not parse).
pub fn load_services(batch: Batch) -> Loaded {
    let store = ServiceStore::new(Arc::new(MemoryStore::new()));
    if let Err(error) = futures::executor::block_on(store.apply(batch)) {
        panic!("the memory store refused a write: {error}");
    }
    match futures::executor::block_on(store.load()) {
        Ok(loaded) => loaded,
        Err(error) => panic!("the services' state does not load: {error}"),
    }
}

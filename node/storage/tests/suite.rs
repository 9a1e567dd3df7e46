//! The shared conformance suite, run against every store of this crate.

mod common;

use chancery_storage::{store_suite, FaultyStore, MemStore};
use common::small_limits;
use std::sync::Arc;

store_suite!(mem, || MemStore::with_limits(small_limits()), raw);
#[cfg(feature = "rocksdb")]
store_suite!(rocks, || common::TempRocks::new(small_limits()), raw);
// A shared store forwards every call to the store it shares.
store_suite!(arc_mem, || Arc::new(MemStore::with_limits(small_limits())));
// A wrapper with no faults planned must be indistinguishable from its inner store.
store_suite!(faulty_mem_no_faults, || FaultyStore::new(
    MemStore::with_limits(small_limits())
));

#[test]
fn run_all_entry_point_on_mem() {
    // The entry point other crates use.
    chancery_storage::suite::run_all(|| MemStore::with_limits(small_limits()));
    chancery_storage::suite::run_raw(MemStore::new);
}

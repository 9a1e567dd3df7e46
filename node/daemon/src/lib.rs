//! The Chancery node as a library: the consensus host (`driver`), the application over
//! the ledger and mempool (`app`), catch-up and state sync, the indexer task, and the
//! pieces `chancery-node` (the binary, `main.rs`) wires together. A library so that the
//! simulator (`tests/sim`) runs the production host, not a second one (issue 20).

#![forbid(unsafe_code)]

// Public: what the binary and the simulator wire together. Private: the driver's own
// helpers (the signature cache, the catch-up protocol, the verify threads).

pub mod admin;
pub mod app;
pub mod compact;
pub mod driver;
pub mod indexer;
pub mod join;
pub mod runtime;
mod sigcache;
pub mod signmark;
pub mod startup;
pub mod statesync;
// Public only for the fuzz target of the sync protocol (`fuzz/fuzz_targets/sync.rs`):
// the requests and answers peers send, and the function that answers them.
#[doc(hidden)]
pub mod sync;
mod verifypool;

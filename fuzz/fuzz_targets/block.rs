//! Blocks from peers (proposals' payloads, catch-up): canonical decode and round trip, the
//! header hash and the transactions' hash.
#![no_main]

use chancery_core::block::{txs_hash, Block};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(block) = chancery_fuzz::canonical::<Block>(data) else {
        return;
    };
    let suite = chancery_core::suite::Suite::default();
    let _ = block.header.hash(suite);
    let _ = block.header.is_boundary();
    let _ = txs_hash(suite, block.txs.iter().map(|t| t.hash()));
});

//! Log entries (the `entry` of a receipt, the log's leaves): canonical decode and round trip.
#![no_main]

use chancery_core::block::LogEntry;
use chancery_core::merkle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(entry) = chancery_fuzz::canonical::<LogEntry>(data) else {
        return;
    };
    let _ = merkle::leaf_hash(chancery_core::suite::Suite::default(), data);
    let _ = entry.tx.hash();
});

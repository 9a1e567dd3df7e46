//! Receipts as `chancery verify` reads them: JSON (v1 and v2 with epoch links), bounded by
//! `RECEIPT_BYTES_MAX`, then the kernel's verification against the fixture genesis.
#![no_main]

use chancery_core::limits::RECEIPT_BYTES_MAX;
use chancery_core::receipt::{self, Receipt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > RECEIPT_BYTES_MAX {
        return;
    }
    let Ok(r) = serde_json::from_slice::<Receipt>(data) else {
        return;
    };
    chancery_fuzz::json_round_trip(&r);
    if let Ok(summary) = receipt::verify(&r, chancery_fuzz::genesis()) {
        assert_eq!(summary.index, r.index);
        assert!(summary.index < summary.checkpoint_size);
        assert!(summary.height <= summary.checkpoint_height);
        assert_eq!(
            summary.checkpoint_epoch.0,
            r.epochs.as_ref().map_or(0, |e| e.len() as u64)
        );
    }
});

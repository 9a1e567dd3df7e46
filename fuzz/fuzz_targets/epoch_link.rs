//! Epoch links (`GET /v1/epochs`, v2 receipts, bundles): canonical decode and round trip,
//! the JSON form round trip, the suffix rule, and verification as the first link of the
//! fixture genesis chain.
#![no_main]

use chancery_core::epoch::{check_suffix, verify_epoch_chain, EpochLink};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(link) = chancery_fuzz::canonical::<EpochLink>(data) else {
        return;
    };
    chancery_fuzz::json_round_trip(&link);
    let _ = check_suffix(
        chancery_core::suite::Suite::default(),
        &link.header,
        &link.suffix,
    );
    let g = chancery_fuzz::genesis();
    if let Ok(set) = verify_epoch_chain(g, std::slice::from_ref(&link)) {
        assert_eq!(set.set(), &link.next, "the proven set is not the link's");
    }
});

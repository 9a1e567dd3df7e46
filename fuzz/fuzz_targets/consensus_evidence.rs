//! Evidence of equivocation (`/v1/evidence`, gossip, stored records): canonical decode and
//! round trip, then verification against the fixture genesis set.
#![no_main]

use chancery_consensus::wire::Evidence;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(e) = chancery_fuzz::canonical::<Evidence>(data) else {
        return;
    };
    let _ = (e.id(), e.culprit(), e.epoch(), e.view(), e.encoded_parts());
    let g = chancery_fuzz::genesis();
    if let Ok(culprit) = e.verify(g.chain_id(), &g.validators) {
        assert_eq!(culprit, e.culprit());
    }
});

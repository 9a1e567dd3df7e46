//! Block headers (epoch-link suffixes, checkpoints, catch-up): canonical decode and round
//! trip, the hash, and the suffix rule with the header as its own one-header suffix.
#![no_main]

use chancery_core::block::BlockHeader;
use chancery_core::epoch::check_suffix;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(header) = chancery_fuzz::canonical::<BlockHeader>(data) else {
        return;
    };
    for suite in chancery_core::suite::Suite::ALL {
        let _ = header.hash(suite);
    }
    let _ = header.is_boundary();
    let _ = check_suffix(chancery_core::suite::Suite::default(), &header, &[]);
    let _ = check_suffix(
        chancery_core::suite::Suite::default(),
        &header,
        std::slice::from_ref(&header),
    );
});

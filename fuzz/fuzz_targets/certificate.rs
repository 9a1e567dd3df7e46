//! Quorum certificates (consensus, checkpoints, epoch links): canonical decode and round
//! trip, then verification against the fixture genesis set (every kind).
#![no_main]

use chancery_core::cert::{Certificate, VoteKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(cert) = chancery_fuzz::canonical::<Certificate>(data) else {
        return;
    };
    let g = chancery_fuzz::genesis();
    let chain = g.chain_id();
    let _ = cert.verify(chain, &g.validators);
    for kind in [VoteKind::Notarize, VoteKind::Nullify, VoteKind::Finalize] {
        if kind != cert.kind {
            assert!(
                cert.verify_kind(kind, chain, &g.validators).is_err(),
                "a {:?} certificate verified as {kind:?}",
                cert.kind
            );
        }
    }
});

//! Consensus wire messages from peers (`chancery_consensus::wire::Message::decode`: votes,
//! certificates, proposals, block answers, evidence): canonical decode and round trip,
//! then the signature items the node pre-checks, verified one by one and as a batch
//! (the two must agree: docs/consensus.md, "Signature acceptance rule").
#![no_main]

use chancery_consensus::verify::signature_items;
use chancery_consensus::wire::Message;
use chancery_core::crypto::{verify_batch, verify_item};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let g = chancery_fuzz::genesis();
    let Ok(m) = Message::decode(g.crypto, data) else {
        return;
    };
    assert_eq!(m.encode(), data, "re-encoding changed accepted bytes");
    assert_eq!(Message::decode(g.crypto, &m.encode()), Ok(m.clone()));
    let items = signature_items(&m, g.chain_id(), &g.validators);
    let batch: Vec<_> = items.iter().map(|i| i.batch_item()).collect();
    let each = batch.iter().all(|i| verify_item(i).is_ok());
    assert_eq!(
        verify_batch(&batch).is_ok(),
        each,
        "batch and single verification disagree"
    );
    if let Message::Evidence(e) = &m {
        let _ = e.verify(g.chain_id(), &g.validators);
        let _ = e.id();
    }
});

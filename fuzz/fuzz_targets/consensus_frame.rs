//! The consensus channel's frames (`node/daemon/src/compact.rs`): a tag byte, then a whole
//! consensus message or a proposal by transaction hash (a compact proposal). Differential:
//! an accepted compact proposal re-encodes to exactly its bytes; `missing` names each
//! transaction absent from a lookup once, in block order; `rebuild` over the transactions
//! of the fixture chain fails on the first of them, or gives a proposal message whose
//! block digest is the compact proposal's and which, when the message decoder accepts its
//! bytes, decodes back to itself.
#![no_main]

use chancery_consensus::wire::Message;
use chancery_core::ids::{Height, TxHash};
use chancery_core::tx::Transaction;
use chancery_node::compact::{self, Inbound};
use libfuzzer_sys::fuzz_target;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Every transaction of the fixture chain, by hash.
fn known() -> &'static HashMap<TxHash, Transaction> {
    static KNOWN: OnceLock<HashMap<TxHash, Transaction>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let chain = chancery_fuzz::ledger::chain();
        let tip = chain.ledger.tip().height.0;
        let mut out = HashMap::new();
        for h in 1..=tip {
            if let Ok(Some((block, _))) = chain.ledger.block(Height(h)) {
                for tx in block.txs {
                    out.insert(tx.hash(), tx);
                }
            }
        }
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let suite = chancery_core::suite::Suite::default();
    match compact::decode(suite, data) {
        Ok(Inbound::Message(bytes)) => {
            assert_eq!(
                &data[1..],
                &bytes[..],
                "a message frame is its tag and the message"
            );
            let _ = Message::decode(suite, &bytes);
        }
        Ok(Inbound::Compact(c)) => {
            assert_eq!(
                compact::encode_compact(&c),
                data,
                "re-encoding changed an accepted compact proposal"
            );
            let table = known();
            let missing = c.missing(|h| table.contains_key(h));
            let unique: HashSet<&TxHash> = missing.iter().collect();
            assert_eq!(unique.len(), missing.len(), "a missing hash named twice");
            assert!(missing
                .iter()
                .all(|h| !table.contains_key(h) && c.txs.contains(h)));
            match c.rebuild(suite, |h| table.get(h).cloned()) {
                Ok(m) => {
                    assert!(missing.is_empty(), "rebuilt though {missing:?} are missing");
                    let Message::Proposal(p) = &m else {
                        panic!("a compact proposal rebuilt into another kind of message");
                    };
                    assert_eq!(p.proposal.block.digest, c.digest(suite));
                    if let Ok(back) = Message::decode(suite, &m.encode()) {
                        assert_eq!(back, m, "a rebuilt proposal does not decode to itself");
                    }
                }
                Err(first) => assert_eq!(Some(&first), missing.first()),
            }
        }
        Err(_) => {}
    }
});

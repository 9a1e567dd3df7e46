//! Transactions from clients and peers: `Transaction::from_bytes` in each crypto suite,
//! then signature verification (against the fixture chain and against the chain the bytes
//! name).
#![no_main]

use chancery_core::suite::Suite;
use chancery_core::tx::Transaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for suite in Suite::ALL {
        let Ok(tx) = Transaction::from_bytes(suite, data) else {
            continue;
        };
        assert_eq!(tx.body.signer.suite(), suite, "a key of another suite decoded");
        assert_eq!(tx.to_bytes(), data, "re-encoding changed accepted bytes");
        assert_eq!(Transaction::from_bytes(suite, &tx.to_bytes()), Ok(tx.clone()));
        let hash = tx.hash();
        let fixture_chain = chancery_fuzz::genesis().chain_id();
        let _ = tx.clone().verify(&fixture_chain);
        let own_chain = tx.body.chain_id;
        if let Ok(v) = tx.clone().verify(&own_chain) {
            assert_eq!(v.hash(), hash);
            assert_eq!(v.bytes(), data);
        }
    }
});

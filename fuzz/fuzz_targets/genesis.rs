//! The genesis document in canonical bytes (what the chain id hashes): decode and round
//! trip, and its JSON file form (`chancery_genesis::document`) reads back the same.
#![no_main]

use chancery_core::genesis::Genesis;
use chancery_genesis::document::{parse_genesis, to_json};
use chancery_genesis::Rules;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some(g) = chancery_fuzz::canonical::<Genesis>(data) else {
        return;
    };
    let _ = g.chain_id();
    let json = to_json(&g);
    match serde_json::from_str::<Genesis>(&json) {
        Ok(back) => assert_eq!(back, g, "JSON round trip changed the genesis"),
        Err(e) => panic!("genesis JSON we wrote does not parse: {e}"),
    }
    // The consortium rules may refuse a canonical document, but never panic on one.
    let _ = parse_genesis(&json, Path::new("genesis.json"), Rules::DEV);
});

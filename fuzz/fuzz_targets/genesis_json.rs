//! `genesis.json` as every node and auditor loads it: `chancery_genesis::document::
//! parse_genesis` (JSON, kernel rules, consortium rules). An accepted document has a valid
//! canonical encoding and writes back to JSON that parses to the same document.
#![no_main]

use chancery_core::codec;
use chancery_core::genesis::Genesis;
use chancery_genesis::document::{parse_genesis, to_json, GENESIS_JSON_BYTES_MAX};
use chancery_genesis::Rules;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if data.len() as u64 > GENESIS_JSON_BYTES_MAX {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("genesis.json");
    let Ok(g) = parse_genesis(text, file, Rules::DEV) else {
        return;
    };
    match codec::decode::<Genesis>(&codec::encode(&g)) {
        Ok(back) => assert_eq!(back, g),
        Err(e) => panic!("an accepted genesis has no valid canonical form: {e}"),
    }
    match parse_genesis(&to_json(&g), file, Rules::DEV) {
        Ok(back) => assert_eq!(back, g, "JSON round trip changed the genesis"),
        Err(e) => panic!("genesis JSON we wrote is refused: {e}"),
    }
});

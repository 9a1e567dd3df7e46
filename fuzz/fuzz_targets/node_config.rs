//! `node.toml` (`chancery_genesis::config::NodeConfig::parse`): an accepted config writes
//! back to TOML that parses to the same config.
#![no_main]

use chancery_genesis::config::{NodeConfig, NODE_CONFIG_BYTES_MAX};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if data.len() as u64 > NODE_CONFIG_BYTES_MAX {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("node.toml");
    let Ok(c) = NodeConfig::parse(text, file) else {
        return;
    };
    let again = c.to_toml();
    match NodeConfig::parse(&again, file) {
        Ok(back) => assert_eq!(back, c, "TOML round trip changed the config:\n{again}"),
        Err(e) => panic!("TOML we wrote is refused: {e}\n{again}"),
    }
});

//! The consortium description (`chancery-genesis build`): TOML parsing, then the build into
//! a genesis document (key fields inline as hex; key file paths resolve under a folder that
//! does not exist). A built genesis passes the kernel's rules.
#![no_main]

use chancery_core::codec;
use chancery_core::genesis::Genesis;
use chancery_genesis::{ConsortiumSpec, Rules};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if data.len() > 1024 * 1024 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("consortium.toml");
    let Ok(spec) = ConsortiumSpec::parse(text, file) else {
        return;
    };
    let Ok(g) = spec.to_genesis(file, Path::new("fuzz-no-such-folder"), Rules::DEV) else {
        return;
    };
    match codec::decode::<Genesis>(&codec::encode(&g)) {
        Ok(back) => assert_eq!(back, g),
        Err(e) => panic!("a built genesis has no valid canonical form: {e}"),
    }
});

//! Checkpoints in the C2SP signed-note text form (`chancery verify`, `watch`): strict
//! parsing against the fixture chain and set; accepted text prints back byte for byte.
//! Also the note helpers: every signature line parser and strict base64.
#![no_main]

use chancery_core::checkpoint::{base64_decode, base64_encode, parse_signature_line, Checkpoint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines().take(64) {
        let _ = parse_signature_line(line);
        if let Ok(bytes) = base64_decode(line) {
            assert_eq!(
                base64_encode(&bytes),
                line,
                "strict base64 has one spelling"
            );
        }
    }
    let g = chancery_fuzz::genesis();
    let Ok(cp) = Checkpoint::from_text(text, &g.chain_id(), &g.validators) else {
        return;
    };
    match cp.to_text(&g.validators) {
        Ok(back) => assert_eq!(back, text, "accepted text does not print back"),
        Err(e) => panic!("a parsed checkpoint does not print: {e}"),
    }
    let _ = cp.verify(g);
});

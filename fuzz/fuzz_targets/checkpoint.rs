//! Checkpoints (binary): canonical decode and round trip, verification against the fixture
//! genesis, and the text form: a checkpoint whose certificate is the header's finalization
//! prints to text that parses back to the same checkpoint.
#![no_main]

use chancery_core::cert::VoteKind;
use chancery_core::checkpoint::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(cp) = chancery_fuzz::canonical::<Checkpoint>(data) else {
        return;
    };
    let g = chancery_fuzz::genesis();
    let _ = cp.verify(g);
    let Ok(text) = cp.to_text(&g.validators) else {
        return;
    };
    let c = &cp.certificate;
    let h = &cp.header;
    let text_form = c.kind == VoteKind::Finalize
        && c.block == h.hash(g.crypto)
        && c.epoch == h.epoch
        && c.view == h.view;
    match Checkpoint::from_text(&text, &h.chain_id, &g.validators) {
        Ok(back) if text_form => assert_eq!(back, cp, "text round trip changed it:\n{text}"),
        Ok(_) => {}
        Err(e) if text_form => panic!("text of an accepted checkpoint refused: {e}\n{text}"),
        Err(_) => {}
    }
});

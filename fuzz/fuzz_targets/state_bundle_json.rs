//! State-proof bundles as `chancery verify` reads them (JSON: `proof` as the kernel's JSON
//! form or canonical hex, optional `proof_hex`, `checkpoint` hex, optional `epochs`). The
//! bundle glue lives in the `chancery` binary (not importable), so this target repeats its
//! few steps over the same kernel calls: decode, verify the checkpoint with its epoch
//! links from the fixture genesis, verify the proof against the checkpoint's state root.
#![no_main]

use chancery_core::checkpoint::Checkpoint;
use chancery_core::codec;
use chancery_core::epoch::verify_checkpoint_with_links;
use chancery_core::limits::RECEIPT_BYTES_MAX;
use chancery_core::receipt::decode_epoch_links;
use chancery_core::state::{verify_state_proof, StateProof};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn lower_hex(s: &str) -> Option<Vec<u8>> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    hex::decode(s).ok()
}

fn proof_of(v: &Value) -> Option<StateProof> {
    match v {
        Value::String(s) => codec::decode(&lower_hex(s)?).ok(),
        other => {
            let p: StateProof = serde_json::from_value(other.clone()).ok()?;
            // The JSON form passes the same rules as bytes from outside.
            let checked: StateProof = codec::decode(&codec::encode(&p)).ok()?;
            assert_eq!(checked, p);
            Some(p)
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > RECEIPT_BYTES_MAX {
        return;
    }
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(proof) = v
        .get("state_proof")
        .or_else(|| v.get("proof"))
        .and_then(proof_of)
    else {
        return;
    };
    if let Some(h) = v.get("proof_hex") {
        if proof_of(h).as_ref() != Some(&proof) {
            return;
        }
    }
    let Some(cp_bytes) = v
        .get("checkpoint")
        .and_then(Value::as_str)
        .and_then(lower_hex)
    else {
        return;
    };
    let Ok(cp) = codec::decode::<Checkpoint>(&cp_bytes) else {
        return;
    };
    let links = match v.get("epochs") {
        None => Vec::new(),
        Some(e) => {
            let Ok(list) = serde_json::from_value::<Vec<String>>(e.clone()) else {
                return;
            };
            let Ok(links) = decode_epoch_links(chancery_fuzz::genesis().crypto, &list) else {
                return;
            };
            links
        }
    };
    let Ok(verified) = verify_checkpoint_with_links(chancery_fuzz::genesis(), &links, &cp) else {
        return;
    };
    assert_eq!(verified.checkpoint(), &cp);
    if let Ok(value) = verify_state_proof(
        chancery_core::suite::Suite::default(),
        &verified.header().state_root,
        &proof,
    ) {
        assert_eq!(value, proof.value);
    }
});

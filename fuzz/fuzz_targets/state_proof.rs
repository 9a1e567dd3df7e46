//! State proofs (binary, as in a bundle's `proof_hex`): canonical decode and round trip,
//! the JSON form round trip, and the verifier: a proof refused only for its root
//! verifies against the root it leads to, and proves exactly its own value.
#![no_main]

use chancery_core::ids::Digest;
use chancery_core::state::{verify_state_proof, StateProof, StateProofError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(proof) = chancery_fuzz::canonical::<StateProof>(data) else {
        return;
    };
    chancery_fuzz::json_round_trip(&proof);
    let _ = proof.key.hash(chancery_core::suite::Suite::default());
    match verify_state_proof(
        chancery_core::suite::Suite::default(),
        &Digest::ZERO,
        &proof,
    ) {
        Err(StateProofError::RootMismatch { found, .. }) => {
            match verify_state_proof(chancery_core::suite::Suite::default(), &found, &proof) {
                Ok(value) => assert_eq!(value, proof.value, "proved another value"),
                Err(e) => panic!("refused at the root it leads to ({found}): {e}"),
            }
        }
        Ok(value) => assert_eq!(value, proof.value, "proved another value"),
        Err(_) => {}
    }
});

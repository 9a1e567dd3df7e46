//! Locating bad signatures costs O(n log n) batch items, not O(n²) (issue 14 finding 5,
//! consensus part: `verify::bad_items`).

use chancery_consensus::verify::{bad_items, KernelVerifier, Verifier};
use chancery_core::crypto::{BatchItem, SecretKey, SignatureError};
use chancery_core::domain::VOTE_SIGN;
use chancery_core::ids::Signature;

/// Counts the items handed to the kernel (a failed batch twice: check, then locate).
struct Counting(u64);

impl Verifier for Counting {
    fn verify_batch(&mut self, items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
        let r = KernelVerifier.verify_batch(items);
        self.0 += items.len() as u64 * if r.is_ok() { 1 } else { 2 };
        r
    }
}

#[test]
fn every_bad_item_is_found_with_n_log_n_work() {
    let key = SecretKey::from_seed([1; 32]);
    let n = 64usize;
    let messages: Vec<Vec<u8>> = (0..n)
        .map(|i| VOTE_SIGN.signing_bytes(&[i as u8]))
        .collect();
    for bad_every in [1usize, 2, 7, 64] {
        let items: Vec<BatchItem<'_>> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| BatchItem {
                key: key.public(),
                message: m,
                signature: if i % bad_every == 0 {
                    Signature([i as u8; 64])
                } else {
                    key.sign(VOTE_SIGN, &[i as u8])
                },
            })
            .collect();
        let mut v = Counting(0);
        let bad = bad_items(&mut v, &items);
        let expected: Vec<usize> = (0..n).filter(|i| i % bad_every == 0).collect();
        assert_eq!(bad, expected, "bad every {bad_every}");
        // 2·n·(log2 n + 1) = 896 for n = 64; re-verifying the rest after each bad item
        // costs about n² = 4,160 when all are bad.
        assert!(v.0 <= 896, "bad every {bad_every}: {} items verified", v.0);
    }
}

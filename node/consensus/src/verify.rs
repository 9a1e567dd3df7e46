//! Signature checking behind a small trait, so a host may add a cache (the simulator
//! shares one between its cores); the default calls the kernel. [`signature_items`] lists
//! the signatures a message carries, for a host that verifies them ahead of the core.

use crate::wire::{leader_of, Evidence, Message, Proposal, Vote};
use chancery_core::cert::{CertError, Certificate};
use chancery_core::codec::Canonical;
use chancery_core::crypto::{self, BatchItem, SignatureError};
use chancery_core::ids::{ChainId, PublicKey, Signature};
use chancery_core::validator::ValidatorSet;

/// Batch signature verification under the kernel's one acceptance rule
/// (docs/consensus.md, "Signature acceptance rule"; ZIP-215, so an item's verdict never
/// depends on the rest of its batch). `verify_batch` must name the first bad item on
/// failure, as [`crypto::verify_batch`] does: every item before the named index is then
/// known to be good.
pub trait Verifier: Send {
    /// Verify all items (messages already carry their domain tag).
    fn verify_batch(&mut self, items: &[BatchItem<'_>]) -> Result<(), SignatureError>;

    /// The indices of every bad item, in increasing order (empty when all are good).
    ///
    /// Provided: one [`Verifier::verify_batch`] call (the host's cache serves the common
    /// all-good case) and, if it fails, the kernel's linear-time search
    /// [`crypto::bad_items`] (at most about 3n batch terms plus n single checks, however
    /// many items are bad), so a flood of bad signatures costs linear work, not n^2.
    fn bad_items(&mut self, items: &[BatchItem<'_>]) -> Vec<usize> {
        match self.verify_batch(items) {
            Ok(()) => Vec::new(),
            Err(_) => crypto::bad_items(items, &mut crypto::KeyCache::new(0)),
        }
    }
}

/// The kernel's batch verification, with no cache.
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelVerifier;

impl Verifier for KernelVerifier {
    fn verify_batch(&mut self, items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
        crypto::verify_batch(items)
    }
}

/// Verify `items`, returning the indices of the bad ones (empty when all are good), through
/// [`Verifier::bad_items`]: linear work whatever the number of bad items.
pub fn bad_items(verifier: &mut dyn Verifier, items: &[BatchItem<'_>]) -> Vec<usize> {
    verifier.bad_items(items)
}

/// [`Certificate::verify`] through a [`Verifier`]: format, epoch, known signers, quorum of
/// power, every signature.
pub fn verify_certificate(
    cert: &Certificate,
    chain_id: ChainId,
    set: &ValidatorSet,
    verifier: &mut dyn Verifier,
) -> Result<(), CertError> {
    cert.validate()?;
    if cert.epoch != set.epoch {
        return Err(CertError::WrongEpoch {
            expected: set.epoch,
            found: cert.epoch,
        });
    }
    let mut power: u64 = 0;
    let mut items = Vec::with_capacity(cert.signatures.len());
    let msg = cert.body(chain_id).signed_message();
    for s in &cert.signatures {
        let v = set.get(s.index).ok_or(CertError::UnknownSigner {
            index: s.index,
            len: set.len(),
        })?;
        power = power.saturating_add(v.power);
        items.push(BatchItem {
            key: v.consensus_key,
            message: &msg,
            signature: s.signature,
        });
    }
    if power < set.quorum_power() {
        return Err(CertError::NoQuorum {
            expected: set.quorum_power(),
            found: power,
        });
    }
    match verifier.verify_batch(&items) {
        Ok(()) => Ok(()),
        Err(e) => {
            let index = match e {
                SignatureError::BatchItem { index, .. } => cert
                    .signatures
                    .get(index)
                    .map(|s| s.index)
                    .unwrap_or(u16::MAX),
                _ => u16::MAX,
            };
            Err(CertError::BadSignature {
                index,
                name: set.get(index).map(|v| v.name.clone()).unwrap_or_default(),
            })
        }
    }
}

/// One signature a consensus message carries, owned (so that it can be checked on another
/// thread): the claimed signer's key, the exact signed bytes (domain tag included) and the
/// signature. [`SignedItem::batch_item`] gives the item the core hands its [`Verifier`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedItem {
    /// The claimed signer's consensus key (from the validator set).
    pub key: PublicKey,
    /// The signed bytes, tag included.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

impl SignedItem {
    /// This item as the kernel's batch item.
    pub fn batch_item(&self) -> BatchItem<'_> {
        BatchItem {
            key: self.key,
            message: &self.message,
            signature: self.signature,
        }
    }
}

/// The signatures the core may check when it receives `message` (unverified: nothing here
/// checks a signature), each with the key and signed bytes the core checks it under, so
/// that a host can verify them ahead of the core, for instance on other threads, and serve
/// the core's [`Verifier`] from a cache.
///
/// Listed: a vote's signature; every signature of a certificate; a proposal's signature,
/// its parent certificate's and its nullifications' signatures; a fetched block's
/// proposal signature; both signatures of evidence. Left out, because the core refuses
/// such a message (or part) before checking any signature: anything of an epoch other than
/// `set`'s, signers outside `set`, and proposals (or proposal evidence) not signed by the
/// leader of their view. The core may still skip some listed items (stale views,
/// duplicates, certificates it holds); listing never changes what the core accepts.
pub fn signature_items(
    message: &Message,
    chain_id: ChainId,
    set: &ValidatorSet,
) -> Vec<SignedItem> {
    let mut out = Vec::new();
    match message {
        Message::Vote(v) => vote_item(v, chain_id, set, &mut out),
        Message::Certificate(c) => certificate_items(c, chain_id, set, &mut out),
        Message::Proposal(m) => {
            proposal_item(&m.proposal, chain_id, set, &mut out);
            if m.proposal.epoch == set.epoch {
                for c in m.parent_cert.iter().chain(&m.nullifications) {
                    certificate_items(c, chain_id, set, &mut out);
                }
            }
        }
        Message::Block(p) => proposal_item(p, chain_id, set, &mut out),
        Message::Evidence(Evidence::Votes { first, second }) => {
            // The core checks both votes under the culprit's (the first signer's) key.
            if first.epoch == set.epoch {
                if let Some(v) = set.get(first.signer) {
                    for w in [first, second] {
                        out.push(SignedItem {
                            key: v.consensus_key,
                            message: w.body(chain_id).signed_message(),
                            signature: w.signature,
                        });
                    }
                }
            }
        }
        Message::Evidence(Evidence::Proposals { first, second }) => {
            for p in [first, second] {
                proposal_item(p, chain_id, set, &mut out);
            }
        }
        Message::BlockRequest { .. } => {}
    }
    out
}

fn vote_item(v: &Vote, chain_id: ChainId, set: &ValidatorSet, out: &mut Vec<SignedItem>) {
    if v.epoch != set.epoch {
        return;
    }
    if let Some(val) = set.get(v.signer) {
        out.push(SignedItem {
            key: val.consensus_key,
            message: v.body(chain_id).signed_message(),
            signature: v.signature,
        });
    }
}

fn certificate_items(
    c: &Certificate,
    chain_id: ChainId,
    set: &ValidatorSet,
    out: &mut Vec<SignedItem>,
) {
    if c.epoch != set.epoch {
        return;
    }
    let message = c.body(chain_id).signed_message();
    for s in &c.signatures {
        if let Some(val) = set.get(s.index) {
            out.push(SignedItem {
                key: val.consensus_key,
                message: message.clone(),
                signature: s.signature,
            });
        }
    }
}

fn proposal_item(p: &Proposal, chain_id: ChainId, set: &ValidatorSet, out: &mut Vec<SignedItem>) {
    if p.epoch != set.epoch || p.proposer != leader_of(p.block.view, set.len()) {
        return;
    }
    if let Some(val) = set.get(p.proposer) {
        out.push(SignedItem {
            key: val.consensus_key,
            message: p.signed_message(chain_id),
            signature: p.signature,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_core::crypto::SecretKey;
    use chancery_core::domain;

    /// The kernel verifier, counting the items it is asked to check.
    #[derive(Default)]
    struct Counting {
        items: usize,
    }

    impl Verifier for Counting {
        fn verify_batch(&mut self, items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
            self.items += items.len();
            crypto::verify_batch(items)
        }
    }

    /// Finding 5 (issue 14): a flood of bad vote signatures costs linear work. The old
    /// retry loop asked the verifier for n, n-1, ... items (n^2/2 in all).
    #[test]
    fn bad_items_of_an_all_bad_flood_is_linear_and_complete() {
        let key = SecretKey::from_seed([11u8; 32]);
        let n = 256usize;
        let messages: Vec<Vec<u8>> = (0..n as u32)
            .map(|i| domain::VOTE_SIGN.signing_bytes(&i.to_le_bytes()))
            .collect();
        let mut items: Vec<BatchItem<'_>> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| BatchItem {
                key: key.public(),
                message: m,
                signature: key.sign(domain::VOTE_SIGN, &(i as u32).to_le_bytes()),
            })
            .collect();
        let mut verifier = Counting::default();
        assert!(bad_items(&mut verifier, &items).is_empty());
        assert_eq!(verifier.items, n, "all good: one batch");
        for it in &mut items {
            it.signature.0[50] ^= 0x02;
        }
        let mut verifier = Counting::default();
        assert_eq!(bad_items(&mut verifier, &items), (0..n).collect::<Vec<_>>());
        assert!(
            verifier.items <= 2 * n,
            "{} items sent to the verifier for {n} bad signatures",
            verifier.items
        );
    }
}

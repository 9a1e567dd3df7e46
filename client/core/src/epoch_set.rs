//! The validator set of one epoch, proven from the genesis with exactly the epoch links a
//! document carries: what verifies something signed by an epoch's validators that is not a
//! checkpoint, such as evidence of equivocation (two conflicting votes of one validator).
//!
//! A checkpoint of epoch `e` is verified with [`crate::epoch::verify_checkpoint_with_links`];
//! this is the same rule for the set alone: the links of epochs `0..e`, no more and no less
//! (one spelling per proof), checked from the genesis by [`verify_epoch_chain`].

use crate::epoch::{verify_epoch_chain, EpochChainError, EpochLink, VerifiedValidatorSet};
use crate::genesis::Genesis;
use crate::ids::Epoch;
use thiserror::Error;

/// Why the set of an epoch is not proven by the links given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EpochSetError {
    /// Not exactly the links of epochs `0..epoch`.
    #[error("the validator set of epoch {epoch} is proven by exactly {epoch} epoch links (one per epoch before it), found {found}")]
    LinkCount {
        /// The epoch whose set is wanted.
        epoch: Epoch,
        /// Links given.
        found: usize,
    },
    /// The links do not verify from the genesis (the error names the link).
    #[error("epoch chain: {0}")]
    Chain(#[from] EpochChainError),
}

/// Verify `links` from the genesis and return the set of `epoch`: `links` must be exactly
/// the links of epochs `0..epoch` (none for the genesis set). Costs one certificate
/// verification per link.
pub fn verify_set_of_epoch(
    genesis: &Genesis,
    links: &[EpochLink],
    epoch: Epoch,
) -> Result<VerifiedValidatorSet, EpochSetError> {
    if epoch.0 != links.len() as u64 {
        // Checked first, so that a missing or extra link is named as such.
        return Err(EpochSetError::LinkCount {
            epoch,
            found: links.len(),
        });
    }
    Ok(verify_epoch_chain(genesis, links)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis::ChainParams;
    use crate::ids::{Height, TimestampMs};
    use crate::validator::ValidatorSet;

    fn genesis() -> Genesis {
        Genesis {
            chain_name: "sets".into(),
            genesis_time: TimestampMs(1),
            agencies: vec![],
            members: vec![],
            validators: ValidatorSet {
                epoch: Epoch(0),
                start_height: Height(1),
                validators: vec![],
            },
            params: ChainParams::default(),
            crypto: Default::default(),
            procurement_limits: Default::default(),
        }
    }

    /// Epoch 0 needs no link and is the genesis set; any other count is refused before a
    /// link is looked at. (Links that verify, and tampered ones, are tested where a chain
    /// with real boundaries exists: `chancery verify`'s tests over the ledger's chain.)
    #[test]
    fn the_genesis_set_needs_no_link_and_a_later_epoch_needs_one_per_epoch() {
        let g = genesis();
        let set = verify_set_of_epoch(&g, &[], Epoch(0)).unwrap();
        assert_eq!(set.set(), &g.validators);
        assert_eq!(set.chain_id(), g.chain_id());
        let e = verify_set_of_epoch(&g, &[], Epoch(2)).unwrap_err();
        assert_eq!(
            e,
            EpochSetError::LinkCount {
                epoch: Epoch(2),
                found: 0
            }
        );
        assert!(e.to_string().contains("exactly 2 epoch links"), "{e}");
    }
}

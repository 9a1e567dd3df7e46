//! Epochs as the ledger knows them: which validator set governs a height or an epoch,
//! which block ends an epoch and with what next set, and the epoch chain an auditor
//! verifies from the genesis (`chancery_core::epoch`). See docs/governance.md.

use crate::{corrupt, Ledger, LedgerError};
use chancery_core::epoch::EpochLink;
use chancery_core::genesis::ChainParams;
use chancery_core::governance::GovernanceState;
use chancery_core::state::{StateKey, StateValue};
use chancery_core::validator::ValidatorSet;
use chancery_core::{Epoch, Height};
use chancery_storage::Column;

impl Ledger {
    fn governance_as_of(&self, height: Height) -> Result<GovernanceState, LedgerError> {
        match self.value_at(&StateKey::Governance, height)? {
            Some(StateValue::Governance(g)) => Ok(g),
            _ => Err(corrupt(
                Column::State,
                StateKey::Governance.hash(self.genesis.crypto).as_bytes(),
                format!("no governance state as of height {height}"),
            )),
        }
    }

    fn epoch_set_as_of(
        &self,
        epoch: Epoch,
        height: Height,
    ) -> Result<Option<ValidatorSet>, LedgerError> {
        Ok(match self.value_at(&StateKey::EpochSet(epoch), height)? {
            Some(StateValue::ValidatorSet(s)) => Some(s),
            _ => None,
        })
    }

    /// The validator set of `epoch` as the current state has it: the sets of past and
    /// current epochs, and the pending epoch's (which a later proposal passed before it
    /// starts may still change). `None` for an epoch not scheduled.
    pub fn validator_set_of_epoch(
        &self,
        epoch: Epoch,
    ) -> Result<Option<ValidatorSet>, LedgerError> {
        Ok(match self.state_value(&StateKey::EpochSet(epoch))? {
            Some(StateValue::ValidatorSet(s)) => Some(s),
            _ => None,
        })
    }

    /// The validator set that finalizes the block at `height`, for any height up to the
    /// next one to be applied (its set follows from the state after its parent).
    pub fn validator_set_at(&self, height: Height) -> Result<ValidatorSet, LedgerError> {
        let last = self.tip().height;
        if height > last.next() {
            return Err(LedgerError::NoSuchHeight {
                found: height,
                last: last.next(),
            });
        }
        if height == Height(0) {
            return Ok(self.genesis().validators.clone());
        }
        let parent = Height(height.0 - 1);
        let epoch = self.governance_as_of(parent)?.epoch_at(height);
        self.epoch_set_as_of(epoch, parent)?.ok_or_else(|| {
            corrupt(
                Column::State,
                StateKey::EpochSet(epoch)
                    .hash(self.genesis.crypto)
                    .as_bytes(),
                format!("no validator set of epoch {epoch} as of height {parent}"),
            )
        })
    }

    /// The chain parameters in force at `height`, for any height up to the next one to be
    /// applied (they follow from the state after its parent, like its validator set).
    pub fn params_at(&self, height: Height) -> Result<ChainParams, LedgerError> {
        let last = self.tip().height;
        if height > last.next() {
            return Err(LedgerError::NoSuchHeight {
                found: height,
                last: last.next(),
            });
        }
        if height == Height(0) {
            return Ok(self.genesis().params.clone());
        }
        Ok(self
            .governance_as_of(Height(height.0 - 1))?
            .params_at(height)
            .clone())
    }

    /// Does the applied block at `height` end its epoch? Then the next epoch's set (its
    /// hash is the header's `next_validator_set`).
    pub fn epoch_end(&self, height: Height) -> Result<Option<ValidatorSet>, LedgerError> {
        let last = self.tip().height;
        if height > last {
            return Err(LedgerError::NoSuchHeight {
                found: height,
                last,
            });
        }
        match self.governance_as_of(height)?.epoch_ending_at(height) {
            Some(e) => Ok(self.epoch_set_as_of(e, height)?),
            None => Ok(None),
        }
    }

    /// The epoch chain from the genesis up to `epoch`: one link per epoch ended
    /// ([`Ledger::epoch_link`]). `NoSuchHeight` if the boundary before `epoch` is not
    /// applied yet.
    pub fn epoch_links(&self, epoch: Epoch) -> Result<Vec<EpochLink>, LedgerError> {
        let mut links = Vec::new();
        for e in 0..epoch.0 {
            match self.epoch_link(Epoch(e))? {
                Some(l) => links.push(l),
                None => {
                    return Err(LedgerError::NoSuchHeight {
                        found: Height(u64::MAX),
                        last: self.tip().height,
                    })
                }
            }
        }
        Ok(links)
    }
}

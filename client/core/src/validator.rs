//! Validator sets: who votes in an epoch, with what power, and what a quorum is.

use crate::codec::{self, check, Canonical, ValidationError};
use crate::domain;
use crate::ids::{AgencyId, Digest, Epoch, Height, NetworkKey, PublicKey};
use crate::limits::{NAME_BYTES_MAX, VALIDATORS_MAX, VALIDATOR_SET_ENCODING_BYTES_MAX};
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// One validator.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Validator {
    /// Node name, e.g. `mof-1`.
    pub name: String,
    /// The agency that runs it.
    pub agency: AgencyId,
    /// Ed25519 key that signs consensus votes.
    pub consensus_key: PublicKey,
    /// Ed25519 key of its network (libp2p) identity.
    pub network_key: NetworkKey,
    /// Voting power, at least 1.
    pub power: u64,
}

/// The validators of one epoch, in a fixed order (their index is their id in certificates).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct ValidatorSet {
    /// The epoch this set governs.
    pub epoch: Epoch,
    /// First height at which it is in force.
    pub start_height: Height,
    /// The validators.
    pub validators: Vec<Validator>,
}

impl Canonical for ValidatorSet {
    const NAME: &'static str = "validator set";
    const BYTES_MAX: usize = VALIDATOR_SET_ENCODING_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        if self.validators.is_empty() {
            return Err(ValidationError::new(
                "validators",
                "at least one validator",
                "none",
            ));
        }
        check::list("validators", &self.validators, VALIDATORS_MAX)?;
        let mut total: u64 = 0;
        for (i, v) in self.validators.iter().enumerate() {
            let f = format!("validators[{i}]");
            check::nonempty(&format!("{f}.name"), &v.name, NAME_BYTES_MAX)?;
            // One suite per set: its hash is taken with its keys' suite ([`Self::suite`]).
            crate::genesis::key_of_suite(
                &format!("{f}.consensus_key"),
                &v.consensus_key,
                self.suite(),
            )?;
            v.agency.validate(&format!("{f}.agency"))?;
            if v.power == 0 {
                return Err(ValidationError::new(
                    format!("{f}.power"),
                    "at least 1",
                    "0",
                ));
            }
            total = total.checked_add(v.power).ok_or_else(|| {
                ValidationError::new(format!("{f}.power"), "total power below 2^64", "overflow")
            })?;
            for (j, w) in self.validators[..i].iter().enumerate() {
                if w.consensus_key == v.consensus_key || w.network_key == v.network_key {
                    let key = if w.consensus_key == v.consensus_key {
                        "consensus_key"
                    } else {
                        "network_key"
                    };
                    return Err(ValidationError::new(
                        format!("{f}.{key}"),
                        "keys unique across validators",
                        format!("same key as validators[{j}]"),
                    ));
                }
                if w.name == v.name {
                    return Err(ValidationError::new(
                        format!("{f}.name"),
                        "names unique across validators",
                        format!("same name as validators[{j}]"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl ValidatorSet {
    /// `H(VALIDATOR_SET_HASH, canonical bytes)`, `H` the hash of the set's suite; block
    /// headers carry it.
    pub fn hash(&self) -> Digest {
        self.suite()
            .hash(domain::VALIDATOR_SET_HASH, &codec::encode(self))
    }

    /// The suite of the set: its consensus keys' (validation requires them all of one
    /// suite; the default for an empty set, which validation refuses).
    pub fn suite(&self) -> crate::suite::Suite {
        self.validators
            .first()
            .map(|v| v.consensus_key.suite())
            .unwrap_or_default()
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Is the set empty? (Never, once validated.)
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Sum of voting power.
    pub fn total_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }

    /// Power needed for a quorum: more than two thirds of the total (2f+1 of 3f+1 with
    /// equal powers).
    pub fn quorum_power(&self) -> u64 {
        let t = u128::from(self.total_power());
        (t * 2 / 3 + 1) as u64
    }

    /// Largest power that may be Byzantine while safety and liveness hold: the largest
    /// power strictly below one third of the total (f with 3f+1 equal validators).
    pub fn fault_power(&self) -> u64 {
        let t = self.total_power();
        t.saturating_sub(1) / 3
    }

    /// Index of the validator with this consensus key.
    pub fn index_of(&self, key: &PublicKey) -> Option<u16> {
        self.validators
            .iter()
            .position(|v| v.consensus_key == *key)
            .and_then(|i| u16::try_from(i).ok())
    }

    /// The validator at `index`.
    pub fn get(&self, index: u16) -> Option<&Validator> {
        self.validators.get(usize::from(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(n: usize) -> ValidatorSet {
        ValidatorSet {
            epoch: Epoch(0),
            start_height: Height(1),
            validators: (0..n)
                .map(|i| Validator {
                    name: format!("v{i}"),
                    agency: AgencyId("a".into()),
                    consensus_key: PublicKey::Ed25519([i as u8; 32]),
                    network_key: NetworkKey([100 + i as u8; 32]),
                    power: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn quorum_is_2f_plus_1() {
        for f in 0..10u64 {
            let s = set((3 * f + 1) as usize);
            assert_eq!(s.quorum_power(), 2 * f + 1);
            assert_eq!(s.fault_power(), f);
        }
    }

    #[test]
    fn duplicates_rejected() {
        let mut s = set(4);
        s.validators[3].consensus_key = s.validators[0].consensus_key;
        assert!(s.validate().is_err());
    }
}

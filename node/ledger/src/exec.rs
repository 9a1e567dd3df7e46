//! The rules every record must satisfy. Deterministic: the outcome depends only on the
//! transaction, the block's height and time, and the state before it.
//!
//! Checks, in this order (the first failure is the reason code):
//! 1. `BadSignature` / `WrongChain` / `Malformed` found when the block was checked
//!    ([`crate::CheckedTx::Invalid`]);
//! 2. `DuplicateTx`: a transaction with the same hash was already applied (earlier in the
//!    log or in this block). A rejected transaction may be included again, and is then
//!    executed again (it may have been rejected for a sequence gap that is now filled);
//! 3. `WrongChain` (chain id), `Malformed` (the record breaks its format rules);
//! 4. `UnknownSigner`, `SignerRevoked`: the signer must be a registered, not revoked member
//!    of an agency that was not removed;
//! 5. `BadSequence`: the sequence number must be exactly the signer's next one (from 0);
//! 6. `NotAdmin` for membership records, `MissingRole` for the others: the signer must hold
//!    `RecordKind::required_role` (governance records need `Admin`);
//! 7. the record kind's own rules (see [`Exec::rules`]).
//!
//! A rejected transaction changes nothing (and consumes no sequence number).

use crate::LedgerError;
use chancery_core::block::{Outcome, ReasonCode};
use chancery_core::record::{
    AmendAward, AnchorDocument, AwardProcurement, AwardStatus, CancelAward, DisposeAsset,
    GrantDataAccess, Record, RecordRef, RegisterAsset, RegisterMember, RevokeGrant, RevokeMember,
    Role, TransferAsset,
};
use chancery_core::state::{
    AssetState, AssetStatus, AwardState, GrantState, MemberState, StateKey, StateValue,
};
use chancery_core::tx::Transaction;
use chancery_core::{AgencyId, ChainId, Digest, Height, PublicKey, Seq, TimestampMs, TxHash};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use ReasonCode::*;

/// Reads the state as of the parent block.
pub(crate) trait StateRead {
    /// Current value of `key`.
    fn value(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError>;
    /// Was a transaction with this hash already applied?
    fn tx_applied(&self, hash: &TxHash) -> Result<bool, LedgerError>;
}

/// Execution of one block over a read-only view of the parent state.
pub(crate) struct Exec<'a> {
    pub chain_id: ChainId,
    pub height: Height,
    /// Block time (governance deadlines).
    pub time: TimestampMs,
    /// The fewest validators a governance change may leave: `min(4, genesis set size)`.
    pub validators_min: usize,
    /// The chain's crypto suite (where a network key is recorded, `StateKey::network_key`).
    pub suite: chancery_core::suite::Suite,
    pub read: &'a dyn StateRead,
    /// Changes so far, by key hash.
    pub overlay: BTreeMap<Digest, (StateKey, StateValue)>,
    applied: HashSet<TxHash>,
}

pub(crate) type Rule = Result<Vec<(StateKey, StateValue)>, ReasonCode>;
type Checked = Result<(AgencyId, Vec<(StateKey, StateValue)>), ReasonCode>;

impl<'a> Exec<'a> {
    pub fn new(
        chain_id: ChainId,
        height: Height,
        time: TimestampMs,
        validators_min: usize,
        suite: chancery_core::suite::Suite,
        read: &'a dyn StateRead,
    ) -> Self {
        Exec {
            chain_id,
            height,
            time,
            validators_min,
            suite,
            read,
            overlay: BTreeMap::new(),
            applied: HashSet::new(),
        }
    }

    pub(crate) fn get(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError> {
        match self.overlay.get(&key.hash(self.suite)) {
            Some((_, v)) => Ok(Some(v.clone())),
            None => self.read.value(key),
        }
    }

    /// Execute one transaction. `pre` is a rejection found before execution (signature,
    /// chain, format). Returns the outcome and, if applied, the signer's agency.
    pub fn run(
        &mut self,
        tx: &Transaction,
        hash: TxHash,
        pre: Option<ReasonCode>,
    ) -> Result<(Outcome, Option<AgencyId>), LedgerError> {
        if self.applied.contains(&hash) || self.maybe_applied(tx)? && self.read.tx_applied(&hash)? {
            return Ok((Outcome::Rejected(ReasonCode::DuplicateTx), None));
        }
        if let Some(r) = pre {
            return Ok((Outcome::Rejected(r), None));
        }
        match self.check(tx, hash)? {
            Ok((agency, writes)) => {
                for (k, v) in writes {
                    self.overlay.insert(k.hash(self.suite), (k, v));
                }
                self.applied.insert(hash);
                Ok((Outcome::Applied, Some(agency)))
            }
            Err(r) => Ok((Outcome::Rejected(r), None)),
        }
    }

    /// Whether `tx` may have been applied before, decided from the state alone: applying a
    /// transaction moves its signer's sequence past the transaction's, and sequences never
    /// go back, so a transaction whose sequence is still its signer's next one was never
    /// applied. Only the others need the transaction index (a store lookup per
    /// transaction, which was most of what executing a fresh transaction cost in reads).
    fn maybe_applied(&self, tx: &Transaction) -> Result<bool, LedgerError> {
        let next = match self.get(&StateKey::Seq(tx.body.signer))? {
            Some(StateValue::Seq(s)) => s,
            _ => Seq(0),
        };
        Ok(tx.body.seq != next)
    }

    fn check(&self, tx: &Transaction, hash: TxHash) -> Result<Checked, LedgerError> {
        let body = &tx.body;
        if body.chain_id != self.chain_id {
            return Ok(Err(ReasonCode::WrongChain));
        }
        if body.record.validate().is_err() {
            return Ok(Err(ReasonCode::Malformed));
        }
        let member = match self.get(&StateKey::Member(body.signer))? {
            Some(StateValue::Member(m)) => m,
            _ => return Ok(Err(ReasonCode::UnknownSigner)),
        };
        // Removing an agency revokes its member keys (docs/governance.md).
        if member.revoked || !self.is_agency(&member.agency)? {
            return Ok(Err(ReasonCode::SignerRevoked));
        }
        let next = match self.get(&StateKey::Seq(body.signer))? {
            Some(StateValue::Seq(s)) => s,
            _ => Seq(0),
        };
        if body.seq != next {
            return Ok(Err(ReasonCode::BadSequence));
        }
        let kind = body.record.kind();
        let role = kind.required_role();
        if !member.may(role) {
            return Ok(Err(if role == Role::Admin {
                ReasonCode::NotAdmin
            } else {
                ReasonCode::MissingRole
            }));
        }
        let agency = member.agency.clone();
        Ok(
            match self.rules(&body.record, &agency, body.signer, hash)? {
                Ok(mut writes) => {
                    writes.push((StateKey::Seq(body.signer), StateValue::Seq(next.next())));
                    Ok((agency, writes))
                }
                Err(r) => Err(r),
            },
        )
    }

    fn asset(&self, id: &str) -> Result<Option<AssetState>, LedgerError> {
        Ok(match self.get(&StateKey::Asset(id.to_string()))? {
            Some(StateValue::Asset(a)) => Some(a),
            _ => None,
        })
    }

    pub(crate) fn award(&self, ocid: &str, award: &str) -> Result<Option<AwardState>, LedgerError> {
        Ok(
            match self.get(&StateKey::Award(ocid.to_string(), award.to_string()))? {
                Some(StateValue::Award(a)) => Some(a),
                _ => None,
            },
        )
    }

    /// The award if `agency` is its purchaser and it is not cancelled: what amending and
    /// cancelling both require (`AwardUnknown`, `NotPurchaser`, `AwardCancelled` otherwise).
    fn open_award(
        &self,
        ocid: &str,
        award: &str,
        agency: &AgencyId,
    ) -> Result<Result<AwardState, ReasonCode>, LedgerError> {
        Ok(match self.award(ocid, award)? {
            None => Err(AwardUnknown),
            Some(a) if a.purchaser != *agency => Err(NotPurchaser),
            Some(a) if a.status == AwardStatus::Cancelled => Err(AwardCancelled),
            Some(a) => Ok(a),
        })
    }

    fn grant(&self, id: &str) -> Result<Option<GrantState>, LedgerError> {
        Ok(match self.get(&StateKey::Grant(id.to_string()))? {
            Some(StateValue::Grant(g)) => Some(g),
            _ => None,
        })
    }

    /// The rules of each record kind; `agency` is the signer's (the acting agency).
    ///
    /// - RegisterAsset: custodian = acting agency (`WrongAgency`); id unused (`AssetExists`).
    /// - TransferAsset: from = acting agency (`WrongAgency`); asset exists (`AssetUnknown`),
    ///   not disposed (`AssetDisposed`), its custodian = from (`NotCustodian`); `to` is a
    ///   genesis agency (`UnknownAgency`).
    /// - DisposeAsset: exists, not disposed, custodian = acting agency (`NotCustodian`).
    /// - AwardProcurement: purchaser = acting agency (`NotPurchaser`); (ocid, award id)
    ///   unused (`AwardExists`).
    /// - AmendAward / CancelAward: award exists (`AwardUnknown`), purchaser = acting agency
    ///   (`NotPurchaser`), not cancelled (`AwardCancelled`); an amendment must not leave an
    ///   active award without suppliers (`Malformed`).
    /// - GrantDataAccess: grantor = acting agency (`WrongAgency`); grantee is a genesis
    ///   agency (`UnknownAgency`); grant id unused (`GrantExists`); the dataset is unowned
    ///   or owned by the grantor (`DatasetNotOwned`). The first grant on a dataset id makes
    ///   the grantor its owner, for good.
    /// - RevokeGrant: grant exists (`GrantUnknown`), grantor = acting agency (`NotGrantor`),
    ///   not already revoked (`GrantRevoked`). Expired grants may be revoked.
    /// - AnchorDocument: an asset, award or grant it supports must exist (`AssetUnknown`,
    ///   `AwardUnknown`, `GrantUnknown`); a supported transaction hash is not checked.
    /// - RegisterMember: agency = acting agency (`WrongAgency`); the key is not a member of
    ///   any agency, revoked or not (`MemberExists`): keys are never reused.
    /// - RevokeMember: agency = acting agency (`WrongAgency`); the key is a not revoked
    ///   member of that agency (`MemberUnknown`).
    /// - ProposeChange, Vote: see `governance.rs`.
    /// - The procurement process (tender, contract, implementation) and the rules it adds
    ///   to AwardProcurement and AmendAward: see `procure.rs`.
    fn rules(
        &self,
        record: &Record,
        agency: &AgencyId,
        signer: PublicKey,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        match record {
            Record::RegisterAsset(r) => self.register_asset(r, agency, tx),
            Record::TransferAsset(r) => self.transfer_asset(r, agency, tx),
            Record::DisposeAsset(r) => self.dispose_asset(r, agency, tx),
            Record::AwardProcurement(r) => self.award_procurement(r, agency, tx),
            Record::AmendAward(r) => self.amend_award(r, agency, tx),
            Record::CancelAward(r) => self.cancel_award(r, agency, tx),
            Record::GrantDataAccess(r) => self.grant_data_access(r, agency, tx),
            Record::RevokeGrant(r) => self.revoke_grant(r, agency, tx),
            Record::AnchorDocument(r) => self.anchor_document(r),
            Record::RegisterMember(r) => self.register_member(r, agency),
            Record::RevokeMember(r) => self.revoke_member(r, agency),
            Record::ProposeChange(r) => self.propose_change(r, agency, signer, tx),
            Record::Vote(r) => self.vote(r, agency, signer, tx),
            Record::PublishTender(r) => self.publish_tender(r, agency, tx),
            Record::CloseTender(r) => self.close_tender(r, agency, tx),
            Record::SignContract(r) => self.sign_contract(r, agency, tx),
            Record::AmendContract(r) => self.amend_contract(r, agency, tx),
            Record::RecordImplementation(r) => self.record_implementation(r, agency, tx),
            Record::TerminateContract(r) => self.terminate_contract(r, agency, tx),
        }
    }

    fn register_asset(
        &self,
        r: &RegisterAsset,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        Ok(if r.custodian != *agency {
            Err(WrongAgency)
        } else if self.asset(&r.asset_id)?.is_some() {
            Err(AssetExists)
        } else {
            Ok(vec![(
                StateKey::Asset(r.asset_id.clone()),
                StateValue::Asset(AssetState {
                    custodian: agency.clone(),
                    status: AssetStatus::Held,
                    registered_at: self.height,
                    last_tx: tx,
                }),
            )])
        })
    }

    fn transfer_asset(
        &self,
        r: &TransferAsset,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        if r.from != *agency {
            return Ok(Err(WrongAgency));
        }
        Ok(match self.asset(&r.asset_id)? {
            None => Err(AssetUnknown),
            Some(a) if a.status == AssetStatus::Disposed => Err(AssetDisposed),
            Some(a) if a.custodian != r.from => Err(NotCustodian),
            Some(_) if !self.is_agency(&r.to)? => Err(UnknownAgency),
            Some(a) => Ok(vec![(
                StateKey::Asset(r.asset_id.clone()),
                StateValue::Asset(AssetState {
                    custodian: r.to.clone(),
                    last_tx: tx,
                    ..a
                }),
            )]),
        })
    }

    fn dispose_asset(
        &self,
        r: &DisposeAsset,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        Ok(match self.asset(&r.asset_id)? {
            None => Err(AssetUnknown),
            Some(a) if a.status == AssetStatus::Disposed => Err(AssetDisposed),
            Some(a) if a.custodian != *agency => Err(NotCustodian),
            Some(a) => Ok(vec![(
                StateKey::Asset(r.asset_id.clone()),
                StateValue::Asset(AssetState {
                    status: AssetStatus::Disposed,
                    last_tx: tx,
                    ..a
                }),
            )]),
        })
    }

    fn award_procurement(
        &self,
        r: &AwardProcurement,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        if r.purchaser != *agency {
            return Ok(Err(NotPurchaser));
        }
        if self.award(&r.ocid, &r.award_id)?.is_some() {
            return Ok(Err(AwardExists));
        }
        let mut writes = match self.award_in_process(r, agency)? {
            Ok(w) => w,
            Err(reason) => return Ok(Err(reason)),
        };
        writes.push((
            StateKey::Award(r.ocid.clone(), r.award_id.clone()),
            StateValue::Award(AwardState {
                purchaser: agency.clone(),
                status: r.status,
                value: r.value,
                award_date: r.award_date,
                suppliers: r.suppliers.clone(),
                last_tx: tx,
            }),
        ));
        Ok(Ok(writes))
    }

    fn amend_award(
        &self,
        r: &AmendAward,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        Ok(match self.open_award(&r.ocid, &r.award_id, agency)? {
            Err(reason) => Err(reason),
            Ok(mut a) => {
                if let Some(v) = r.value {
                    a.value = v;
                }
                if let Some(s) = &r.suppliers {
                    a.suppliers = s.clone();
                }
                if let Some(s) = r.status {
                    a.status = s;
                }
                if a.status == AwardStatus::Active && a.suppliers.is_empty() {
                    return Ok(Err(Malformed));
                }
                a.last_tx = tx;
                let mut writes = match r.value {
                    Some(v) => self.award_value_changed(&r.ocid, &r.award_id, agency, v)?,
                    None => vec![],
                };
                writes.push((
                    StateKey::Award(r.ocid.clone(), r.award_id.clone()),
                    StateValue::Award(a),
                ));
                Ok(writes)
            }
        })
    }

    fn cancel_award(
        &self,
        r: &CancelAward,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        Ok(match self.open_award(&r.ocid, &r.award_id, agency)? {
            Err(reason) => Err(reason),
            Ok(a) => Ok(vec![(
                StateKey::Award(r.ocid.clone(), r.award_id.clone()),
                StateValue::Award(AwardState {
                    status: AwardStatus::Cancelled,
                    last_tx: tx,
                    ..a
                }),
            )]),
        })
    }

    fn grant_data_access(
        &self,
        r: &GrantDataAccess,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        if r.grantor != *agency {
            return Ok(Err(WrongAgency));
        }
        if !self.is_agency(&r.grantee)? {
            return Ok(Err(UnknownAgency));
        }
        if self.grant(&r.grant_id)?.is_some() {
            return Ok(Err(GrantExists));
        }
        let dataset = StateKey::Dataset(r.dataset_id.clone());
        let mut writes = Vec::with_capacity(2);
        match self.get(&dataset)? {
            Some(StateValue::Dataset(owner)) if owner != *agency => {
                return Ok(Err(DatasetNotOwned))
            }
            Some(_) => {}
            None => writes.push((dataset, StateValue::Dataset(agency.clone()))),
        }
        writes.push((
            StateKey::Grant(r.grant_id.clone()),
            StateValue::Grant(GrantState {
                dataset_id: r.dataset_id.clone(),
                grantor: agency.clone(),
                grantee: r.grantee.clone(),
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                revoked: false,
                last_tx: tx,
            }),
        ));
        Ok(Ok(writes))
    }

    fn revoke_grant(
        &self,
        r: &RevokeGrant,
        agency: &AgencyId,
        tx: TxHash,
    ) -> Result<Rule, LedgerError> {
        Ok(match self.grant(&r.grant_id)? {
            None => Err(GrantUnknown),
            Some(g) if g.grantor != *agency => Err(NotGrantor),
            Some(g) if g.revoked => Err(GrantRevoked),
            Some(g) => Ok(vec![(
                StateKey::Grant(r.grant_id.clone()),
                StateValue::Grant(GrantState {
                    revoked: true,
                    last_tx: tx,
                    ..g
                }),
            )]),
        })
    }

    fn anchor_document(&self, r: &AnchorDocument) -> Result<Rule, LedgerError> {
        Ok(match &r.supports {
            RecordRef::Asset(a) if self.asset(a)?.is_none() => Err(AssetUnknown),
            RecordRef::Award(o, a) if self.award(o, a)?.is_none() => Err(AwardUnknown),
            RecordRef::Grant(g) if self.grant(g)?.is_none() => Err(GrantUnknown),
            _ => Ok(vec![]),
        })
    }

    fn register_member(&self, r: &RegisterMember, agency: &AgencyId) -> Result<Rule, LedgerError> {
        Ok(if r.agency != *agency {
            Err(WrongAgency)
        } else if self.get(&StateKey::Member(r.key))?.is_some() {
            Err(MemberExists)
        } else {
            Ok(vec![(
                StateKey::Member(r.key),
                StateValue::Member(MemberState {
                    agency: agency.clone(),
                    name: r.name.clone(),
                    roles: r.roles.clone(),
                    revoked: false,
                }),
            )])
        })
    }

    fn revoke_member(&self, r: &RevokeMember, agency: &AgencyId) -> Result<Rule, LedgerError> {
        if r.agency != *agency {
            return Ok(Err(WrongAgency));
        }
        Ok(match self.get(&StateKey::Member(r.key))? {
            Some(StateValue::Member(m)) if m.agency == *agency && !m.revoked => Ok(vec![(
                StateKey::Member(r.key),
                StateValue::Member(MemberState { revoked: true, ..m }),
            )]),
            _ => Err(MemberUnknown),
        })
    }
}

/// Index keys written for an applied record at log index `index` in a block at `time`.
pub(crate) fn index_keys(
    record: &Record,
    agency: &AgencyId,
    index: u64,
    time: TimestampMs,
) -> BTreeSet<Vec<u8>> {
    use crate::schema::ix::*;
    use crate::schema::KeyBuf as K;
    let mut out = BTreeSet::new();
    let kind = record.kind() as u8;
    out.insert(K::new(AGENCY).s(agency.as_str()).n(index).done());
    out.insert(K::new(KIND_TIME).b(&[kind]).n(time.0).n(index).done());
    let subject = |class: u8, s: &K| K::new(SUBJECT).b(&[class]).b(&s.0).n(index).done();
    let award_id = |o: &str, a: &str| K::default().s(o).s(a);
    // Every record of a contracting process is found by its ocid too (the process page).
    if let Some(ocid) = record.ocid() {
        out.insert(subject(CLASS_PROCESS, &K::default().s(ocid)));
    }
    match record {
        Record::RegisterAsset(r) => {
            out.insert(subject(CLASS_ASSET, &K::default().s(&r.asset_id)));
            out.insert(
                K::new(ASSET_CUSTODIAN)
                    .s(agency.as_str())
                    .s(&r.asset_id)
                    .n(index)
                    .done(),
            );
        }
        Record::TransferAsset(r) => {
            out.insert(subject(CLASS_ASSET, &K::default().s(&r.asset_id)));
            out.insert(
                K::new(ASSET_CUSTODIAN)
                    .s(r.to.as_str())
                    .s(&r.asset_id)
                    .n(index)
                    .done(),
            );
        }
        Record::DisposeAsset(r) => {
            out.insert(subject(CLASS_ASSET, &K::default().s(&r.asset_id)));
        }
        Record::AwardProcurement(r) => {
            let id = award_id(&r.ocid, &r.award_id);
            out.insert(subject(CLASS_AWARD, &id));
            out.insert(
                K::new(AWARD_PURCHASER)
                    .s(agency.as_str())
                    .b(&id.0)
                    .n(index)
                    .done(),
            );
            let d = r.award_date;
            let date = [(d.year >> 8) as u8, d.year as u8, d.month, d.day];
            out.insert(K::new(AWARD_DATE).b(&date).b(&id.0).n(index).done());
            out.insert(
                K::new(AWARD_PURCHASER_DATE)
                    .s(agency.as_str())
                    .b(&date)
                    .b(&id.0)
                    .n(index)
                    .done(),
            );
            out.insert(amount_key(&r.value, &id, index));
            supplier_keys(&r.suppliers, &id, index, &mut out);
        }
        Record::AmendAward(r) => {
            let id = award_id(&r.ocid, &r.award_id);
            out.insert(subject(CLASS_AWARD, &id));
            if let Some(v) = &r.value {
                out.insert(amount_key(v, &id, index));
            }
            if let Some(s) = &r.suppliers {
                supplier_keys(s, &id, index, &mut out);
            }
        }
        Record::CancelAward(r) => {
            out.insert(subject(CLASS_AWARD, &award_id(&r.ocid, &r.award_id)));
        }
        Record::GrantDataAccess(r) => {
            let g = K::default().s(&r.grant_id);
            out.insert(subject(CLASS_GRANT, &g));
            out.insert(
                K::new(GRANT_DATASET)
                    .s(&r.dataset_id)
                    .b(&g.0)
                    .n(index)
                    .done(),
            );
            out.insert(
                K::new(GRANT_GRANTEE)
                    .s(r.grantee.as_str())
                    .b(&g.0)
                    .n(index)
                    .done(),
            );
            out.insert(
                K::new(GRANT_GRANTOR)
                    .s(agency.as_str())
                    .b(&g.0)
                    .n(index)
                    .done(),
            );
            out.insert(K::new(GRANT_STATUS).b(&[0]).b(&g.0).n(index).done());
        }
        Record::RevokeGrant(r) => {
            let g = K::default().s(&r.grant_id);
            out.insert(subject(CLASS_GRANT, &g));
            out.insert(K::new(GRANT_STATUS).b(&[1]).b(&g.0).n(index).done());
        }
        Record::AnchorDocument(r) => match &r.supports {
            RecordRef::Asset(a) => {
                out.insert(subject(CLASS_ASSET, &K::default().s(a)));
            }
            RecordRef::Award(o, a) => {
                out.insert(subject(CLASS_AWARD, &award_id(o, a)));
            }
            RecordRef::Grant(g) => {
                out.insert(subject(CLASS_GRANT, &K::default().s(g)));
            }
            RecordRef::None | RecordRef::Tx(_) => {}
        },
        Record::RegisterMember(r) => {
            out.insert(subject(CLASS_MEMBER, &K::default().b(r.key.as_bytes())));
            out.insert(member_key(&r.agency, &r.key, index));
        }
        Record::RevokeMember(r) => {
            out.insert(subject(CLASS_MEMBER, &K::default().b(r.key.as_bytes())));
        }
        // Governance records are found by agency and by kind. What a passed proposal
        // does depends on the state, not on the vote alone: the indexer adds those
        // entries (`indexer.rs`, `passed_keys`).
        Record::ProposeChange(_) | Record::Vote(_) => {}
        Record::PublishTender(_) | Record::CloseTender(_) => {}
        Record::SignContract(r) => {
            let id = award_id(&r.ocid, &r.contract_id);
            out.insert(subject(CLASS_CONTRACT, &id));
            // The award's history shows the contracts signed against it.
            out.insert(subject(CLASS_AWARD, &award_id(&r.ocid, &r.award_id)));
        }
        Record::AmendContract(r) => {
            out.insert(subject(CLASS_CONTRACT, &award_id(&r.ocid, &r.contract_id)));
        }
        Record::RecordImplementation(r) => {
            out.insert(subject(CLASS_CONTRACT, &award_id(&r.ocid, &r.contract_id)));
        }
        Record::TerminateContract(r) => {
            out.insert(subject(CLASS_CONTRACT, &award_id(&r.ocid, &r.contract_id)));
        }
    }
    out
}

/// `MEMBER_AGENCY` key.
pub(crate) fn member_key(agency: &AgencyId, key: &chancery_core::PublicKey, index: u64) -> Vec<u8> {
    crate::schema::KeyBuf::new(crate::schema::ix::MEMBER_AGENCY)
        .s(agency.as_str())
        .b(key.as_bytes())
        .n(index)
        .done()
}

fn amount_key(v: &chancery_core::Amount, id: &crate::schema::KeyBuf, index: u64) -> Vec<u8> {
    crate::schema::KeyBuf::new(crate::schema::ix::AWARD_AMOUNT)
        .b(&v.currency.0)
        .n(v.minor)
        .b(&id.0)
        .n(index)
        .done()
}

fn supplier_keys(
    suppliers: &[chancery_core::record::Supplier],
    id: &crate::schema::KeyBuf,
    index: u64,
    out: &mut BTreeSet<Vec<u8>>,
) {
    use crate::schema::ix::*;
    use crate::schema::KeyBuf as K;
    for s in suppliers {
        out.insert(
            K::new(AWARD_SUPPLIER_CODE)
                .s(&s.credit_code)
                .b(&id.0)
                .n(index)
                .done(),
        );
        out.insert(
            K::new(AWARD_SUPPLIER_NAME)
                .s(&s.name)
                .b(&id.0)
                .n(index)
                .done(),
        );
    }
}

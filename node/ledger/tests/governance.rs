//! Governance execution (docs/governance.md): proposals and votes, the threshold and its
//! edges, deadlines, the invariants with their reason codes, the epoch switch and the
//! headers across it, the epoch chain and state proofs of governance state.
//!
//! The fixture has three agencies (mof, moe, nhc) with one admin each and four validators
//! v0..v3 run by mof, moe, nhc, mof. With the default threshold (more than 2/3) all three
//! agencies must approve.

use chancery_core::block::{Block, Outcome, ReasonCode};
use chancery_core::checkpoint::Checkpoint;
use chancery_core::crypto::SecretKey;
use chancery_core::epoch::{verify_epoch_chain, VerifiedValidatorSet};
use chancery_core::genesis::ChainParams;
use chancery_core::governance::{Change, ProposalPhase, ProposalState, ProposalStatus, Threshold};
use chancery_core::record::*;
use chancery_core::state::{verify_state_proof, StateKey, StateValue};
use chancery_core::validator::ValidatorSet;
use chancery_core::{AgencyId, Digest, Epoch, Height, PublicKey, TimestampMs};
use chancery_ledger::testing::fixture::named_key;
use chancery_ledger::{check, verify_block_txs, Ledger, LedgerError};
use chancery_storage::MemStore;
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use ReasonCode::*;

use chancery_ledger::testing::governed::{add_agency, rotate, Chain, ALL};

fn rejected(code: ReasonCode) -> Outcome {
    Outcome::Rejected(code)
}

#[test]
fn a_proposal_passes_exactly_when_approvals_exceed_the_threshold() {
    let mut c = Chain::new();
    let mee = named_key("admin-mee");
    assert_eq!(
        c.propose("mof", "p1", vec![add_agency("mee", &mee)]),
        Outcome::Applied
    );
    assert_eq!(c.vote("mof", "p1", true), Outcome::Applied);
    assert_eq!(c.vote("moe", "p1", true), Outcome::Applied);
    // Two of three is exactly two thirds: not more than two thirds.
    assert_eq!(c.proposal("p1").status, ProposalStatus::Open);
    assert!(c
        .ledger
        .state_value(&StateKey::Agency(AgencyId("mee".into())))
        .unwrap()
        .is_none());
    assert_eq!(c.vote("nhc", "p1", true), Outcome::Applied);
    let at = c.ledger.tip().height;
    assert_eq!(
        c.proposal("p1").status,
        ProposalStatus::Passed {
            at,
            epoch: None,
            effective_height: None
        }
    );
    // Agency changes take effect at once: the new admin can act in the next block.
    assert_eq!(c.governance().agencies.len(), 4);
    c.admins.insert("mee".into(), mee.clone());
    let clerk = named_key("mee-clerk");
    assert_eq!(
        c.one(
            mee,
            Record::RegisterMember(RegisterMember {
                agency: AgencyId("mee".into()),
                key: clerk.public(),
                name: "clerk".into(),
                roles: vec![Role::AssetOfficer],
            })
        ),
        Outcome::Applied
    );
    // And nothing about validators changed: no epoch is pending.
    assert_eq!(c.governance().pending, None);
}

#[test]
fn an_agencys_latest_vote_counts_once() {
    // More than half of three agencies: two approvals.
    let mut c = Chain::with_params(|p| {
        p.governance_threshold = Threshold {
            numerator: 1,
            denominator: 2,
        }
    });
    let k = named_key("new-v3");
    assert_eq!(
        c.propose("mof", "p", vec![rotate("v3", &k)]),
        Outcome::Applied
    );
    assert_eq!(c.vote("mof", "p", true), Outcome::Applied);
    // The same agency again (any of its admins): still one approval.
    assert_eq!(c.vote("mof", "p", true), Outcome::Applied);
    assert_eq!(c.proposal("p").status, ProposalStatus::Open);
    assert_eq!(c.proposal("p").votes.len(), 1);
    // A changed vote replaces the earlier one.
    assert_eq!(c.vote("mof", "p", false), Outcome::Applied);
    assert_eq!(c.proposal("p").tally(&c.governance().agencies), (0, 1));
    assert_eq!(c.proposal("p").status, ProposalStatus::Open);
    // A second rejection leaves one agency: passing is impossible, the proposal fails.
    assert_eq!(c.vote("moe", "p", false), Outcome::Applied);
    let at = c.ledger.tip().height;
    assert_eq!(c.proposal("p").status, ProposalStatus::Failed { at });
}

#[test]
fn votes_after_the_decision_or_on_unknown_proposals_are_refused() {
    let mut c = Chain::new();
    let mee = named_key("admin-mee");
    assert_eq!(
        c.pass("p", vec![add_agency("mee", &mee)], &ALL),
        Outcome::Applied
    );
    assert_eq!(c.vote("mof", "p", false), rejected(ProposalClosed));
    assert_eq!(c.vote("mof", "nope", true), rejected(ProposalUnknown));
    assert_eq!(
        c.propose("moe", "p", vec![add_agency("mee2", &named_key("x"))]),
        rejected(ProposalExists)
    );
    // Four agencies now: three approvals pass, so one rejection leaves it open and a
    // second decides it; later votes are refused.
    assert_eq!(
        c.propose("mof", "q", vec![add_agency("mee3", &named_key("y"))]),
        Outcome::Applied
    );
    assert_eq!(c.vote("nhc", "q", false), Outcome::Applied);
    assert_eq!(c.proposal("q").status, ProposalStatus::Open);
    assert_eq!(c.vote("moe", "q", false), Outcome::Applied);
    assert!(matches!(
        c.proposal("q").status,
        ProposalStatus::Failed { .. }
    ));
    assert_eq!(c.vote("mof", "q", true), rejected(ProposalClosed));
}

#[test]
fn a_proposal_expires_at_its_deadline_in_block_time() {
    let mut c = Chain::new();
    let t = c.ledger.tip().time.0;
    // Blocks are 1 s apart: the first block below is at t + 1 s, the next at t + 2 s, ...
    assert_eq!(
        c.propose_until(
            "mof",
            "late",
            vec![add_agency("mee", &named_key("m"))],
            TimestampMs(t + 1000)
        ),
        rejected(ProposalExpired)
    );
    assert_eq!(
        c.propose_until(
            "mof",
            "p",
            vec![add_agency("mee", &named_key("m"))],
            TimestampMs(t + 4000)
        ),
        Outcome::Applied
    );
    // Block at t + 3 s votes; the block at t + 4 s, the deadline itself, is too late.
    assert_eq!(c.vote("mof", "p", true), Outcome::Applied);
    assert_eq!(c.vote("moe", "p", true), rejected(ProposalExpired));
    let p = c.proposal("p");
    assert_eq!(
        p.status,
        ProposalStatus::Open,
        "nothing is written at expiry"
    );
    assert_eq!(p.phase_at(TimestampMs(t + 3999)), ProposalPhase::Open);
    assert_eq!(p.phase_at(c.ledger.tip().time), ProposalPhase::Expired);
}

#[test]
fn a_removed_agency_can_no_longer_vote_or_sign() {
    let mut c = Chain::new();
    let mee = named_key("admin-mee");
    assert_eq!(
        c.pass("join", vec![add_agency("mee", &mee)], &ALL),
        Outcome::Applied
    );
    c.admins.insert("mee".into(), mee.clone());
    assert_eq!(
        c.propose("mee", "other", vec![add_agency("x", &named_key("x"))]),
        Outcome::Applied
    );
    // Four agencies: three approvals are more than two thirds.
    let remove = vec![Change::RemoveAgency {
        id: AgencyId("mee".into()),
    }];
    assert_eq!(c.pass("leave", remove, &ALL), Outcome::Applied);
    assert_eq!(c.governance().agencies.len(), 3);
    match c
        .ledger
        .state_value(&StateKey::Agency(AgencyId("mee".into())))
        .unwrap()
    {
        Some(StateValue::Agency(a)) => assert!(a.removed),
        other => panic!("{other:?}"),
    }
    // Its keys are revoked with it: a vote, and any other record, is refused.
    assert_eq!(c.vote("mee", "other", true), rejected(SignerRevoked));
    // Its id is never reused, and records naming it as a counterpart are refused.
    assert_eq!(
        c.propose("mof", "again", vec![add_agency("mee", &named_key("z"))]),
        rejected(AgencyExists)
    );
}

#[test]
fn invariants_refuse_proposals_with_their_codes() {
    let mut c = Chain::new();
    // An agency that runs a validator cannot leave.
    let remove_nhc = vec![Change::RemoveAgency {
        id: AgencyId("nhc".into()),
    }];
    assert_eq!(
        c.propose("mof", "a", remove_nhc),
        rejected(AgencyHasValidator)
    );
    // Four validators: removing one would leave three.
    let remove_v3 = vec![Change::RemoveValidator { name: "v3".into() }];
    assert_eq!(
        c.propose("mof", "b", remove_v3),
        rejected(ValidatorSetTooSmall)
    );
    // A key in use, twice in one proposal, or an existing member key.
    let v0 = c.fx.genesis.validators.validators[0].consensus_key;
    let fresh = named_key("fresh").public();
    let add = |name: &str, ck: PublicKey, nk: PublicKey| Change::AddValidator {
        agency: AgencyId("moe".into()),
        name: name.into(),
        consensus_key: ck,
        network_key: chancery_core::NetworkKey::of_ed25519(&nk).unwrap(),
        power: 1,
    };
    assert_eq!(
        c.propose("mof", "c", vec![add("v4", v0, fresh)]),
        rejected(KeyReused)
    );
    let other = named_key("other").public();
    assert_eq!(
        c.propose(
            "mof",
            "d",
            vec![
                add("v4", fresh, other),
                add("v5", other, named_key("o2").public())
            ]
        ),
        rejected(KeyReused)
    );
    let member = c.fx.signer("moe", Role::Archivist).public();
    assert_eq!(
        c.propose(
            "mof",
            "e",
            vec![Change::SetAdminKeys {
                agency: AgencyId("moe".into()),
                admin_keys: vec![member],
            }]
        ),
        rejected(KeyReused)
    );
    assert_eq!(
        c.propose("mof", "f", vec![add("v1", fresh, other)]),
        rejected(ValidatorExists)
    );
    assert_eq!(
        c.propose("mof", "g", vec![rotate("v9", &named_key("k"))]),
        rejected(ValidatorUnknown)
    );
    let ghost = Change::AddValidator {
        agency: AgencyId("ghost".into()),
        name: "g1".into(),
        consensus_key: fresh,
        network_key: chancery_core::NetworkKey::of_ed25519(&other).unwrap(),
        power: 1,
    };
    assert_eq!(c.propose("mof", "h", vec![ghost]), rejected(UnknownAgency));
    // A non-admin may not propose.
    let officer = c.fx.signer("mof", Role::AssetOfficer).clone();
    assert_eq!(
        c.one(
            officer,
            Record::Vote(Vote {
                proposal_id: "a".into(),
                approve: true
            })
        ),
        rejected(NotAdmin)
    );
}

#[test]
fn a_retired_key_is_never_used_again() {
    let mut c = Chain::new();
    let old = c.fx.genesis.validators.validators[3].consensus_key;
    let new = named_key("v3-second");
    assert_eq!(
        c.pass("rotate", vec![rotate("v3", &new)], &ALL),
        Outcome::Applied
    );
    match c.ledger.state_value(&StateKey::ValidatorKey(old)).unwrap() {
        Some(StateValue::ValidatorKey(k)) => assert!(k.retired_at.is_some()),
        other => panic!("{other:?}"),
    }
    let back = Change::RotateValidatorKeys {
        name: "v3".into(),
        consensus_key: Some(old),
        network_key: None,
    };
    assert_eq!(c.propose("mof", "back", vec![back]), rejected(KeyReused));
}

#[test]
fn a_vote_that_would_break_an_invariant_is_refused_and_changes_nothing() {
    let mut c = Chain::new();
    let k1 = named_key("k1");
    // Two proposals adding validators with the same new key: each is fine alone.
    let add = |id: &str| Change::AddValidator {
        agency: AgencyId("moe".into()),
        name: id.into(),
        consensus_key: k1.public(),
        network_key: chancery_core::NetworkKey::of_ed25519(
            &named_key(&format!("net-{id}")).public(),
        )
        .unwrap(),
        power: 1,
    };
    assert_eq!(c.propose("mof", "a", vec![add("v4")]), Outcome::Applied);
    assert_eq!(c.propose("mof", "b", vec![add("v5")]), Outcome::Applied);
    assert_eq!(c.pass_votes("a"), Outcome::Applied);
    c.keys.insert("v4".into(), k1.clone());
    let before = c.ledger.tip().state_root;
    assert_eq!(c.vote("mof", "b", true), Outcome::Applied);
    assert_eq!(c.vote("moe", "b", true), Outcome::Applied);
    assert_eq!(c.vote("nhc", "b", true), rejected(KeyReused));
    assert_eq!(c.proposal("b").status, ProposalStatus::Open);
    assert_ne!(
        before,
        c.ledger.tip().state_root,
        "the first votes were applied"
    );
}

#[test]
fn the_epoch_switches_after_the_delay_and_headers_say_so() {
    let mut c = Chain::new();
    let delay = c.fx.genesis.params.epoch_delay_blocks;
    assert_eq!(delay, 2);
    let new = named_key("v3-epoch-1");
    assert_eq!(
        c.pass("rotate", vec![rotate("v3", &new)], &ALL),
        Outcome::Applied
    );
    let passed = c.ledger.tip().height;
    let start = Height(passed.0 + delay + 1);
    assert_eq!(
        c.proposal("rotate").status,
        ProposalStatus::Passed {
            at: passed,
            epoch: Some(Epoch(1)),
            effective_height: Some(start)
        }
    );
    let set0 = c.fx.genesis.validators.clone();
    let set1 = c.ledger.validator_set_of_epoch(Epoch(1)).unwrap().unwrap();
    assert_eq!((set1.epoch, set1.start_height), (Epoch(1), start));
    assert_eq!(set1.validators[3].consensus_key, new.public());

    // The blocks of the delay are still epoch 0; the last of them commits the next set.
    let mut blocks = c.empty_blocks(delay as usize - 1);
    // A boundary header that does not commit the next set is refused.
    let tip = c.ledger.tip();
    let time = TimestampMs(tip.time.0 + 1000);
    let ex = c.ledger.execute(&[], time, tip.height.next()).unwrap();
    let mut header = c.fx.header(tip.height.next(), tip.hash, time);
    ex.fill_header(&mut header);
    assert_eq!(header.next_validator_set, set1.hash());
    header.next_validator_set = Digest::ZERO;
    let forged = Block {
        header,
        txs: vec![],
    };
    let cert = c.fx.finalize_by(&forged, &c.fx.validators);
    assert!(matches!(
        c.ledger.apply(&forged, &cert),
        Err(LedgerError::HeaderMismatch {
            field: "next_validator_set",
            ..
        })
    ));
    // A certificate of the next epoch does not finalize the boundary through a
    // descendant: a certificate is valid only for the epoch that contains its block.
    let ex_b = c.ledger.execute(&[], time, tip.height.next()).unwrap();
    let mut hb = c.fx.header(tip.height.next(), tip.hash, time);
    ex_b.fill_header(&mut hb);
    c.ledger
        .keep_speculative(hb.hash(chancery_core::suite::Suite::default()), &ex_b);
    let t2 = TimestampMs(time.0 + 1000);
    let ex_c = c
        .ledger
        .execute_on(
            &hb.hash(chancery_core::suite::Suite::default()),
            &[],
            t2,
            start,
        )
        .unwrap();
    let mut hc =
        c.fx.header(start, hb.hash(chancery_core::suite::Suite::default()), t2);
    ex_c.fill_header(&mut hc);
    assert_eq!(hc.epoch, Epoch(1));
    let mut keys1 = c.fx.validators.clone();
    keys1[3] = new.clone();
    let child = Block {
        header: hc.clone(),
        txs: vec![],
    };
    let cert_c = c.fx.finalize_by(&child, &keys1);
    let boundary_block = Block {
        header: hb,
        txs: vec![],
    };
    let err = c
        .ledger
        .apply_by_descendant(&boundary_block, &cert_c, &[hc])
        .unwrap_err();
    assert!(
        matches!(&err, LedgerError::Certificate(m) if m.contains("epoch")),
        "{err}"
    );
    blocks.extend(c.empty_blocks(1));
    for b in &blocks[..blocks.len() - 1] {
        assert_eq!(b.header.epoch, Epoch(0));
        assert_eq!(b.header.validator_set, set0.hash());
        assert_eq!(b.header.next_validator_set, Digest::ZERO);
    }
    let boundary = &blocks[blocks.len() - 1].header;
    assert_eq!(boundary.height, Height(start.0 - 1));
    assert_eq!(boundary.epoch, Epoch(0));
    assert_eq!(boundary.next_validator_set, set1.hash());
    assert_eq!(
        c.ledger.epoch_end(boundary.height).unwrap(),
        Some(set1.clone())
    );
    assert_eq!(
        c.ledger.epoch_end(Height(boundary.height.0 - 1)).unwrap(),
        None
    );
    assert_eq!(c.ledger.validator_set_at(boundary.height).unwrap(), set0);
    assert_eq!(c.ledger.validator_set_at(start).unwrap(), set1);

    // The first block of epoch 1 must be finalized by the new set: the old keys fail.
    let old: Vec<SecretKey> = c.fx.validators.clone();
    let err = c.block_signed_by(vec![], &old).unwrap_err();
    assert!(matches!(err, LedgerError::Certificate(_)), "{err}");
    c.keys.insert("v3".into(), new);
    let (_, first) = c.block(vec![]);
    assert_eq!(first.header.height, start);
    assert_eq!(first.header.epoch, Epoch(1));
    assert_eq!(first.header.validator_set, set1.hash());
    assert_eq!(first.header.next_validator_set, Digest::ZERO);
    assert_eq!(c.governance().epoch_at(start), Epoch(1));

    // The epoch chain from the genesis proves set 1, and a checkpoint of epoch 1 verifies
    // with it (and not with the genesis alone).
    let links = c.ledger.epoch_links(Epoch(1)).unwrap();
    assert_eq!(links.len(), 1);
    let proven: VerifiedValidatorSet = verify_epoch_chain(&c.fx.genesis, &links).unwrap();
    assert_eq!(proven.set(), &set1);
    let (b, cert) = c.ledger.block(start).unwrap().unwrap();
    let cp = Checkpoint {
        header: b.header,
        certificate: cert,
    };
    assert!(proven.verify_checkpoint(&cp).is_ok());
    assert!(cp.verify(&c.fx.genesis).is_err());

    // A reopened ledger (tree replay) and a full re-derivation agree.
    let tip = c.ledger.tip();
    drop(c.ledger);
    let again = Ledger::open(c.store.clone(), &c.fx.genesis).unwrap();
    assert_eq!(again.tip(), tip);
    let report = check(c.store.clone(), Arc::new(MemStore::new())).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn parameters_change_at_the_epoch_and_a_second_proposal_pushes_it_back() {
    // A delay long enough to pass a second proposal before the first one's epoch starts.
    let mut c = Chain::with_params(|p| p.epoch_delay_blocks = 10);
    let params = ChainParams {
        block_txs_max: 2,
        ..c.fx.genesis.params.clone()
    };
    assert_eq!(
        c.pass("p", vec![Change::SetParams { params }], &ALL),
        Outcome::Applied
    );
    let first = c.governance().pending.unwrap();
    // Another epoch change passed before the start merges into the same pending epoch,
    // which now starts `delay` blocks after it.
    let k = named_key("v2-new");
    assert_eq!(c.pass("q", vec![rotate("v2", &k)], &ALL), Outcome::Applied);
    let second = c.governance().pending.unwrap();
    assert_eq!(second.epoch, first.epoch);
    assert!(second.start_height > first.start_height);
    assert_eq!(second.params.block_txs_max, 2);
    while c.ledger.tip().height.next() < second.start_height {
        let blocks = c.empty_blocks(1);
        assert_eq!(blocks[0].header.epoch, Epoch(0));
    }
    let archivist = c.fx.signer("mof", Role::Archivist).clone();
    let anchors: Vec<_> = (0..3)
        .map(|i| {
            let r = chancery_ledger::testing::fixture::anchor(&i.to_string());
            c.fx.tx(&archivist, i, r)
        })
        .collect();
    let tip = c.ledger.tip();
    let checked = verify_block_txs(&c.ledger.chain_id(), anchors, |_| None);
    assert!(matches!(
        c.ledger
            .execute(&checked, TimestampMs(tip.time.0 + 1000), tip.height.next()),
        Err(LedgerError::TooManyTxs { max: 2, found: 3 })
    ));
}

#[test]
fn a_proposals_status_is_provable_against_the_header() {
    let mut c = Chain::new();
    let k = named_key("v1-new");
    assert_eq!(c.pass("p", vec![rotate("v1", &k)], &ALL), Outcome::Applied);
    let h = c.ledger.tip().height;
    let (block, _) = c.ledger.block(h).unwrap().unwrap();
    let root = block.header.state_root;
    for key in [
        StateKey::Proposal("p".into()),
        StateKey::Governance,
        StateKey::EpochSet(Epoch(1)),
        StateKey::ValidatorKey(k.public()),
    ] {
        let proof = c.ledger.prove(&key, h).unwrap();
        let value =
            verify_state_proof(chancery_core::suite::Suite::default(), &root, &proof).unwrap();
        assert_eq!(value, c.ledger.state_value(&key).unwrap(), "{key:?}");
    }
    let proof = c.ledger.prove(&StateKey::Proposal("p".into()), h).unwrap();
    match verify_state_proof(chancery_core::suite::Suite::default(), &root, &proof).unwrap() {
        Some(StateValue::Proposal(p)) => {
            assert!(matches!(p.status, ProposalStatus::Passed { at, .. } if at == h))
        }
        other => panic!("{other:?}"),
    }
    // A tampered status does not verify.
    let mut bad = proof;
    if let Some(StateValue::Proposal(p)) = &mut bad.value {
        p.status = ProposalStatus::Open;
    }
    assert!(verify_state_proof(chancery_core::suite::Suite::default(), &root, &bad).is_err());
    let set: ValidatorSet = c.ledger.validator_set_of_epoch(Epoch(1)).unwrap().unwrap();
    assert_eq!(set.validators[1].consensus_key, k.public());
}

/// The model of a proposal's decision: after each vote, the latest vote of each agency
/// counts; passed once approvals pass the threshold, failed once they cannot.
fn model(votes: &[(usize, bool)], t: Threshold, n: u64) -> Vec<Outcome> {
    let mut latest: HashMap<usize, bool> = HashMap::new();
    let mut decided = false;
    votes
        .iter()
        .map(|(a, yes)| {
            if decided {
                return rejected(ProposalClosed);
            }
            latest.insert(*a, *yes);
            let y = latest.values().filter(|v| **v).count() as u64;
            let no = latest.values().filter(|v| !**v).count() as u64;
            decided = t.passes(y, n) || !t.passes(n - no, n);
            Outcome::Applied
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any sequence of votes by the three agencies, under several thresholds, ends as the
    /// model says: the same outcome for every vote and the same final status.
    #[test]
    fn votes_decide_as_the_model_says(
        votes in proptest::collection::vec((0usize..3, any::<bool>()), 1..8),
        which in 0usize..4,
    ) {
        let t = [
            Threshold { numerator: 0, denominator: 1 },
            Threshold { numerator: 1, denominator: 2 },
            Threshold { numerator: 2, denominator: 3 },
            Threshold { numerator: 1, denominator: 3 },
        ][which];
        let mut c = Chain::with_params(|p| p.governance_threshold = t);
        let mee = named_key("admin-mee");
        prop_assert_eq!(c.propose("mof", "p", vec![add_agency("mee", &mee)]), Outcome::Applied);
        let want = model(&votes, t, 3);
        let got: Vec<Outcome> = votes.iter().map(|(a, y)| c.vote(ALL[*a], "p", *y)).collect();
        prop_assert_eq!(&got, &want);
        let p = c.proposal("p");
        let mut latest: HashMap<usize, bool> = HashMap::new();
        for ((a, y), o) in votes.iter().zip(&want) {
            if *o == Outcome::Applied {
                latest.insert(*a, *y);
            }
        }
        let yes = latest.values().filter(|v| **v).count() as u64;
        let passed = matches!(p.status, ProposalStatus::Passed { .. });
        prop_assert_eq!(passed, t.passes(yes, 3));
        prop_assert_eq!(
            c.ledger.state_value(&StateKey::Agency(AgencyId("mee".into()))).unwrap().is_some(),
            passed
        );
    }
}

#[test]
fn the_epoch_chain_is_served_a_page_at_a_time_and_verifies_from_the_genesis() {
    let mut c = Chain::new();
    c.index = true;
    let archivist = c.fx.signer("mof", Role::Archivist).clone();
    let (_, b0) = c.block(vec![(
        archivist.clone(),
        chancery_ledger::testing::fixture::anchor("zero"),
    )]);
    assert_eq!(c.rotate_to_next_epoch("v3", "one"), Epoch(1));
    assert_eq!(c.rotate_to_next_epoch("v2", "two"), Epoch(2));
    let (_, b2) = c.block(vec![(
        archivist,
        chancery_ledger::testing::fixture::anchor("two"),
    )]);
    let g = &c.fx.genesis;

    let now = c.ledger.governance_now().unwrap();
    let set2 = c.ledger.validator_set_of_epoch(Epoch(2)).unwrap().unwrap();
    assert_eq!(
        (now.epoch, now.epoch_start, now.pending),
        (Epoch(2), set2.start_height, None)
    );
    assert_eq!(now.set, set2);

    // Every link at once, and one at a time.
    let (all, next) = c.ledger.epoch_links_page(Epoch(0), 64).unwrap();
    assert_eq!((all.len(), next), (2, None));
    assert_eq!(all, c.ledger.epoch_links(Epoch(2)).unwrap());
    assert_eq!(verify_epoch_chain(g, &all).unwrap().set(), &set2);
    for (i, l) in all.iter().enumerate() {
        assert_eq!(l.header.epoch, Epoch(i as u64));
        assert_eq!(l.next.start_height, l.header.height.next());
        assert_eq!(
            c.ledger.epoch_link(Epoch(i as u64)).unwrap().as_ref(),
            Some(l)
        );
    }
    assert_eq!(
        c.ledger.epoch_links_page(Epoch(0), 1).unwrap(),
        (vec![all[0].clone()], Some(Epoch(1)))
    );
    assert_eq!(
        c.ledger.epoch_links_page(Epoch(1), 1).unwrap(),
        (vec![all[1].clone()], None)
    );
    assert_eq!(
        c.ledger.epoch_links_page(Epoch(2), 1).unwrap(),
        (vec![], None)
    );
    assert_eq!(c.ledger.epoch_link(Epoch(2)).unwrap(), None);
    assert!(matches!(
        c.ledger.epoch_links_page(Epoch(0), 65),
        Err(LedgerError::PageTooLarge { max: 64, found: 65 })
    ));

    // The epochs with their sets: two ended, one in force.
    let (eps, next) = c.ledger.epochs_page(Epoch(0), 10).unwrap();
    assert_eq!((eps.len(), next), (3, None));
    assert_eq!(eps[0].set, c.fx.genesis.validators);
    assert_eq!(eps[0].end, Some(all[0].header.height));
    assert_eq!(eps[1].end, Some(all[1].header.height));
    assert_eq!((eps[2].end, eps[2].pending), (None, false));

    // Receipts: a transaction of epoch 0 under its own checkpoint (v1), one of epoch 2
    // with the two links (v2); both verify with the genesis alone.
    let r0 = c.ledger.receipt(&b0.txs[0].hash()).unwrap().unwrap();
    assert!(r0.epochs.is_none());
    assert_eq!(
        chancery_core::receipt::verify(&r0, g)
            .unwrap()
            .checkpoint_epoch,
        Epoch(0)
    );
    let r2 = c.ledger.receipt(&b2.txs[0].hash()).unwrap().unwrap();
    assert_eq!(r2.epochs.as_ref().map(Vec::len), Some(2));
    assert_eq!(
        chancery_core::receipt::verify(&r2, g)
            .unwrap()
            .checkpoint_epoch,
        Epoch(2)
    );

    // A scheduled epoch is pending: no link yet, listed as pending.
    let k = named_key("v0-three");
    assert_eq!(
        c.pass("three", vec![rotate("v0", &k)], &ALL),
        Outcome::Applied
    );
    let now = c.ledger.governance_now().unwrap();
    assert_eq!(now.epoch, Epoch(2));
    assert_eq!(now.pending.as_ref().map(|p| p.epoch), Some(Epoch(3)));
    assert_eq!(c.ledger.epoch_link(Epoch(2)).unwrap(), None);
    let (eps, _) = c.ledger.epochs_page(Epoch(2), 10).unwrap();
    assert_eq!(eps.len(), 2);
    assert_eq!((eps[0].end, eps[1].pending), (None, true));
    assert_eq!(eps[1].set.epoch, Epoch(3));
}

#[test]
fn proposals_are_listed_newest_first_with_their_phase() {
    let mut c = Chain::new();
    c.index = true;
    assert_eq!(
        c.pass("a", vec![add_agency("mee", &named_key("mee"))], &ALL),
        Outcome::Applied
    );
    assert_eq!(
        c.propose("mof", "b", vec![add_agency("mps", &named_key("mps"))]),
        Outcome::Applied
    );
    // With mee added there are four agencies: two rejections leave at most two
    // approvals, not more than 2/3.
    assert_eq!(c.vote("moe", "b", false), Outcome::Applied);
    assert_eq!(c.proposal("b").status, ProposalStatus::Open);
    assert_eq!(c.vote("nhc", "b", false), Outcome::Applied);
    let soon = TimestampMs(c.ledger.tip().time.0 + 1500);
    assert_eq!(
        c.propose_until("nhc", "c", vec![add_agency("mca", &named_key("mca"))], soon),
        Outcome::Applied
    );
    c.empty_blocks(2);
    assert_eq!(
        c.propose("moe", "d", vec![add_agency("mwr", &named_key("mwr"))]),
        Outcome::Applied
    );
    let ids = |p: &chancery_ledger::Page<(String, ProposalState, ProposalPhase)>| {
        p.items
            .iter()
            .map(|(i, _, _)| i.clone())
            .collect::<Vec<_>>()
    };
    let all = c.ledger.proposals(None, None, 10).unwrap();
    assert_eq!(ids(&all), ["d", "c", "b", "a"]);
    assert_eq!(
        all.items.iter().map(|(_, _, ph)| *ph).collect::<Vec<_>>(),
        [
            ProposalPhase::Open,
            ProposalPhase::Expired,
            ProposalPhase::Failed,
            ProposalPhase::Passed
        ]
    );
    assert_eq!(all.items[2].1.votes.len(), 2);
    for (phase, want) in [
        (ProposalPhase::Open, vec!["d"]),
        (ProposalPhase::Expired, vec!["c"]),
        (ProposalPhase::Passed, vec!["a"]),
        (ProposalPhase::Failed, vec!["b"]),
    ] {
        assert_eq!(
            ids(&c.ledger.proposals(Some(phase), None, 10).unwrap()),
            want
        );
    }
    // Page by page.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = c.ledger.proposals(None, cursor.as_deref(), 1).unwrap();
        seen.extend(ids(&p));
        match p.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
        assert!(seen.len() <= 4);
    }
    assert_eq!(seen, ["d", "c", "b", "a"]);
    assert!(matches!(
        c.ledger.proposals(None, Some("00"), 1),
        Err(LedgerError::BadCursor(_))
    ));
    assert_eq!(
        c.ledger.proposal("b").unwrap().map(|p| p.votes.len()),
        Some(2)
    );
    assert_eq!(c.ledger.proposal("zz").unwrap(), None);
}

/// A boundary block whose own view could not finalize it is finalized through the old
/// epoch's empty suffix blocks (docs/governance.md): the ledger keeps their headers with
/// it, its epoch link carries them and verifies from the genesis, its transactions get
/// receipts certified by the next epoch, and a replay re-derives it all. Suffix headers
/// that carry or change anything are refused.
#[test]
fn a_boundary_finalized_through_suffix_blocks_links_its_epoch_and_gets_receipts() {
    use chancery_core::receipt;
    let mut c = Chain::new();
    let new = named_key("v3-suffix");
    assert_eq!(
        c.pass("rotate", vec![rotate("v3", &new)], &ALL),
        Outcome::Applied
    );
    c.run_to_boundary();
    let officer = c.fx.signer("mof", Role::AssetOfficer).clone();
    let record = chancery_ledger::testing::fixture::register_asset("SUFFIX-1", "mof");
    let (boundary, suffix, cert) = c.boundary_with_suffix(vec![(officer, 0, record)], 2);
    let tx = boundary.txs[0].hash();
    let height = boundary.header.height;

    // Suffix headers must change nothing: one that claims a new state root is refused
    // even with a valid certificate over it, and nothing is stored.
    let mut forged = suffix.clone();
    forged[1].state_root = Digest([9; 32]);
    let forged_cert = c.fx.finalize_by(
        &Block {
            header: forged[1].clone(),
            txs: vec![],
        },
        &c.fx.validators,
    );
    let err = c
        .ledger
        .apply_by_descendant(&boundary, &forged_cert, &forged)
        .unwrap_err();
    assert!(
        matches!(&err, LedgerError::Certificate(m) if m.contains("state_root")),
        "{err}"
    );
    assert_eq!(c.ledger.tip().height.next(), height);

    c.ledger
        .apply_by_descendant(&boundary, &cert, &suffix)
        .unwrap();
    assert_eq!(c.ledger.block_suffix(height).unwrap(), suffix);
    // Read back with its certificate, which signs the last suffix header.
    assert_eq!(
        c.ledger.block(height).unwrap().unwrap(),
        (boundary.clone(), cert.clone())
    );
    assert_eq!(c.ledger.block_suffix(Height(height.0 - 1)).unwrap(), vec![]);

    // The link carries the suffix and proves the next set from the genesis.
    let link = c.ledger.epoch_link(Epoch(0)).unwrap().unwrap();
    assert_eq!(link.suffix, suffix);
    assert_eq!(link.certificate, cert);
    let set1 = c.ledger.validator_set_of_epoch(Epoch(1)).unwrap().unwrap();
    let proven = verify_epoch_chain(&c.fx.genesis, std::slice::from_ref(&link)).unwrap();
    assert_eq!(proven.set(), &set1);
    // Without its suffix the link does not verify (the certificate signs another header).
    let mut bare = link.clone();
    bare.suffix.clear();
    assert!(verify_epoch_chain(&c.fx.genesis, &[bare]).is_err());

    // No block carries its own certificate yet: the boundary's transaction has no receipt.
    assert!(c.ledger.receipt(&tx).is_err());
    c.keys.insert("v3".into(), new);
    let (_, first) = c.block(vec![]);
    assert_eq!(first.header.epoch, Epoch(1));
    let cp = c.ledger.checkpoint(height).unwrap();
    assert_eq!(
        cp.header.height, first.header.height,
        "certified by the next epoch"
    );
    let r = c.ledger.receipt(&tx).unwrap().unwrap();
    let summary = receipt::verify(&r, &c.fx.genesis).unwrap();
    assert_eq!(summary.height, height);

    // A reopened ledger and a full re-derivation from the blocks agree.
    let tip = c.ledger.tip();
    drop(c.ledger);
    let again = Ledger::open(c.store.clone(), &c.fx.genesis).unwrap();
    assert_eq!(again.tip(), tip);
    assert_eq!(again.epoch_link(Epoch(0)).unwrap(), Some(link));
    let report = check(c.store.clone(), Arc::new(MemStore::new())).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

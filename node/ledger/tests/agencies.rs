//! Agencies and admin keys changed by governance, as the reads see them: the admin keys a
//! passed proposal registers are listed with their agency's members (and the ones it
//! revokes are shown revoked), and `Ledger::agencies` lists the agencies proposals added,
//! removed ones marked with the proposal and block that removed them.

use chancery_core::block::Outcome;
use chancery_core::governance::Change;
use chancery_core::record::Role;
use chancery_core::{AgencyId, PublicKey};
use chancery_ledger::testing::fixture::named_key;
use chancery_ledger::testing::governed::{add_agency, Chain, ALL};
use chancery_ledger::{check, Ledger};
use chancery_storage::MemStore;
use std::sync::Arc;

/// The members of `agency` as the index lists them: (key, revoked, roles).
fn members(l: &Ledger, agency: &str) -> Vec<(PublicKey, bool, Vec<Role>)> {
    let p = l.members(&AgencyId(agency.into()), None, 100).unwrap();
    assert!(p.next.is_none());
    p.items
        .into_iter()
        .map(|(k, m)| (k, m.revoked, m.roles))
        .collect()
}

#[test]
fn admin_keys_registered_by_a_passed_proposal_are_listed_with_their_agency() {
    let mut c = Chain::new();
    c.index = true;
    let mee = named_key("mee-admin");
    assert!(members(&c.ledger, "mee").is_empty());
    assert_eq!(
        c.pass("add-mee", vec![add_agency("mee", &mee)], &ALL),
        Outcome::Applied
    );
    // Before the indexer knew what a passing vote does, this list was empty.
    assert_eq!(
        members(&c.ledger, "mee"),
        vec![(mee.public(), false, vec![Role::Admin])]
    );

    // New admin keys for a genesis agency: the new one is listed, the dropped one revoked.
    let old = c.fx.signer("moe", Role::Admin).public();
    let new = named_key("moe-admin-2");
    let before = members(&c.ledger, "moe");
    assert!(before.iter().any(|(k, revoked, _)| *k == old && !revoked));
    let set = Change::SetAdminKeys {
        agency: AgencyId("moe".into()),
        admin_keys: vec![new.public()],
    };
    assert_eq!(c.pass("moe-keys", vec![set], &ALL), Outcome::Applied);
    let after = members(&c.ledger, "moe");
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert!(after.contains(&(new.public(), false, vec![Role::Admin])));
    assert!(after.iter().any(|(k, revoked, _)| *k == old && *revoked));

    // A reindex from the log writes the same entries, and the integrity check (which
    // rebuilds the index of a replay) finds nothing to say.
    let mee_members = members(&c.ledger, "mee");
    c.ledger.reindex().unwrap();
    assert_eq!(members(&c.ledger, "mee"), mee_members);
    assert_eq!(members(&c.ledger, "moe"), after);
    let report = check(c.store.clone(), Arc::new(MemStore::new())).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// One proposal adds an agency and then replaces its admin key, and another passes in the
/// same block: each key is listed once, the replaced one revoked.
#[test]
fn changes_passed_together_index_each_key_once() {
    let mut c = Chain::new();
    c.index = true;
    let k1 = named_key("mps-1");
    let k2 = named_key("mps-2");
    let k3 = named_key("mem-1");
    let both = vec![
        add_agency("mps", &k1),
        Change::SetAdminKeys {
            agency: AgencyId("mps".into()),
            admin_keys: vec![k2.public()],
        },
    ];
    assert_eq!(c.propose("mof", "add-set", both), Outcome::Applied);
    assert_eq!(
        c.propose("moe", "add-2", vec![add_agency("mem", &k3)]),
        Outcome::Applied
    );
    for id in ["add-set", "add-2"] {
        for a in ["mof", "moe"] {
            assert_eq!(c.vote(a, id, true), Outcome::Applied);
        }
    }
    let vote = |id: &str| {
        chancery_core::record::Record::Vote(chancery_core::record::Vote {
            proposal_id: id.into(),
            approve: true,
        })
    };
    let (o, _) = c.block(vec![
        (c.admin("nhc"), vote("add-set")),
        (c.admin("nhc"), vote("add-2")),
    ]);
    assert_eq!(o, vec![Outcome::Applied; 2]);
    for id in ["add-set", "add-2"] {
        assert!(
            matches!(
                c.proposal(id).status,
                chancery_core::governance::ProposalStatus::Passed { .. }
            ),
            "{id}: {:?}",
            c.proposal(id).status
        );
    }
    let mut want = vec![
        (k1.public(), true, vec![Role::Admin]),
        (k2.public(), false, vec![Role::Admin]),
    ];
    want.sort();
    assert_eq!(members(&c.ledger, "mps"), want);
    assert_eq!(
        members(&c.ledger, "mem"),
        vec![(k3.public(), false, vec![Role::Admin])]
    );
}

#[test]
fn agencies_lists_added_agencies_and_marks_removed_ones() {
    let mut c = Chain::new();
    c.index = true;
    let genesis: Vec<String> =
        c.fx.genesis
            .agencies
            .iter()
            .map(|a| a.id.to_string())
            .collect();
    let ids = |l: &Ledger| -> Vec<String> {
        l.agencies()
            .unwrap()
            .into_iter()
            .map(|a| a.id.to_string())
            .collect()
    };
    assert_eq!(ids(&c.ledger), genesis);
    assert!(c
        .ledger
        .agencies()
        .unwrap()
        .iter()
        .all(|a| a.genesis && a.added.is_none() && a.removed.is_none() && !a.state.removed));

    let mee = named_key("mee-admin");
    assert_eq!(
        c.pass("add-mee", vec![add_agency("mee", &mee)], &ALL),
        Outcome::Applied
    );
    let added_at = c.ledger.tip().height;
    let mut want = genesis.clone();
    want.push("mee".into());
    assert_eq!(ids(&c.ledger), want);
    let e = c
        .ledger
        .agency_entry(&AgencyId("mee".into()))
        .unwrap()
        .unwrap();
    assert!(!e.genesis && !e.state.removed && e.removed.is_none());
    assert_eq!(e.state.admin_keys, vec![mee.public()]);
    assert_eq!(e.state.name_en, "Ministry mee");
    let a = e.added.unwrap();
    assert_eq!((a.proposal.as_str(), a.height), ("add-mee", added_at));

    // Removed: still listed, marked, with the proposal and the block.
    let rm = Change::RemoveAgency {
        id: AgencyId("mee".into()),
    };
    assert_eq!(c.pass("rm-mee", vec![rm], &ALL), Outcome::Applied);
    let removed_at = c.ledger.tip().height;
    assert_eq!(ids(&c.ledger), want);
    let e = c
        .ledger
        .agency_entry(&AgencyId("mee".into()))
        .unwrap()
        .unwrap();
    assert!(e.state.removed);
    let r = e.removed.unwrap();
    assert_eq!((r.proposal.as_str(), r.height), ("rm-mee", removed_at));
    assert_eq!(e.added.unwrap().proposal, "add-mee");

    // Genesis agencies stay what they were (every one of the fixture runs a validator,
    // so none can be removed here).
    let moe = c
        .ledger
        .agency_entry(&AgencyId("moe".into()))
        .unwrap()
        .unwrap();
    assert!(moe.genesis && !moe.state.removed && moe.added.is_none() && moe.removed.is_none());
    assert!(c
        .ledger
        .agency_entry(&AgencyId("nobody".into()))
        .unwrap()
        .is_none());
}

//! Helpers shared by the fuzz targets: the fixed genesis the verifiers check against, and
//! the round-trip assertions every decoder target makes.
//!
//! The genesis is the ledger test fixture's (`chancery_ledger::testing::fixture`), written
//! to `fixtures/genesis.json` by the seed generator (`seeds/`), so the seed receipts,
//! checkpoints and epoch links verify against it and the fuzzer starts from inputs that
//! reach the end of each verifier.

#![forbid(unsafe_code)]
use chancery_core::codec::{self, Canonical};
use chancery_core::genesis::Genesis;
use std::fmt::Debug;
use std::sync::OnceLock;

/// The genesis of the seed corpora (the ledger fixture's consortium).
pub fn genesis() -> &'static Genesis {
    static GENESIS: OnceLock<Genesis> = OnceLock::new();
    GENESIS.get_or_init(|| {
        let text = include_str!("../fixtures/genesis.json");
        match serde_json::from_str(text) {
            Ok(g) => g,
            // A broken fixture is a broken build of the fuzzer, not a finding.
            Err(e) => panic!("fixtures/genesis.json does not parse: {e}"),
        }
    })
}

/// Decode `data` as a canonical `T`. When accepted, check the differential properties:
/// re-encoding gives back exactly `data`, and decoding that again gives the same value.
pub fn canonical<T: Canonical + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let value: T = codec::decode(data).ok()?;
    let again = codec::encode(&value);
    assert_eq!(
        again,
        data,
        "{}: re-encoding changed accepted bytes",
        T::NAME
    );
    match codec::decode::<T>(&again) {
        Ok(v) => assert_eq!(v, value, "{}: decode(encode(v)) != v", T::NAME),
        Err(e) => panic!("{}: re-encoded bytes refused: {e}", T::NAME),
    }
    Some(value)
}

/// A value that parsed from JSON serialises to JSON that parses back to the same value.
pub fn json_round_trip<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + Debug,
{
    let text = match serde_json::to_vec(value) {
        Ok(t) => t,
        Err(e) => panic!("serialising an accepted value failed: {e}"),
    };
    match serde_json::from_slice::<T>(&text) {
        Ok(v) => assert_eq!(&v, value, "JSON round trip changed the value"),
        Err(e) => panic!("JSON written for an accepted value does not parse: {e}"),
    }
}

/// The ledger the HTTP target serves: the fixture's consortium with records of several
/// kinds, a passed governance proposal and an epoch change (built once per process).
pub mod ledger {
    use chancery_core::record::Role;
    use chancery_ledger::testing::fixture::{anchor, named_key, register_asset};
    use chancery_ledger::testing::governed::{add_agency, Chain, ALL};

    /// Build the chain (the same history as the seed generator's).
    pub fn chain() -> Chain {
        let mut chain = Chain::new();
        // Index every block as it is applied, as a node's indexer does.
        chain.index = true;
        let officer = chain.fx.signer("mof", Role::AssetOfficer).clone();
        let archivist = chain.fx.signer("moe", Role::Archivist).clone();
        chain.block(vec![
            (officer.clone(), register_asset("A-1", "mof")),
            (archivist.clone(), anchor("one")),
        ]);
        chain.block(vec![(archivist.clone(), anchor("two"))]);
        chain.empty_blocks(1);
        let newcomer = named_key("admin-audit");
        chain.pass("add-audit", vec![add_agency("audit", &newcomer)], &ALL);
        chain.rotate_to_next_epoch("v1", "seed");
        chain.block(vec![(officer, anchor("three"))]);
        chain
    }
}

//! Building genesis documents from consortium descriptions: the example, determinism, and
//! every validation error naming its file and entry.

use chancery_genesis::keyfile::{generate_key, write_public_key_file, KeyKind};
use chancery_genesis::rules::Rules;
use chancery_genesis::spec::BuildError;
use chancery_genesis::{build_from_file, load_genesis, write_genesis};
use std::path::{Path, PathBuf};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/consortium.toml")
}

#[test]
fn example_builds_and_matches_the_committed_genesis() {
    let g = build_from_file(&example(), Rules::PRODUCTION).unwrap();
    assert_eq!(g.chain_name, "chancery-beijing");
    let ids: Vec<&str> = g.agencies.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["mof", "ndrc", "nda", "cnao"]);
    assert_eq!(g.validators.len(), 4);
    assert_eq!(g.validators.quorum_power(), 3);
    assert_eq!(g.validators.fault_power(), 1);
    // 2026-12-01T09:00:00+08:00 is 01:00 UTC.
    assert_eq!(g.genesis_time.0, 1_796_086_800_000);

    // The committed genesis.json pins the encoding: any change to it must be deliberate.
    let pinned_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/genesis.json");
    let pinned = load_genesis(&pinned_path).unwrap();
    assert_eq!(
        pinned, g,
        "examples/genesis.json is stale: rebuild it from consortium.toml"
    );
    let pinned_id = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/chain-id.txt"),
    )
    .unwrap();
    assert_eq!(g.chain_id().to_hex(), pinned_id.trim());
}

#[test]
fn same_description_same_chain_id_and_one_character_changes_it() {
    let a = build_from_file(&example(), Rules::PRODUCTION).unwrap();
    let b = build_from_file(&example(), Rules::PRODUCTION).unwrap();
    assert_eq!(a.chain_id(), b.chain_id());

    // Copy the example beside its keys with one character changed.
    let text = std::fs::read_to_string(example()).unwrap();
    assert!(text.contains("Ministry of Finance"));
    let changed = text.replacen("Ministry of Finance", "Ministry of Financf", 1);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let tmp = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile_in(&dir)
        .unwrap();
    std::fs::write(tmp.path(), changed).unwrap();
    let c = build_from_file(tmp.path(), Rules::PRODUCTION).unwrap();
    assert_ne!(a.chain_id(), c.chain_id());

    // JSON round trip keeps the chain id.
    let out = tempfile::tempdir().unwrap();
    let p = out.path().join("genesis.json");
    write_genesis(&p, &a).unwrap();
    assert_eq!(load_genesis(&p).unwrap().chain_id(), a.chain_id());
}

/// A valid description with fresh inline keys, in a temporary directory.
struct Fixture {
    dir: tempfile::TempDir,
    keys: Vec<String>,
}

impl Fixture {
    fn new() -> Fixture {
        let keys = (0..12)
            .map(|_| {
                generate_key(chancery_core::suite::Suite::default())
                    .unwrap()
                    .public()
                    .to_hex()
            })
            .collect();
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            keys,
        }
    }

    fn text(&self) -> String {
        let k = &self.keys;
        let mut s = String::from(
            "chain_name = \"chancery-test\"\ngenesis_time = \"2026-12-01\"\n\n[params]\ndelta_ms = 400\n",
        );
        for (i, (id, zh, en)) in [
            ("mof", "财政部", "Ministry of Finance"),
            (
                "ndrc",
                "国家发展和改革委员会",
                "National Development and Reform Commission",
            ),
        ]
        .iter()
        .enumerate()
        {
            s += &format!(
                "\n[[agencies]]\nid = \"{id}\"\nname_zh = \"{zh}\"\nname_en = \"{en}\"\nadmin_keys = [\"{}\"]\n",
                k[i]
            );
        }
        for (i, (name, agency)) in [
            ("mof-1", "mof"),
            ("mof-2", "mof"),
            ("ndrc-1", "ndrc"),
            ("ndrc-2", "ndrc"),
        ]
        .iter()
        .enumerate()
        {
            s += &format!(
                "\n[[validators]]\nname = \"{name}\"\nagency = \"{agency}\"\nconsensus_key = \"{}\"\nnetwork_key = \"{}\"\npower = 1\n",
                k[2 + 2 * i],
                k[3 + 2 * i]
            );
        }
        s += &format!(
            "\n[[members]]\nagency = \"mof\"\nname = \"王芳\"\nkey = \"{}\"\nroles = [\"procurement_officer\", \"asset_officer\"]\n",
            k[10]
        );
        s
    }

    fn build(
        &self,
        text: &str,
        rules: Rules,
    ) -> Result<chancery_core::genesis::Genesis, BuildError> {
        let p = self.dir.path().join("consortium.toml");
        std::fs::write(&p, text).unwrap();
        build_from_file(&p, rules)
    }

    /// Build `text`, expect an error, check it names the file and every `needle`.
    fn fails(&self, text: &str, needles: &[&str]) -> String {
        let err = self
            .build(text, Rules::PRODUCTION)
            .expect_err("the description must be rejected")
            .to_string();
        assert!(
            err.contains("consortium.toml"),
            "error must name the file: {err}"
        );
        for n in needles {
            assert!(err.contains(n), "error must mention {n:?}: {err}");
        }
        err
    }
}

#[test]
fn fixture_is_valid_and_roles_are_sorted() {
    let f = Fixture::new();
    let g = f.build(&f.text(), Rules::PRODUCTION).unwrap();
    assert_eq!(g.validators.len(), 4);
    assert_eq!(g.params.delta_ms, 400);
    use chancery_core::record::Role;
    assert_eq!(
        g.members[0].roles,
        vec![Role::AssetOfficer, Role::ProcurementOfficer]
    );
}

#[test]
fn duplicate_agency_id_names_the_entry() {
    let f = Fixture::new();
    let t = f.text().replacen("id = \"ndrc\"", "id = \"mof\"", 1);
    f.fails(&t, &["agencies[1] \"mof\"", "agency ids unique"]);
}

#[test]
fn reused_key_names_both_entries() {
    let f = Fixture::new();
    // The member reuses validator ndrc-1's network key.
    let t = f.text().replace(&f.keys[10], &f.keys[7]);
    f.fails(
        &t,
        &[
            "members[0] \"王芳\".key",
            "validators[2] \"ndrc-1\".network_key",
            "used once",
        ],
    );
    // An admin key reused as a consensus key.
    let t = f.text().replace(&f.keys[2], &f.keys[0]);
    f.fails(
        &t,
        &[
            "validators[0] \"mof-1\".consensus_key",
            "agencies[0] \"mof\".admin_keys[0]",
        ],
    );
}

#[test]
fn unknown_agency_names_the_entry() {
    let f = Fixture::new();
    let t = f
        .text()
        .replacen("agency = \"ndrc\"", "agency = \"nda\"", 1);
    f.fails(
        &t,
        &[
            "validators[2] \"ndrc-1\".agency",
            "\"nda\"",
            "agency listed",
        ],
    );
    let t = f.text().replace(
        "agency = \"mof\"\nname = \"王芳\"",
        "agency = \"cnao\"\nname = \"王芳\"",
    );
    f.fails(&t, &["members[0] \"王芳\".agency", "\"cnao\""]);
}

#[test]
fn unknown_role_names_the_entry_and_lists_the_known_ones() {
    let f = Fixture::new();
    let t = f.text().replace("\"asset_officer\"]", "\"auditor\"]");
    f.fails(
        &t,
        &[
            "members[0] \"王芳\".roles[1]",
            "\"auditor\"",
            "data_steward",
        ],
    );
    let t = f
        .text()
        .replace("\"asset_officer\"]", "\"procurement_officer\"]");
    f.fails(&t, &["members[0] \"王芳\".roles[1]", "each role once"]);
}

#[test]
fn zero_power_names_the_entry() {
    let f = Fixture::new();
    let t = replace_nth(&f.text(), "power = 1", "power = 0", 1);
    f.fails(&t, &["validators[1] \"mof-2\".power", "at least 1"]);
}

#[test]
fn fewer_than_four_validators_need_dev() {
    let f = Fixture::new();
    let text = f.text();
    let cut = text.find("\n[[validators]]\nname = \"ndrc-2\"").unwrap();
    let members = text.find("\n[[members]]").unwrap();
    let three = format!("{}{}", &text[..cut], &text[members..]);
    f.fails(&three, &["validators", "at least 4", "--dev", "found 3"]);
    let g = f.build(&three, Rules::DEV).unwrap();
    assert_eq!(g.validators.len(), 3);
}

#[test]
fn duplicate_validator_name_names_the_entry() {
    let f = Fixture::new();
    let t = f
        .text()
        .replacen("name = \"ndrc-2\"", "name = \"ndrc-1\"", 1);
    f.fails(&t, &["validators[3] \"ndrc-1\"", "names unique"]);
}

#[test]
fn bad_keys_name_the_entry() {
    let f = Fixture::new();
    // Upper-case hex is not the canonical form.
    let t = f.text().replace(&f.keys[4], &f.keys[4].to_uppercase());
    f.fails(&t, &["validators[1] \"mof-2\".consensus_key"]);
    // A path that does not exist.
    let t = f.text().replace(&f.keys[5], "keys/missing.pub");
    f.fails(&t, &["validators[1] \"mof-2\".network_key", "missing.pub"]);
    // A key file of the wrong kind.
    let p = f.dir.path().join("c.pub");
    write_public_key_file(
        &p,
        KeyKind::Consensus,
        &generate_key(chancery_core::suite::Suite::default())
            .unwrap()
            .public(),
    )
    .unwrap();
    let t = f.text().replace(&f.keys[5], "c.pub");
    f.fails(
        &t,
        &[
            "validators[1] \"mof-2\".network_key",
            "expected a network key",
        ],
    );
    // A key file of the right kind works, relative to the description.
    let p = f.dir.path().join("n.pub");
    let k = generate_key(chancery_core::suite::Suite::default())
        .unwrap()
        .public();
    write_public_key_file(&p, KeyKind::Network, &k).unwrap();
    let t = f.text().replace(&f.keys[5], "n.pub");
    let g = f.build(&t, Rules::PRODUCTION).unwrap();
    assert_eq!(g.validators.validators[1].network_key.as_public_key(), k);
    // Not a point on the curve (y = 2 has no x).
    let mut not_a_point = "02".to_string();
    not_a_point.push_str(&"00".repeat(31));
    let t = f.text().replace(&f.keys[10], &not_a_point);
    f.fails(&t, &["members[0] \"王芳\".key", "valid Ed25519"]);
}

#[test]
fn bad_time_params_names_and_syntax_are_reported() {
    let f = Fixture::new();
    let t = f.text().replace("\"2026-12-01\"", "\"2026-13-01\"");
    f.fails(&t, &["genesis_time", "RFC 3339"]);
    let t = f
        .text()
        .replace("\"2026-12-01\"", "\"2026-12-01T09:00:00\"");
    f.fails(&t, &["genesis_time"]);
    // A bare TOML date-time with an offset is accepted.
    let t = f
        .text()
        .replace("\"2026-12-01\"", "2026-12-01T09:00:00+08:00");
    assert_eq!(
        f.build(&t, Rules::PRODUCTION).unwrap().genesis_time.0,
        1_796_086_800_000
    );
    let t = f.text().replace("delta_ms = 400", "delta_ms = 0");
    f.fails(&t, &["params.delta_ms", "1..=60000"]);
    let t = f
        .text()
        .replace("delta_ms = 400", "block_txs_max = 1000000");
    f.fails(&t, &["params.block_txs_max"]);
    let t = f.text().replace("delta_ms = 400", "delta = 400");
    f.fails(&t, &["unknown field", "delta"]);
    let t = f.text().replace(
        "chain_name = \"chancery-test\"",
        "chain_name = \"chancery test\"",
    );
    f.fails(&t, &["chain_name"]);
    let t = f.text().replace("name_zh = \"财政部\"", "name_zh = \"\"");
    f.fails(&t, &["agencies[0] \"mof\".name_zh", "non-empty"]);
    let t = f.text().replace("[[validators]]", "[[validators]");
    f.fails(&t, &["not a valid consortium description"]);
    // Garbage bytes never panic.
    let e = f.fails("\u{0}\u{1}\u{2}garbage", &[]);
    assert!(!e.is_empty());
}

#[test]
fn missing_file_is_reported() {
    let err = build_from_file(Path::new("/nonexistent/consortium.toml"), Rules::PRODUCTION)
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/consortium.toml"), "{err}");
}

fn replace_nth(s: &str, from: &str, to: &str, n: usize) -> String {
    let (i, _) = s.match_indices(from).nth(n).expect("occurrence exists");
    format!("{}{}{}", &s[..i], to, &s[i + from.len()..])
}

/// Truncated and corrupted copies of the example: every one is rejected or built, none
/// panics, and a rejection always names the file.
#[test]
fn corrupted_descriptions_never_panic() {
    let text = std::fs::read(example()).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let tmp = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile_in(&dir)
        .unwrap();
    let name = tmp
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let mut rejected = 0;
    for (i, cut) in (0..text.len()).step_by(97).enumerate() {
        let mut bad = text[..cut].to_vec();
        // Also flip one byte further on, into a different character.
        let mut flipped = text.clone();
        let at = (cut + 13 * i) % text.len();
        flipped[at] = flipped[at].wrapping_add(1 + (i as u8 % 7));
        for variant in [std::mem::take(&mut bad), flipped] {
            std::fs::write(tmp.path(), &variant).unwrap();
            if let Err(e) = build_from_file(tmp.path(), Rules::PRODUCTION) {
                rejected += 1;
                assert!(e.to_string().contains(&name), "{e}");
            }
        }
    }
    assert!(
        rejected > 20,
        "most corruptions must be rejected, only {rejected} were"
    );
}

/// The governance policy comes from `[params]`: a threshold written as a fraction or a
/// table, and the epoch delay; absent, the kernel's defaults (2/3, 2 blocks).
#[test]
fn the_governance_policy_is_set_in_params_and_defaults_when_absent() {
    use chancery_core::genesis::ChainParams;
    use chancery_core::governance::Threshold;
    let f = Fixture::new();
    let g = f.build(&f.text(), Rules::PRODUCTION).unwrap();
    let d = ChainParams::default();
    assert_eq!(
        (g.params.governance_threshold, g.params.epoch_delay_blocks),
        (d.governance_threshold, d.epoch_delay_blocks)
    );
    let with = |lines: &str| {
        f.text()
            .replace("delta_ms = 400", &format!("delta_ms = 400\n{lines}"))
    };
    let g = f
        .build(
            &with("governance_threshold = \"1/2\"\nepoch_delay_blocks = 7"),
            Rules::PRODUCTION,
        )
        .unwrap();
    let half = Threshold {
        numerator: 1,
        denominator: 2,
    };
    assert_eq!(g.params.governance_threshold, half);
    assert_eq!(g.params.epoch_delay_blocks, 7);
    let default_id = f.build(&f.text(), Rules::PRODUCTION).unwrap().chain_id();
    assert_ne!(
        g.chain_id(),
        default_id,
        "the policy is part of the chain id"
    );
    let g = f
        .build(
            &with("governance_threshold = { numerator = 3, denominator = 4 }"),
            Rules::PRODUCTION,
        )
        .unwrap();
    assert_eq!(
        g.params.governance_threshold,
        Threshold {
            numerator: 3,
            denominator: 4
        }
    );
    // The defaults written out build the same genesis as nothing written.
    let g = f
        .build(
            &with("governance_threshold = \"2/3\"\nepoch_delay_blocks = 2"),
            Rules::PRODUCTION,
        )
        .unwrap();
    assert_eq!(g.chain_id(), default_id);

    // Each bad value names the field, what was expected and what was found.
    let t = "params.governance_threshold";
    for (bad, found) in [
        ("\"3/3\"", "found 3/3"),
        ("\"4/3\"", "found 4/3"),
        ("\"1/0\"", "found 1/0"),
        ("\"1/2000000\"", "found 1/2000000"),
        ("\"two thirds\"", "found \"two thirds\""),
        ("\"2/-3\"", "found \"2/-3\""),
        ("{ numerator = -1, denominator = 3 }", "found -1/3"),
    ] {
        f.fails(
            &with(&format!("governance_threshold = {bad}")),
            &[t, "a fraction N/D", found],
        );
    }
    f.fails(
        &with("governance_threshold = 0.66"),
        &["governance_threshold", "a fraction such as \"2/3\""],
    );
    f.fails(
        &with("governance_threshold = { numerator = 2, denominator = 3, extra = 1 }"),
        &["governance_threshold"],
    );
    for bad in ["0", "10001"] {
        f.fails(
            &with(&format!("epoch_delay_blocks = {bad}")),
            &[
                "params.epoch_delay_blocks",
                "1..=10000",
                &format!("found {bad}"),
            ],
        );
    }
}

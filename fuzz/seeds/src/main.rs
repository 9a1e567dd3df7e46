//! Writes the seed corpora of the fuzz targets (`fuzz/corpus/<target>/`) and the genesis
//! they verify against (`fuzz/fixtures/genesis.json`), from the ledger's test fixtures: a
//! chain with transactions of several kinds, governance that changes the epoch (for v2
//! receipts and epoch links), consensus messages signed by the fixture's validators.
//!
//! Deterministic: the same tree gives the same files (names are the BLAKE3 of the
//! content, as libFuzzer names corpus files by content). Run from the repository root:
//! `cargo run --manifest-path fuzz/seeds/Cargo.toml -- fuzz`.

use chancery_consensus::wire::{Block as CBlock, Evidence, Message, Proposal, ProposalMsg, Vote};
use chancery_core::block::Block;
use chancery_core::cert::VoteKind;
use chancery_core::codec;
use chancery_core::ids::{Digest, Epoch, Height, View};
use chancery_core::receipt::Receipt;
use chancery_core::record::Role;
use chancery_core::state::StateKey;
use chancery_genesis::document::to_json;
use chancery_ledger::testing::fixture::{anchor, named_key, register_asset};
use chancery_ledger::testing::governed::{add_agency, Chain, ALL};
use std::path::{Path, PathBuf};

/// Writes files named by content into `corpus/<target>/`.
struct Out {
    root: PathBuf,
    written: usize,
}

impl Out {
    fn put(&mut self, target: &str, bytes: &[u8]) {
        let dir = self.root.join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("create the corpus folder");
        let name = hex::encode(&chancery_core::domain::DOCUMENT_HASH.hash(bytes).0[..20]);
        std::fs::write(dir.join(name), bytes).expect("write a seed");
        self.written += 1;
    }
}

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "fuzz".into());
    let root = Path::new(&root).to_path_buf();
    let mut out = Out {
        root: root.clone(),
        written: 0,
    };

    // A chain of epoch 0 with transactions of several kinds.
    let mut chain = Chain::new();
    let genesis = chain.fx.genesis.clone();
    std::fs::create_dir_all(root.join("fixtures")).expect("create fixtures/");
    std::fs::write(root.join("fixtures/genesis.json"), to_json(&genesis)).expect("write genesis");
    out.put("genesis", &codec::encode(&genesis));
    out.put("genesis_json", to_json(&genesis).as_bytes());

    let officer = chain.fx.signer("mof", Role::AssetOfficer).clone();
    let archivist = chain.fx.signer("moe", Role::Archivist).clone();
    let mut blocks: Vec<Block> = Vec::new();
    let (_, b) = chain.block(vec![
        (officer.clone(), register_asset("A-1", "mof")),
        (archivist.clone(), anchor("one")),
    ]);
    blocks.push(b);
    let (_, b) = chain.block(vec![(archivist.clone(), anchor("two"))]);
    blocks.push(b);
    blocks.extend(chain.empty_blocks(1));

    // Governance: add an agency (a proposal and votes), then rotate a key to epoch 1.
    let newcomer = named_key("admin-audit");
    chain.pass("add-audit", vec![add_agency("audit", &newcomer)], &ALL);
    let epoch = chain.rotate_to_next_epoch("v1", "seed");
    assert_eq!(epoch, Epoch(1));
    let (_, b) = chain.block(vec![(officer.clone(), anchor("three"))]);
    blocks.push(b);

    let ledger = chain.ledger.clone();
    let tip = ledger.tip().height;
    for h in 1..=tip.0 {
        let (block, cert) = ledger.block(Height(h)).expect("read").expect("a block");
        out.put("block", &codec::encode(&block));
        out.put("block_header", &codec::encode(&block.header));
        out.put("certificate", &codec::encode(&cert));
        for tx in &block.txs {
            out.put("tx", &tx.to_bytes());
        }
        if let Ok(cp) = ledger.checkpoint(Height(h)) {
            out.put("checkpoint", &codec::encode(&cp));
            if cp.header.epoch == Epoch(0) {
                if let Ok(text) = cp.to_text(&genesis.validators) {
                    out.put("checkpoint_text", text.as_bytes());
                }
            }
            // Receipts of every transaction of the block (v1 in epoch 0, v2 after).
            for tx in &block.txs {
                if let Ok(Some(r)) = ledger.receipt(&tx.hash()) {
                    put_receipt(&mut out, &r);
                }
            }
        }
    }
    for e in 0..1 {
        if let Ok(Some(link)) = ledger.epoch_link(Epoch(e)) {
            out.put("epoch_link", &codec::encode(&link));
        }
    }

    // State proofs (presence and absence) and their bundles, at the tip and in epoch 0.
    let keys = [
        StateKey::Asset("A-1".into()),
        StateKey::Asset("no-such-asset".into()),
        StateKey::Seq(officer.public()),
        StateKey::Governance,
        StateKey::Proposal("add-audit".into()),
        StateKey::EpochSet(Epoch(1)),
    ];
    for key in &keys {
        for at in [Some(Height(2)), None] {
            let Ok((proof, cp)) = ledger.state_proof(key, at) else {
                continue;
            };
            out.put("state_proof", &codec::encode(&proof));
            let links = ledger.epoch_links(cp.header.epoch).expect("links");
            let mut bundle = serde_json::json!({
                "proof": proof,
                "proof_hex": hex::encode(codec::encode(&proof)),
                "checkpoint": hex::encode(codec::encode(&cp)),
                "height": cp.header.height.0,
                "state_root": cp.header.state_root.to_hex(),
            });
            if !links.is_empty() {
                bundle["epochs"] = links
                    .iter()
                    .map(|l| hex::encode(codec::encode(l)))
                    .collect();
            }
            out.put(
                "state_bundle_json",
                serde_json::to_string_pretty(&bundle)
                    .expect("json")
                    .as_bytes(),
            );
        }
    }

    http_seeds(&mut out, &blocks);
    consensus_seeds(&mut out, &chain, &blocks);
    genesis_text_seeds(&mut out, &root);
    merkle_seeds(&mut out);
    sync_seeds(&mut out, &ledger, &genesis);
    eprintln!("wrote {} seed files under {}", out.written, root.display());
}

/// Requests to the API and explorer routes (the `http_request` target's input: a method
/// byte, 0 for GET and 5 for POST, the request target, a newline, a body), with values of
/// the fixture chain.
fn http_seeds(out: &mut Out, blocks: &[Block]) {
    let tx = blocks[0].txs[0].hash().to_hex();
    let key = hex::encode(blocks[0].txs[0].body.signer.as_bytes());
    let targets = [
        "/healthz".to_string(),
        "/readyz".into(),
        "/metrics".into(),
        "/v1/status".into(),
        "/v1/agencies".into(),
        "/v1/agencies/mof".into(),
        "/v1/assets?custodian=mof&limit=2".into(),
        "/v1/assets/A-1".into(),
        "/v1/assets/A-1/history".into(),
        "/v1/awards?supplier=91110000100000000A&limit=5".into(),
        "/v1/awards/ocds-x-1/aw-1".into(),
        "/v1/blocks?limit=2&cursor=3".into(),
        "/v1/blocks/latest".into(),
        "/v1/blocks/raw?from=1&limit=3".into(),
        "/v1/blocks/2".into(),
        "/v1/checkpoints/latest".into(),
        "/v1/checkpoints/3".into(),
        "/v1/epochs?from=0&limit=2".into(),
        "/v1/evidence?limit=1".into(),
        "/v1/evidence/00".into(),
        "/v1/governance".into(),
        "/v1/governance/proposals?status=passed".into(),
        "/v1/governance/proposals/add-audit".into(),
        "/v1/grants?grantee=moe".into(),
        "/v1/grants/G1".into(),
        "/v1/members?agency=mof".into(),
        format!("/v1/members/{key}"),
        "/v1/proofs/consistency?from=1&to=4".into(),
        "/v1/proofs/inclusion?index=0&size=3".into(),
        "/v1/proofs/state/asset/A-1?height=3".into(),
        "/v1/proofs/state/grant/G1".into(),
        format!("/v1/receipts/{tx}"),
        "/v1/records?kind=register_asset&agency=mof&from=2026-01-01&to=2026-12-31".into(),
        "/v1/transactions?signer=x&limit=1".into(),
        format!("/v1/transactions/{tx}"),
        "/".into(),
        "/?lang=en".into(),
        "/agencies?lang=zh".into(),
        "/agency?id=mof".into(),
        "/asset?id=A-1".into(),
        "/award?ocid=ocds-x-1&id=aw-1".into(),
        "/awards?q=laptop&page=2".into(),
        "/blocks/2?lang=en".into(),
        "/epochs".into(),
        "/evidence".into(),
        "/genesis.json".into(),
        "/governance".into(),
        "/governance/proposal?id=add-audit".into(),
        "/grant?id=G1".into(),
        "/grants?dataset=D1".into(),
        "/ocds/records/ocds-x-1".into(),
        "/ocds/releases?limit=1".into(),
        "/search?q=A-1".into(),
        format!("/tx/{tx}"),
    ];
    for t in &targets {
        let mut input = vec![0u8];
        input.extend_from_slice(t.as_bytes());
        out.put("http_request", &input);
    }
    let mut post = vec![5u8];
    post.extend_from_slice(b"/v1/transactions\n");
    post.extend_from_slice(&blocks[0].txs[0].to_bytes());
    out.put("http_request", &post);
    let mut batch = vec![5u8];
    batch.extend_from_slice(b"/v1/transactions/batch\n[]");
    out.put("http_request", &batch);
}

fn put_receipt(out: &mut Out, r: &Receipt) {
    out.put(
        "receipt_json",
        serde_json::to_string_pretty(r).expect("json").as_bytes(),
    );
    let entry = hex::decode(&r.entry).expect("hex entry");
    out.put("log_entry", &entry);
}

/// Votes, certificates, proposals, block answers and evidence of the fixture's epoch 0.
fn consensus_seeds(out: &mut Out, chain: &Chain, blocks: &[Block]) {
    let fx = &chain.fx;
    let chain_id = fx.genesis.chain_id();
    let b = &blocks[0];
    let digest = b.header.hash(chancery_core::suite::Suite::default());
    let cblock = CBlock {
        digest,
        parent: b.header.parent,
        height: b.header.height,
        view: b.header.view,
        payload: codec::encode(b),
    };
    let leader = (b.header.view.0 % 4) as u16;
    let proposal = Proposal::sign(
        chain_id,
        Epoch(0),
        View(0),
        cblock.clone(),
        leader,
        &fx.validators[leader as usize],
    );
    let mut other_block = cblock.clone();
    other_block.digest = Digest([9; 32]);
    let other = Proposal::sign(
        chain_id,
        Epoch(0),
        View(0),
        other_block,
        leader,
        &fx.validators[leader as usize],
    );
    let vote = |kind: VoteKind, block: Digest, signer: u16| {
        Vote::sign(
            chain_id,
            Epoch(0),
            b.header.view,
            kind,
            block,
            signer,
            &fx.validators[signer as usize],
        )
    };
    let finalize = fx.finalize(b);
    let mut messages = vec![
        Message::Vote(vote(VoteKind::Notarize, digest, 0)),
        Message::Vote(vote(VoteKind::Finalize, digest, 1)),
        Message::Vote(vote(VoteKind::Nullify, Digest::ZERO, 2)),
        Message::Certificate(finalize.clone()),
        Message::BlockRequest { digest },
        Message::Block(proposal.clone()),
        Message::Proposal(ProposalMsg {
            proposal: proposal.clone(),
            parent_cert: None,
            nullifications: vec![],
        }),
    ];
    let second = &blocks[1];
    let second_block = CBlock {
        digest: second.header.hash(chancery_core::suite::Suite::default()),
        parent: digest,
        height: second.header.height,
        view: second.header.view,
        payload: codec::encode(second),
    };
    let second_leader = (second.header.view.0 % 4) as u16;
    messages.push(Message::Proposal(ProposalMsg {
        proposal: Proposal::sign(
            chain_id,
            Epoch(0),
            b.header.view,
            second_block,
            second_leader,
            &fx.validators[second_leader as usize],
        ),
        parent_cert: Some(finalize),
        nullifications: vec![],
    }));
    let evidence = [
        Evidence::Votes {
            first: vote(VoteKind::Notarize, digest, 3),
            second: vote(VoteKind::Notarize, Digest([5; 32]), 3),
        },
        Evidence::Votes {
            first: vote(VoteKind::Finalize, digest, 2),
            second: vote(VoteKind::Nullify, Digest::ZERO, 2),
        },
        Evidence::Proposals {
            first: proposal,
            second: other,
        },
    ];
    for e in &evidence {
        out.put("consensus_evidence", &codec::encode(e));
        messages.push(Message::Evidence(e.clone()));
    }
    for m in &messages {
        out.put("consensus_message", &m.encode());
        out.put(
            "consensus_frame",
            &chancery_node::compact::encode_message(m),
        );
        // Proposals travel by transaction hash too.
        if let Message::Proposal(pm) = m {
            if let Ok(block) = codec::decode::<Block>(&pm.proposal.block.payload) {
                let hashes = block.txs.iter().map(|t| t.hash()).collect();
                let c = chancery_node::compact::CompactProposal::of(pm, &block.header, hashes);
                out.put(
                    "consensus_frame",
                    &chancery_node::compact::encode_compact(&c),
                );
            }
        }
    }
}

/// The consortium description (the example with key files, and the fixture's with inline
/// keys) and node configs (a generated testnet's).
fn genesis_text_seeds(out: &mut Out, root: &Path) {
    let example = root.join("../genesis/examples/consortium.toml");
    if let Ok(text) = std::fs::read(&example) {
        out.put("genesis_toml", &text);
    }
    let fx = chancery_ledger::testing::fixture::Fixture::new();
    let g = &fx.genesis;
    let mut toml = String::new();
    toml.push_str(&format!(
        "chain_name = \"{}\"\ngenesis_time = \"2026-12-01T09:00:00+08:00\"\n\n[params]\nblock_txs_max = 10000\nblock_bytes_max = 8388608\ndelta_ms = 500\nheartbeat_ms = 5000\ngovernance_threshold = \"2/3\"\nepoch_delay_blocks = 2\n",
        g.chain_name
    ));
    for a in &g.agencies {
        toml.push_str(&format!(
            "\n[[agencies]]\nid = \"{}\"\nname_zh = \"{}\"\nname_en = \"{}\"\nadmin_keys = [{}]\n",
            a.id.0,
            a.name_zh,
            a.name_en,
            a.admin_keys
                .iter()
                .map(|k| format!("\"{}\"", hex::encode(k.as_bytes())))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for v in &g.validators.validators {
        toml.push_str(&format!(
            "\n[[validators]]\nname = \"{}\"\nagency = \"{}\"\nconsensus_key = \"{}\"\nnetwork_key = \"{}\"\npower = {}\n",
            v.name,
            v.agency.0,
            hex::encode(v.consensus_key.as_bytes()),
            hex::encode(v.network_key.as_bytes()),
            v.power
        ));
    }
    for m in g.members.iter().take(4) {
        toml.push_str(&format!(
            "\n[[members]]\nagency = \"{}\"\nkey = \"{}\"\nname = \"{}\"\nroles = [{}]\n",
            m.agency.0,
            hex::encode(m.key.as_bytes()),
            m.name,
            m.roles
                .iter()
                .map(|r| format!("\"{}\"", r.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.put("genesis_toml", toml.as_bytes());

    let dir = std::env::temp_dir().join(format!("chancery-fuzz-seeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = chancery_genesis::testnet::TestnetOptions {
        validators: 4,
        observers: 1,
        out: dir.clone(),
        base_port: 26600,
        chain_name: "chancery-fuzz".into(),
        genesis_time: g.genesis_time,
        dev: false,
        crypto: Default::default(),
    };
    let net = chancery_genesis::testnet::generate(&opts).expect("generate a testnet");
    for node in net.nodes.iter().take(2) {
        // The testnet's keys are fresh random ones: put fixed keys in their place, so the
        // seeds are the same at every run.
        let mut n = 0;
        let text: Vec<String> = node
            .config
            .to_toml()
            .lines()
            .map(|l| {
                if l.starts_with("network_key = \"") {
                    n += 1;
                    let k = named_key(&format!("net-{n}")).public();
                    format!("network_key = \"{}\"", hex::encode(k.as_bytes()))
                } else {
                    l.to_string()
                }
            })
            .collect();
        out.put("node_config", (text.join("\n") + "\n").as_bytes());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A few inputs of each mode of the Merkle target (mode byte, sizes, leaf seed, mutations).
fn merkle_seeds(out: &mut Out) {
    for mode in 0u8..8 {
        let mut small = vec![mode, 13, 5, 1, 0];
        let mut big = vec![mode];
        if mode & 4 != 0 {
            big.extend_from_slice(&(1u64 << 40).wrapping_add(12345).to_be_bytes());
            big.extend_from_slice(&777u64.to_be_bytes());
            big.extend_from_slice(&[3, 0]);
            out.put("merkle", &big);
        } else {
            out.put("merkle", &small);
            small[4] = 1;
            small.extend_from_slice(&[0, 2, 9]);
            out.put("merkle", &small);
        }
    }
}

/// The sync target: a request of every kind (for heights and epochs the fixture chain
/// has, snapshots offered every 2 blocks as the target's server does) and the chain's
/// answers to them.
fn sync_seeds(
    out: &mut Out,
    ledger: &chancery_ledger::Ledger,
    genesis: &chancery_core::genesis::Genesis,
) {
    use chancery_node::sync::{self, SyncRequest};
    let snapshots = chancery_node::statesync::SnapshotOffers::new(2);
    let recent = chancery_node::compact::RecentTxs::new();
    let wire = chancery_node::startup::wire_limits(genesis);
    let tx = ledger
        .block(Height(1))
        .ok()
        .flatten()
        .and_then(|(b, _)| b.txs.first().map(|t| t.hash()));
    let requests = [
        SyncRequest::Status,
        SyncRequest::Blocks {
            from: Height(1),
            max: 4,
        },
        SyncRequest::Txs {
            hashes: tx.into_iter().collect(),
        },
        SyncRequest::SnapshotOffer,
        SyncRequest::EpochLinks {
            from: Epoch(0),
            max: 4,
        },
        SyncRequest::SnapshotManifest { height: Height(4) },
        SyncRequest::SnapshotChunk {
            height: Height(4),
            index: 0,
        },
        SyncRequest::SnapshotLogPiece {
            height: Height(4),
            index: 0,
        },
    ];
    for req in &requests {
        let bytes = codec::encode(req);
        out.put("sync", &bytes);
        if let Some(answer) = sync::answer(
            ledger,
            &recent,
            &snapshots,
            &bytes,
            wire.sync_blocks_bytes_max,
        ) {
            out.put("sync", &answer);
        }
    }
}

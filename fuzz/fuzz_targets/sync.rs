//! The sync protocol (`node/daemon/src/sync.rs`): a peer's catch-up and state-sync
//! requests and answers. Differential: bytes accepted as a `SyncRequest` or a
//! `SyncResponse` re-encode to exactly themselves. Server side: any bytes a peer sends as a
//! request are answered by `sync::answer` over an in-memory ledger of the fixture (records,
//! governance, an epoch change, snapshot offers every 2 blocks) without a panic, and an
//! answer, when there is one, decodes as a `SyncResponse` within the node's response limit
//! (`WireLimits::response_bytes_max`).
#![no_main]

use chancery_core::codec;
use chancery_node::compact::RecentTxs;
use chancery_node::statesync::SnapshotOffers;
use chancery_node::sync::{self, SyncRequest, SyncResponse};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Server {
    chain: chancery_ledger::testing::governed::Chain,
    recent: RecentTxs,
    snapshots: SnapshotOffers,
    wire: chancery_net::WireLimits,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let chain = chancery_fuzz::ledger::chain();
        let wire = chancery_node::startup::wire_limits(&chain.fx.genesis);
        Server {
            chain,
            recent: RecentTxs::new(),
            snapshots: SnapshotOffers::new(2),
            wire,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    chancery_fuzz::canonical::<SyncRequest>(data);
    chancery_fuzz::canonical::<SyncResponse>(data);
    let s = server();
    if let Some(answer) = sync::answer(
        &s.chain.ledger,
        &s.recent,
        &s.snapshots,
        data,
        s.wire.sync_blocks_bytes_max,
    ) {
        assert!(
            answer.len() <= s.wire.response_bytes_max,
            "an answer of {} bytes, over the limit {}",
            answer.len(),
            s.wire.response_bytes_max
        );
        if let Err(e) = codec::decode::<SyncResponse>(&answer) {
            panic!("the node's own answer does not decode: {e}");
        }
    }
});

//! Network frames (the message streams' framing, `node/net/src/wire.rs`): a frame body
//! from a peer decodes under the default limits on either channel or is refused with a
//! reason, never a panic; an accepted body re-encodes to exactly its bytes (after the
//! length prefix), and its messages respect the channel's limits.
#![no_main]

use chancery_net::{frame, Channel, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits as well as the defaults, so that the limit checks are reached.
    let small = Limits {
        batch_messages_max: 4,
        batch_bytes_max: 64,
        consensus_bytes_max: 32,
        transactions_bytes_max: 16,
        ..Limits::default()
    };
    for limits in [Limits::default(), small] {
        for channel in [Channel::Consensus, Channel::Transactions] {
            let Ok(msgs) = frame::decode(&limits, channel, data) else {
                continue;
            };
            assert!(!msgs.is_empty() && msgs.len() <= limits.batch_messages_max);
            assert!(msgs
                .iter()
                .all(|m| m.len() <= limits.message_bytes_max(channel)));
            let framed = frame::encode(&msgs).expect("an accepted frame re-encodes");
            assert_eq!(&framed[4..], data, "decode-encode changed the frame");
        }
    }
});

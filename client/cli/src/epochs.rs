//! The epoch chain as a node serves it (`GET /v1/epochs`), for the commands that verify
//! checkpoints of later epochs online (`audit`, `watch`): fetched a page at a time,
//! decoded with the kernel's codec, and verified by the caller (`VerifiedEpochs`).

use chancery_client::Client;
use chancery_core::codec;
use chancery_core::epoch::EpochLink;
use chancery_core::limits::EPOCH_LINKS_MAX;

/// Links asked for in one page (the API's largest page).
pub const EPOCH_LINKS_PAGE: u64 = 64;

/// The links that end epochs `from..upto` (fewer if the node has not reached `upto`), in
/// order. Errors name the URL and the link.
pub fn fetch_links(
    client: &Client,
    suite: chancery_core::suite::Suite,
    from: u64,
    upto: u64,
) -> Result<Vec<EpochLink>, String> {
    let upto = upto.min(EPOCH_LINKS_MAX as u64);
    let mut out = Vec::new();
    let mut next = from;
    while next < upto {
        let url = client.url(&format!("/v1/epochs?from={next}"));
        let page = client
            .epochs(next, Some(EPOCH_LINKS_PAGE.min(upto - next)))
            .map_err(|e| e.to_string())?;
        if page.items.is_empty() {
            break;
        }
        for item in &page.items {
            let bytes =
                hex::decode(&item.link).map_err(|e| format!("{url}: link {next}: not hex: {e}"))?;
            let link: EpochLink =
                codec::decode_in(suite, &bytes).map_err(|e| format!("{url}: link {next}: {e}"))?;
            if link.header.epoch.0 != next || item.epoch != next {
                return Err(format!(
                    "{url}: link {next} ends epoch {} (its view says {})",
                    link.header.epoch, item.epoch
                ));
            }
            out.push(link);
            next += 1;
            if next >= upto {
                break;
            }
        }
        if page.next.is_none() {
            break;
        }
    }
    Ok(out)
}

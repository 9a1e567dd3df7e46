//! Evidence of equivocation: `GET /v1/evidence` and `GET /v1/evidence/{id}`.
//!
//! The consensus driver stores each piece of evidence in the `Meta` column under
//! `consensus/evidence/`; the query layer lists the raw records and [`evidence_dto`] — the
//! one place that knows the consensus crate's `Evidence` type — decodes and checks them.

use crate::params::{page, short, P, Q};
use crate::reads::PageQuery;
use crate::{ApiError, ApiResult, NodeHandle};
use axum::extract::State;
use axum::Json;
use chancery_api_types::{ErrorBody, EvidenceDto, Page};
use chancery_core::codec;
use chancery_core::genesis::Genesis;
use chancery_core::validator::ValidatorSet;
use chancery_core::Epoch;
use chancery_ledger::{EvidenceRecord, LedgerError};

/// Decode one stored evidence record and verify it against the validator set of its
/// epoch (`set_of`: the ledger's sets, governance changes them). A record that does not
/// decode, or names an epoch without a set here, is shown with `verified: false` and why.
pub fn evidence_dto(
    r: &EvidenceRecord,
    genesis: &Genesis,
    set_of: impl Fn(Epoch) -> Option<ValidatorSet>,
) -> EvidenceDto {
    let mut dto = EvidenceDto {
        id: hex::encode(&r.id),
        kind: "votes".to_string(),
        epoch: 0,
        view: 0,
        culprit: 0,
        culprit_name: None,
        first: String::new(),
        second: String::new(),
        evidence: hex::encode(&r.bytes),
        verified: false,
        error: None,
        epochs: Vec::new(),
    };
    let chain_id = genesis.chain_id();
    let ev: chancery_consensus::Evidence = match codec::decode_in(genesis.crypto, &r.bytes) {
        Ok(ev) => ev,
        Err(e) => {
            dto.error = Some(format!("does not decode as evidence: {e}"));
            return dto;
        }
    };
    dto.epoch = ev.epoch().0;
    dto.view = ev.view().0;
    dto.culprit = ev.culprit();
    let (kind, first, second) = ev.encoded_parts();
    dto.kind = kind.to_string();
    dto.first = hex::encode(first);
    dto.second = hex::encode(second);
    let Some(set) = set_of(ev.epoch()) else {
        dto.error = Some(format!(
            "epoch {} has no validator set on this ledger",
            ev.epoch()
        ));
        return dto;
    };
    match ev.verify(chain_id, &set) {
        Ok(culprit) => {
            dto.culprit = culprit;
            dto.verified = true;
        }
        Err(e) => dto.error = Some(e.to_string()),
    }
    dto.culprit_name = set.get(dto.culprit).map(|v| v.name.clone());
    dto
}

/// Evidence of equivocation this node has seen: two conflicting messages signed by one
/// validator, each with `verified` (checked here against the validator set of its epoch)
/// and the canonical hex. Ordered by id. The list carries no epoch links: save
/// `GET /v1/evidence/{id}` for `chancery verify`.
#[utoipa::path(get, path = "/v1/evidence", tag = "governance", params(PageQuery),
    responses((status = 200, body = Page<EvidenceDto>), (status = 400, body = ErrorBody)))]
pub(crate) async fn evidence_list(
    State(h): State<NodeHandle>,
    Q(q): Q<PageQuery>,
) -> ApiResult<Json<Page<EvidenceDto>>> {
    let (limit, cursor) = page(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        h.limits.page_entries_max,
    )?;
    let p = h.ledger.evidence_records(cursor, limit)?;
    Ok(Json(Page {
        items: p
            .items
            .iter()
            .map(|r| evidence_dto(r, &h.genesis, |e| set_of_epoch(&h, e)))
            .collect(),
        next: p.next,
    }))
}

/// One piece of evidence by id (the `id` of the list), with the epoch links that prove
/// the set of its epoch from the genesis (`epochs`, for epochs after 0): what
/// `chancery verify` checks offline.
#[utoipa::path(get, path = "/v1/evidence/{id}", tag = "governance",
    params(("id" = String, Path, description = "evidence id (hex)")),
    responses((status = 200, body = EvidenceDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn evidence_one(
    State(h): State<NodeHandle>,
    P(id): P<String>,
) -> ApiResult<Json<EvidenceDto>> {
    let key = hex::decode(&id).map_err(|_| {
        ApiError::bad_request(
            "bad_id",
            format!("evidence id must be hex, found {:?}", short(&id)),
        )
    })?;
    let r = h
        .ledger
        .evidence_record(&key)?
        .ok_or_else(|| ApiError::not_found(format!("no evidence {:?} on this node", short(&id))))?;
    let mut dto = evidence_dto(&r, &h.genesis, |e| set_of_epoch(&h, e));
    // The epoch chain that proves the set of the evidence's epoch from the genesis, as a
    // receipt of that epoch carries it (docs/governance.md). Only for evidence that
    // verified here: its epoch is then one whose set this ledger has.
    // An epoch whose boundary is not applied here yet (a pending epoch) has no links:
    // offline verification then names the missing links.
    if dto.verified && dto.epoch > 0 {
        match h.ledger.epoch_links(Epoch(dto.epoch)) {
            Ok(links) => {
                dto.epochs = links
                    .iter()
                    .map(|l| hex::encode(codec::encode(l)))
                    .collect();
            }
            Err(LedgerError::NoSuchHeight { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(dto))
}

/// The validator set of `epoch` on this node's ledger (a read error shows as none).
pub fn set_of_epoch(h: &NodeHandle, epoch: Epoch) -> Option<ValidatorSet> {
    h.ledger.validator_set_of_epoch(epoch).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_consensus::{Evidence, Vote};
    use chancery_core::cert::VoteKind;
    use chancery_core::{Digest, View};
    use chancery_ledger::testing::fixture::{named_key, Fixture};

    /// Evidence of a later epoch is checked against that epoch's set: its culprit signs
    /// with a key the genesis set does not have. Before, every record was checked against
    /// the genesis set and such evidence showed as not verified.
    #[test]
    fn evidence_is_verified_against_the_set_of_its_epoch() {
        let fx = Fixture::new();
        let rotated = named_key("v2-epoch-1");
        let mut set1 = fx.genesis.validators.clone();
        set1.epoch = Epoch(1);
        set1.validators[2].consensus_key = rotated.public();
        let vote = |block: u8| {
            Vote::sign(
                fx.genesis.chain_id(),
                Epoch(1),
                View(3),
                VoteKind::Notarize,
                Digest([block; 32]),
                2,
                &rotated,
            )
        };
        let ev = Evidence::Votes {
            first: vote(1),
            second: vote(2),
        };
        let r = EvidenceRecord {
            id: ev.id().to_vec(),
            bytes: codec::encode(&ev),
        };
        let of_epoch = |e: Epoch| (e == Epoch(1)).then(|| set1.clone());
        let dto = evidence_dto(&r, &fx.genesis, of_epoch);
        assert!(dto.verified, "{:?}", dto.error);
        assert_eq!((dto.epoch, dto.culprit), (1, 2));
        // Checked against the genesis set, as before, it fails.
        let genesis_only = |_| Some(fx.genesis.validators.clone());
        assert!(!evidence_dto(&r, &fx.genesis, genesis_only).verified);
        // An epoch this ledger has no set for says so.
        let dto = evidence_dto(&r, &fx.genesis, |_| None);
        assert!(!dto.verified);
        assert!(dto.error.unwrap_or_default().contains("epoch 1"));
    }
}

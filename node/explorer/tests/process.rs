//! The procurement process pages (issue 22): a process followed from tender to final
//! payment with a receipt for each step, flags shown, in both languages.

mod support;

use support::{get_text, ok_text, process_world, OCID_FULL};

#[tokio::test]
async fn a_process_is_followed_from_tender_to_final_payment_with_a_receipt_per_step() {
    let w = process_world();
    let app = chancery_explorer::router(w.handle());
    let zh = ok_text(&app, &format!("/process?ocid={OCID_FULL}")).await;
    // Every applied step is in the timeline with its receipt.
    assert!(zh.matches("/v1/receipts/").count() >= 8, "{zh}");
    for kind in [
        "发布招标",
        "招标截止",
        "采购授标",
        "签订合同",
        "合同履行",
        "合同变更",
    ] {
        assert!(zh.contains(kind), "{kind} missing");
    }
    assert!(zh.contains("已截止"), "the tender is closed");
    assert!(
        zh.contains("达到公开招标数额标准却未公开招标"),
        "the flag is shown"
    );
    assert!(zh.contains("已完成"), "the contract is complete");
    let en = ok_text(&app, &format!("/process?ocid={OCID_FULL}&lang=en")).await;
    assert!(en.contains("Open tendering required but not used"));
    assert!(en.contains("Final payment"));
    assert!(en.contains("¥") || en.contains("CNY 4,900,000.00"), "{en}");

    let c = ok_text(&app, &format!("/contract?ocid={OCID_FULL}&id=c1&lang=en")).await;
    assert!(c.contains("CNY 4,900,000.00"), "value after the amendment");
    assert!(c.contains("Complete"));
    assert!(c.contains("Breach"));
    let award = ok_text(&app, &format!("/award?ocid={OCID_FULL}&id=1&lang=en")).await;
    assert!(award.contains("The whole procurement process"));
    assert!(award.contains("Open tendering required but not used"));

    // Unknown process or contract: 404 naming what was looked for.
    let (s, b) = get_text(&app, "/process?ocid=ocds-none").await;
    assert_eq!(s, 404, "{b}");
    let (s, _) = get_text(&app, &format!("/contract?ocid={OCID_FULL}&id=zz")).await;
    assert_eq!(s, 404);
    let (s, b) = get_text(&app, "/process").await;
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("ocid"));
}

/// The award list is newest first unless asked otherwise (it used to follow the ids as
/// strings); a sort chosen by the reader still applies.
#[tokio::test]
async fn the_award_list_is_newest_first_by_default() {
    use chancery_core::record::ProcurementMethod;
    use chancery_ledger::testing::process as p;
    let mut w = process_world();
    let late = p::award(
        "ocds-zzz-late",
        "1",
        "nhc",
        ProcurementMethod::Open,
        10,
        p::day(12, 1),
    );
    let tx = w.tx("nhc", late);
    w.block(vec![tx]);
    let later_mof = p::award(
        "ocds-aaa-mof",
        "1",
        "mof",
        ProcurementMethod::Open,
        10,
        p::day(12, 2),
    );
    let tx = w.tx("mof", later_mof);
    w.block(vec![tx]);
    let app = chancery_explorer::router(w.handle());
    let order = |page: &str| -> Vec<usize> {
        [
            "ocds-zzz-late",
            "ocds-213czf-2026-0100",
            "ocds-213czf-2026-0101",
        ]
        .iter()
        .map(|o| {
            page.find(&format!("ocid={o}"))
                .unwrap_or_else(|| panic!("{o} missing"))
        })
        .collect()
    };
    let all = ok_text(&app, "/awards").await;
    let newest = order(&all);
    assert!(newest[0] < newest[1] && newest[1] < newest[2], "{newest:?}");
    assert!(all.find("ocid=ocds-aaa-mof") < all.find("ocid=ocds-zzz-late"));
    let oldest = order(&ok_text(&app, "/awards?sort=date").await);
    assert!(oldest[2] < oldest[1] && oldest[1] < oldest[0], "{oldest:?}");
    // With a purchaser too (its own date index): mof's December award before its March one.
    let mof = ok_text(&app, "/awards?purchaser=mof").await;
    let (dec, mar) = (
        mof.find("ocid=ocds-aaa-mof").expect("the December award"),
        mof.find(&format!("ocid={OCID_FULL}"))
            .expect("the March award"),
    );
    assert!(dec < mar, "newest first for one purchaser");
    assert!(!mof.contains("ocds-zzz-late"), "only mof's awards");
}

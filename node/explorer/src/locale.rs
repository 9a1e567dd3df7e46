//! Languages and locale formatting: Simplified Chinese by default, English on request.
//!
//! Dates and times: Chinese pages show Beijing time (UTC+8) as `2026年11月27日 18:30:05`,
//! English pages UTC as `27 Nov 2026, 10:30:05 UTC`. Amounts: integer minor units shown
//! with the currency's ISO 4217 number of decimals and grouped thousands, e.g.
//! `¥1,234,567.89` / `CNY 1,234,567.89`.

use chancery_core::procurement::{ComplianceRule, ImplementationKind};
use chancery_core::record::{AwardStatus, ProcurementMethod, RecordKind};
use chancery_core::state::ContractStatus;
use chancery_core::{Amount, Currency, Date, TimestampMs};
use chancery_ledger::GrantStatus;
use time::{OffsetDateTime, UtcOffset};

/// The language of a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese (the default).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Parse `zh` / `en` (also `zh-CN`, `en-GB`, ...).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s == "zh" || s.starts_with("zh-") {
            Some(Lang::Zh)
        } else if s == "en" || s.starts_with("en-") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The code used in `?lang=` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The HTML `lang` attribute.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-Hans",
            Lang::En => "en",
        }
    }

    /// The other language.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Pick the text for this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// Format a calendar date.
    pub fn date(self, d: Date) -> String {
        match self {
            Lang::Zh => format!("{}年{}月{}日", d.year, d.month, d.day),
            Lang::En => format!(
                "{} {} {}",
                d.day,
                MONTHS[usize::from(d.month.clamp(1, 12)) - 1],
                d.year
            ),
        }
    }

    /// Format a block time.
    pub fn time(self, t: TimestampMs) -> String {
        let Ok(utc) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000) else {
            return t.0.to_string();
        };
        match self {
            Lang::Zh => {
                let offset = UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC);
                let b = utc.to_offset(offset);
                format!(
                    "{}年{}月{}日 {:02}:{:02}:{:02}（北京时间）",
                    b.year(),
                    u8::from(b.month()),
                    b.day(),
                    b.hour(),
                    b.minute(),
                    b.second()
                )
            }
            Lang::En => format!(
                "{} {} {}, {:02}:{:02}:{:02} UTC",
                utc.day(),
                MONTHS[usize::from(u8::from(utc.month())) - 1],
                utc.year(),
                utc.hour(),
                utc.minute(),
                utc.second()
            ),
        }
    }

    /// Format an amount of money.
    pub fn amount(self, a: Amount) -> String {
        let (int, frac) = split_minor(a);
        let grouped = group(int);
        let num = if frac.is_empty() {
            grouped
        } else {
            format!("{grouped}.{frac}")
        };
        let code = a.currency.as_str();
        match (self, code) {
            (Lang::Zh, "CNY") => format!("¥{num}"),
            (Lang::Zh, _) => format!("{num} {code}"),
            (Lang::En, _) => format!("{code} {num}"),
        }
    }

    /// A whole number with grouped thousands.
    pub fn number(self, n: u64) -> String {
        group(n)
    }

    /// The name of a record kind.
    pub fn kind(self, k: RecordKind) -> &'static str {
        use RecordKind::*;
        match k {
            RegisterAsset => self.t("资产登记", "Asset registered"),
            TransferAsset => self.t("资产调拨", "Asset transferred"),
            DisposeAsset => self.t("资产处置", "Asset disposed"),
            AwardProcurement => self.t("采购授标", "Procurement award"),
            AmendAward => self.t("授标变更", "Award amended"),
            CancelAward => self.t("授标撤销", "Award cancelled"),
            GrantDataAccess => self.t("数据共享授权", "Data access granted"),
            RevokeGrant => self.t("授权撤回", "Grant revoked"),
            AnchorDocument => self.t("文件存证", "Document anchored"),
            RegisterMember => self.t("成员登记", "Member registered"),
            RevokeMember => self.t("成员注销", "Member revoked"),
            ProposeChange => self.t("治理提案", "Governance proposal"),
            Vote => self.t("治理投票", "Governance vote"),
            PublishTender => self.t("发布招标", "Tender published"),
            CloseTender => self.t("招标截止", "Tender closed"),
            SignContract => self.t("签订合同", "Contract signed"),
            AmendContract => self.t("合同变更", "Contract amended"),
            RecordImplementation => self.t("合同履行", "Contract implementation"),
            TerminateContract => self.t("合同终止", "Contract terminated"),
        }
    }

    /// The name of a compliance rule.
    pub fn compliance_rule(self, r: ComplianceRule) -> &'static str {
        match r {
            ComplianceRule::OpenTenderRequired => self.t(
                "达到公开招标数额标准却未公开招标",
                "Open tendering required but not used",
            ),
            ComplianceRule::BelowRecordLimit => self.t(
                "低于采购限额标准（提示，非违规）",
                "Below the procurement limit (a note, not a breach)",
            ),
        }
    }

    /// The name of a procurement method.
    pub fn method(self, m: ProcurementMethod) -> &'static str {
        match m {
            ProcurementMethod::Open => self.t("公开招标", "Open"),
            ProcurementMethod::Selective => self.t("邀请招标", "Selective"),
            ProcurementMethod::Limited => self.t("竞争性谈判等有限方式", "Limited"),
            ProcurementMethod::Direct => self.t("单一来源", "Direct"),
        }
    }

    /// The name of a contract status.
    pub fn contract_status(self, s: ContractStatus) -> &'static str {
        match s {
            ContractStatus::Active => self.t("履行中", "Active"),
            ContractStatus::Complete => self.t("已完成", "Complete"),
            ContractStatus::Terminated => self.t("已终止", "Terminated"),
        }
    }

    /// The name of an implementation step's kind.
    pub fn step_kind(self, k: ImplementationKind) -> &'static str {
        match k {
            ImplementationKind::Milestone => self.t("里程碑", "Milestone"),
            ImplementationKind::Payment => self.t("付款", "Payment"),
            ImplementationKind::FinalPayment => self.t("尾款", "Final payment"),
        }
    }

    /// The name of an award status.
    pub fn award_status(self, s: AwardStatus) -> &'static str {
        match s {
            AwardStatus::Pending => self.t("待定", "Pending"),
            AwardStatus::Active => self.t("有效", "Active"),
            AwardStatus::Unsuccessful => self.t("未成交", "Unsuccessful"),
            AwardStatus::Cancelled => self.t("已撤销", "Cancelled"),
        }
    }

    /// The name of a grant status.
    pub fn grant_status(self, s: GrantStatus) -> &'static str {
        match s {
            GrantStatus::Active => self.t("有效", "Active"),
            GrantStatus::NotYetValid => self.t("尚未生效", "Not yet valid"),
            GrantStatus::Expired => self.t("已过期", "Expired"),
            GrantStatus::Revoked => self.t("已撤回", "Revoked"),
        }
    }

    /// "restricted" with its commitment.
    pub fn restricted(self) -> &'static str {
        self.t("受限", "restricted")
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Decimal places of a currency's minor unit (ISO 4217; 2 for codes the table lacks).
pub fn decimals(c: Currency) -> u32 {
    iso_currency::Currency::from_code(c.as_str())
        .and_then(|c| c.exponent())
        .map_or(2, u32::from)
}

/// Integer part and fraction digits of an amount.
fn split_minor(a: Amount) -> (u64, String) {
    let d = decimals(a.currency);
    let scale = 10u64.pow(d);
    let frac = if d == 0 {
        String::new()
    } else {
        format!("{:0width$}", a.minor % scale, width = d as usize)
    };
    (a.minor / scale, frac)
}

/// The amount as a decimal number in major units (for OCDS `value.amount`).
pub fn major_units(a: Amount) -> serde_json::Number {
    let d = decimals(a.currency);
    let scale = 10u64.pow(d);
    if a.minor % scale == 0 {
        serde_json::Number::from(a.minor / scale)
    } else {
        // Exact for every amount below 2^53 minor units; beyond that the nearest double.
        serde_json::Number::from_f64(a.minor as f64 / scale as f64)
            .unwrap_or_else(|| serde_json::Number::from(a.minor / scale))
    }
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amt(minor: u64, c: &str) -> Amount {
        Amount {
            minor,
            currency: c.parse().unwrap(),
        }
    }

    #[test]
    fn amounts_follow_the_locale_and_the_currency() {
        assert_eq!(Lang::Zh.amount(amt(123_456_789, "CNY")), "¥1,234,567.89");
        assert_eq!(Lang::En.amount(amt(123_456_789, "CNY")), "CNY 1,234,567.89");
        assert_eq!(Lang::En.amount(amt(5, "USD")), "USD 0.05");
        assert_eq!(Lang::En.amount(amt(1500, "JPY")), "JPY 1,500");
        assert_eq!(Lang::Zh.amount(amt(1500, "JPY")), "1,500 JPY");
        assert_eq!(
            major_units(amt(123_456_789, "CNY")).to_string(),
            "1234567.89"
        );
        assert_eq!(major_units(amt(1500, "JPY")).to_string(), "1500");
    }

    #[test]
    fn dates_and_times_follow_the_locale() {
        let d = Date::new(2026, 11, 7).unwrap();
        assert_eq!(Lang::Zh.date(d), "2026年11月7日");
        assert_eq!(Lang::En.date(d), "7 Nov 2026");
        // 2026-11-27T20:30:05Z is 04:30:05 on the 28th in Beijing.
        let t = TimestampMs(1_795_811_405_000);
        assert_eq!(Lang::En.time(t), "27 Nov 2026, 20:30:05 UTC");
        assert_eq!(Lang::Zh.time(t), "2026年11月28日 04:30:05（北京时间）");
    }
}

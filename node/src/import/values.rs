//! Value conversions shared by the row mapping: amounts, penalty categories and
//! severity, identity document types, and masking of personal numbers.

use credithub_protocol::ids::ResidentId;
use credithub_protocol::record::Severity;

/// Fen in one 万元 (10,000 yuan × 100 fen).
pub const FEN_PER_WAN_YUAN: i64 = 1_000_000;

/// Why an amount in 万元 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a plain decimal number.
    #[error("not a decimal number of 万元 (e.g. 0.5, 12.3456, 1,000)")]
    NotANumber,
    /// Thousands separators in the wrong places (`1,00`).
    #[error("thousands separators must separate groups of three digits")]
    Grouping,
    /// A negative amount.
    #[error("negative amount")]
    Negative,
    /// More than six decimal places: less than one fen.
    #[error("more than 6 decimal places (smaller than one fen)")]
    TooPrecise,
    /// Does not fit in 64 bits of fen.
    #[error("amount too large")]
    TooLarge,
}

/// Converts an amount in 万元 (`"0.5"`, `"12.3456"`, `"1,000"`, optionally followed by
/// `万元`) exactly to fen: 1 万元 = 1,000,000 fen. Trailing zeros beyond the sixth
/// decimal place are accepted (they change nothing); any other seventh decimal, a
/// sign, exponents and misplaced separators are refused.
pub fn wan_yuan_to_fen(text: &str) -> Result<i64, AmountError> {
    let t = text.trim();
    let t = t
        .strip_suffix("万元")
        .or_else(|| t.strip_suffix('万'))
        .unwrap_or(t)
        .trim_end();
    if t.starts_with('-') {
        return Err(AmountError::Negative);
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let (int_part, frac_part) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(AmountError::NotANumber);
    }
    let int_digits = ungroup(int_part)?;
    if !int_digits.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(AmountError::NotANumber);
    }
    let frac = frac_part.trim_end_matches('0');
    if frac.len() > 6 {
        return Err(AmountError::TooPrecise);
    }
    let mut fen: i64 = 0;
    for b in int_digits.bytes() {
        fen = fen
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(AmountError::TooLarge)?;
    }
    fen = fen
        .checked_mul(FEN_PER_WAN_YUAN)
        .ok_or(AmountError::TooLarge)?;
    let mut scale = FEN_PER_WAN_YUAN / 10;
    for b in frac.bytes() {
        fen = fen
            .checked_add(i64::from(b - b'0') * scale)
            .ok_or(AmountError::TooLarge)?;
        scale /= 10;
    }
    Ok(fen)
}

/// Removes thousands separators (`,` or `，`), checking they separate groups of three.
fn ungroup(int_part: &str) -> Result<String, AmountError> {
    let groups: Vec<&str> = int_part.split([',', '，']).collect();
    if groups.len() > 1 {
        let first_ok = (1..=3).contains(&groups[0].len());
        if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
            return Err(AmountError::Grouping);
        }
    }
    Ok(groups.concat())
}

/// Splits `CF_CFLB` into categories on `;` `；` `,` `，` `、`.
pub fn split_categories(text: &str) -> Vec<String> {
    text.split([';', '；', ',', '，', '、'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// Penalty categories that make a penalty serious (matched as substrings, so that
/// `吊销许可证件` counts as 吊销).
pub const SERIOUS_CATEGORIES: [&str; 6] = [
    "吊销",
    "责令关闭",
    "限制从业",
    "行政拘留",
    "限制开展生产经营活动",
    "降低资质等级",
];

/// Penalty categories that alone make a penalty light.
pub const LIGHT_CATEGORIES: [&str; 2] = ["警告", "通报批评"];

/// The severity of a penalty from its categories (policy):
/// any category containing one of [`SERIOUS_CATEGORIES`] → [`Severity::Serious`];
/// otherwise, when every category is one of [`LIGHT_CATEGORIES`] → [`Severity::Light`];
/// otherwise (fines, confiscation, suspension, …) → [`Severity::General`].
pub fn penalty_severity(categories: &[String]) -> Severity {
    if categories
        .iter()
        .any(|c| SERIOUS_CATEGORIES.iter().any(|s| c.contains(s)))
    {
        Severity::Serious
    } else if !categories.is_empty()
        && categories
            .iter()
            .all(|c| LIGHT_CATEGORIES.contains(&c.as_str()))
    {
        Severity::Light
    } else {
        Severity::General
    }
}

/// Whether an identity document type names the resident identity card. An empty type
/// counts as the identity card, the national default.
pub(super) fn is_identity_card(doc_type: Option<&str>) -> bool {
    doc_type.is_none_or(credithub_protocol::ids::subject::is_identity_card_type)
}

/// Whether an end date is written as "no end" (长期, 永久, …).
pub(super) fn is_open_ended(text: &str) -> bool {
    matches!(
        text.trim(),
        "长期" | "永久" | "长期有效" | "永久有效" | "无固定期限" | "无期限"
    )
}

/// Whether a text looks like an 18-character resident identity number, valid or not:
/// 17 digits then a digit or `X`, with a birth year from 18xx to 20xx. (Valid legacy
/// 15-digit numbers are caught by parsing; invalid ones cannot be told from business
/// registration numbers.)
pub(super) fn looks_like_resident_id(text: &str) -> bool {
    let b = text.trim().as_bytes();
    b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x')
        && matches!(&b[6..8], b"18" | b"19" | b"20")
}

/// A value fit for messages. Values of a personal column, and values elsewhere that
/// look like an 18-character identity number, are masked: [`ResidentId::masked`] when
/// valid, else the last 12 characters hidden. Anything else is unchanged (a 15-digit
/// registration number may happen to parse as a legacy identity number).
pub(crate) fn mask_for_message(value: &str, personal_column: bool) -> String {
    if !personal_column && !looks_like_resident_id(value) {
        return value.to_string();
    }
    if let Ok(id) = ResidentId::parse(value) {
        return id.masked();
    }
    let chars: Vec<char> = value.trim().chars().collect();
    let keep = chars.len().saturating_sub(12);
    let mut out: String = chars[..keep].iter().collect();
    out.push_str(&"*".repeat(chars.len() - keep));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_convert_exactly() {
        let ok = [
            ("0", 0),
            ("0.5", 500_000),
            ("12.3456", 12_345_600),
            ("1,000", 1_000_000_000),
            ("1，234.5", 1_234_500_000),
            ("0.000001", 1),
            (".25", 250_000),
            ("3.", 3_000_000),
            ("0.10000000", 100_000),
            ("2万元", 2_000_000),
            (" 7 ", 7_000_000),
        ];
        for (text, fen) in ok {
            assert_eq!(wan_yuan_to_fen(text), Ok(fen), "{text}");
        }
        let bad = [
            ("-1", AmountError::Negative),
            ("0.0000001", AmountError::TooPrecise),
            ("0.30000000000000004", AmountError::TooPrecise),
            ("1,00", AmountError::Grouping),
            ("1E+05", AmountError::NotANumber),
            ("五万", AmountError::NotANumber),
            (".", AmountError::NotANumber),
            ("1.2.3", AmountError::NotANumber),
            ("99999999999999", AmountError::TooLarge),
        ];
        for (text, err) in bad {
            assert_eq!(wan_yuan_to_fen(text), Err(err), "{text}");
        }
        assert_eq!(wan_yuan_to_fen("9223372036854.775807"), Ok(i64::MAX));
    }

    #[test]
    fn severity_policy() {
        let s = |t: &str| penalty_severity(&split_categories(t));
        assert_eq!(s("警告"), Severity::Light);
        assert_eq!(s("警告、通报批评"), Severity::Light);
        assert_eq!(s("警告;罚款"), Severity::General);
        assert_eq!(s("罚款，没收违法所得"), Severity::General);
        assert_eq!(s("吊销许可证件；罚款"), Severity::Serious);
        assert_eq!(s("责令关闭"), Severity::Serious);
        assert_eq!(split_categories(" 罚款 ;；警告、, "), vec!["罚款", "警告"]);
    }

    #[test]
    fn masking() {
        assert_eq!(
            mask_for_message("11010519491231002X", false),
            "110105********002X"
        );
        assert_eq!(
            mask_for_message("360426199113010079", false),
            "360426************"
        );
        assert_eq!(mask_for_message("E1234567", true), "********");
        assert_eq!(
            mask_for_message("91110000600037341N", false),
            "91110000600037341N"
        );
        assert_eq!(
            mask_for_message("121200004013590816", false),
            "121200004013590816"
        );
        assert_eq!(
            mask_for_message("110105491231002", true),
            "110105********002X"
        );
        assert_eq!(
            mask_for_message("320583000123452", false),
            "320583000123452"
        );
    }
}

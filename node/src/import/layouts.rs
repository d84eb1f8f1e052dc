//! The older 双公示 layouts of penalty and licence files, and which layout a file uses.
//!
//! Four layouts are told apart by their headers ([`Layout`]): today's national column
//! codes (`CF_XDR_MC`, `XK_XKJG`, …), today's Chinese templates (行政相对人名称, …), the
//! pre-2019 codes (`CF_CFMC`, `CF_XZJG`, `XK_XMMC`, …) and the 2016 layout with Chinese
//! headers (处罚名称, 处罚类别1, 审批类别, …). A file is in an older layout when one of its
//! headers is a *marker*: a code or name that only the older layouts use. It is then read
//! with [`OLDER`], the one table from each older code and header to today's field;
//! headers the table lacks fall back to today's names, so a provincial variant that adds
//! a current column is still read.
//!
//! Older files have no party-kind column: the kind is inferred from the identifiers (see
//! the `subject` module). 处罚类别1 and 处罚类别2 together give the penalty categories;
//! 处罚名称, a penalty's 当前状态, 地方编码 and 数据更新时间戳 have no typed field and are kept
//! in `RecordBody::extra` under their codes. `docs/import-layouts.md` has the same table
//! for readers of the documentation.

use super::headers::{self, Field};
use super::FileKind;

/// The header layout of a penalty or licence file (list, court and mapping files have
/// only their Chinese templates: [`Layout::Chinese`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Today's national column codes (`CF_XDR_MC`, `XK_WSH`, `BZ`).
    Codes,
    /// Today's Chinese templates (行政相对人名称, 罚款金额（万元）, …).
    Chinese,
    /// The pre-2019 column codes (`CF_CFMC`, `CF_CFLB1`, `CF_XZJG`, `XK_XMMC`, …).
    Pre2019,
    /// The 2016 layout with Chinese headers (处罚名称, 处罚类别1, 审批类别, 许可截止期, …).
    Chinese2016,
}

impl Layout {
    /// The name in summaries: `codes`, `chinese`, `pre-2019` or `2016`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Codes => "codes",
            Layout::Chinese => "chinese",
            Layout::Pre2019 => "pre-2019",
            Layout::Chinese2016 => "2016",
        }
    }

    /// Whether this is one of the older layouts (no party-kind column).
    pub fn is_older(self) -> bool {
        matches!(self, Layout::Pre2019 | Layout::Chinese2016)
    }
}

/// One column of the older layouts.
struct Older {
    /// The pre-2019 column code.
    code: &'static str,
    /// The 2016 Chinese header.
    name: &'static str,
    /// Today's field.
    field: Field,
    /// The file kind (`None`: both).
    kind: Option<FileKind>,
}

const fn col(
    code: &'static str,
    name: &'static str,
    field: Field,
    kind: Option<FileKind>,
) -> Older {
    Older {
        code,
        name,
        field,
        kind,
    }
}

const P: Option<FileKind> = Some(FileKind::Penalty);
const L: Option<FileKind> = Some(FileKind::Licence);

/// Every older column, in the order of the 2016 templates.
const OLDER: &[Older] = &[
    col("CF_WSH", "行政处罚决定书文号", Field::DecisionNo, P),
    col("CF_CFMC", "处罚名称", Field::CaseName, P),
    col("CF_CFLB1", "处罚类别1", Field::PenaltyCategory, P),
    col("CF_CFLB2", "处罚类别2", Field::PenaltyCategory2, P),
    col("CF_SY", "处罚事由", Field::Facts, P),
    col("CF_YJ", "处罚依据", Field::LegalBasis, P),
    col("CF_XDR_MC", "行政相对人名称", Field::PartyName, P),
    col("CF_XDR_SHXYM", "统一社会信用代码", Field::Uscc, P),
    col("CF_XDR_ZDM", "组织机构代码", Field::OrgCode, P),
    col("CF_XDR_GSDJ", "工商登记码", Field::RegNo, P),
    col("CF_XDR_SWDJ", "税务登记号", Field::TaxNo, P),
    col("CF_XDR_SFZ", "居民身份证号", Field::PartyIdNo, P),
    col("CF_FR", "法定代表人姓名", Field::RepName, P),
    col("CF_JG", "处罚结果", Field::PenaltyContent, P),
    col("CF_JDRQ", "处罚决定日期", Field::DecisionDate, P),
    col("CF_XZJG", "处罚机关", Field::Authority, P),
    col("CF_ZT", "当前状态", Field::PenaltyState, P),
    col("XK_WSH", "行政许可决定书文号", Field::DecisionNo, L),
    col("XK_XMMC", "项目名称", Field::DocumentName, L),
    col("XK_SPLB", "审批类别", Field::LicenceCategory, L),
    col("XK_NR", "许可内容", Field::LicenceContent, L),
    col("XK_XDR", "行政相对人名称", Field::PartyName, L),
    col("XK_XDR_SHXYM", "统一社会信用代码", Field::Uscc, L),
    col("XK_XDR_ZDM", "组织机构代码", Field::OrgCode, L),
    col("XK_XDR_GSDJ", "工商登记码", Field::RegNo, L),
    col("XK_XDR_SWDJ", "税务登记号", Field::TaxNo, L),
    col("XK_XDR_SFZ", "居民身份证号", Field::PartyIdNo, L),
    col("XK_FR", "法定代表人姓名", Field::RepName, L),
    col("XK_JDRQ", "许可决定日期", Field::DecisionDate, L),
    col("XK_JZQ", "许可截止期", Field::ValidTo, L),
    col("XK_XZJG", "许可机关", Field::Authority, L),
    col("XK_ZT", "当前状态", Field::LicenceState, L),
    col("DFBM", "地方编码", Field::LocalCode, None),
    col("SJC", "数据更新时间戳", Field::UpdatedAt, None),
    col("BZ", "备注", Field::Remarks, None),
];

/// Further spellings of the 2016 headers met in published files.
const ALIASES: &[(&str, &str)] = &[
    ("数据更新时间", "数据更新时间戳"),
    ("工商登记号", "工商登记码"),
    ("居民身份证号码", "居民身份证号"),
    ("身份证号", "居民身份证号"),
    ("许可截止日期", "许可截止期"),
];

/// The older columns a normalised header names (by code, by name, or by the name in
/// or before parentheses: `行政相对人代码_2(组织机构代码)`).
fn older_of(normalised: &str) -> impl Iterator<Item = &'static Older> + '_ {
    headers::name_candidates(normalised)
        .into_iter()
        .flat_map(|c| {
            let name = ALIASES
                .iter()
                .find(|(alias, _)| *alias == c)
                .map_or(c, |(_, name)| *name);
            OLDER
                .iter()
                .filter(move |o| o.code == name || o.name == name)
        })
}

/// The kind a normalised header of an older layout belongs to, when only one.
pub(crate) fn kind_hint(normalised: &str) -> Option<FileKind> {
    let mut kinds = older_of(normalised).filter_map(|o| o.kind);
    let first = kinds.next()?;
    kinds.all(|k| k == first).then_some(first)
}

/// Headers of the older layouts that today's files may carry as extra columns (a
/// penalty's state, the local code, the update time), so that they do not tell an
/// older layout; in a current file they are read as the same fields ([`lookup`]).
const NOT_MARKERS: &[&str] = &[
    "当前状态",
    "DFBM",
    "地方编码",
    "SJC",
    "数据更新时间戳",
    "数据更新时间",
];

/// Whether a normalised header is used only by the older layouts of `kind`: an older
/// code or name that today's layouts do not know.
fn is_marker(normalised: &str, kind: FileKind) -> bool {
    older_of(normalised).any(|o| o.kind.is_none_or(|k| k == kind))
        && headers::lookup(normalised, kind).is_none()
        && !NOT_MARKERS.contains(&normalised)
}

/// The layout of a penalty or licence file from its normalised headers: an older one
/// when a header is a marker (pre-2019 when most markers are codes), else today's codes
/// when most recognised headers are codes, else today's Chinese templates.
pub(crate) fn detect(kind: FileKind, normalised: &[String]) -> Layout {
    if !matches!(kind, FileKind::Penalty | FileKind::Licence) {
        return Layout::Chinese;
    }
    let is_code = |h: &str| h.is_ascii();
    let markers: Vec<&String> = normalised.iter().filter(|h| is_marker(h, kind)).collect();
    if !markers.is_empty() {
        let codes = markers.iter().filter(|h| is_code(h)).count();
        return if codes * 2 > markers.len() {
            Layout::Pre2019
        } else {
            Layout::Chinese2016
        };
    }
    let recognised: Vec<&String> = normalised
        .iter()
        .filter(|h| headers::lookup(h, kind).is_some())
        .collect();
    let codes = recognised.iter().filter(|h| is_code(h)).count();
    if codes * 2 > recognised.len() {
        Layout::Codes
    } else {
        Layout::Chinese
    }
}

/// The field a normalised header names in a file of `kind` and `layout`. The older
/// columns that today's files carry too ([`NOT_MARKERS`]: 地方编码, 数据更新时间戳, a
/// penalty's 当前状态) are the same fields in any layout, so that they are kept under
/// one key (`DFBM`, `SJC`, `CF_ZT`) whichever header named them.
pub(crate) fn lookup(normalised: &str, kind: FileKind, layout: Layout) -> Option<Field> {
    let older = || {
        older_of(normalised)
            .find(|o| o.kind.is_none_or(|k| k == kind))
            .map(|o| o.field)
    };
    if layout.is_older() {
        if let Some(field) = older() {
            return Some(field);
        }
    }
    headers::lookup(normalised, kind)
        .or_else(|| NOT_MARKERS.contains(&normalised).then(older).flatten())
}

/// Whether a normalised header cell names a column of any kind of file, in any layout:
/// what tells a spreadsheet's header row from the title rows above it.
pub(crate) fn is_known(normalised: &str) -> bool {
    const KINDS: [FileKind; 5] = [
        FileKind::Penalty,
        FileKind::Licence,
        FileKind::List,
        FileKind::CourtList,
        FileKind::Mapping,
    ];
    !normalised.is_empty()
        && KINDS
            .iter()
            .any(|&k| lookup(normalised, k, Layout::Pre2019).is_some())
}

/// How messages name a column a file lacks, in the file's layout:
/// `CF_JG (处罚结果)` for a pre-2019 file, `CF_NR (处罚内容)` for a current one.
pub(crate) fn describe(field: Field, kind: FileKind, layout: Layout) -> String {
    if layout.is_older() {
        if let Some(o) = OLDER
            .iter()
            .find(|o| o.field == field && o.kind.is_none_or(|k| k == kind))
        {
            return format!("{} ({})", o.code, o.name);
        }
    }
    field.describe(kind)
}

/// The fields every file of `kind` in `layout` must have a column for: today's list,
/// without the party kind for older layouts (it is inferred).
pub(crate) fn required(kind: FileKind, layout: Layout) -> impl Iterator<Item = Field> {
    headers::required(kind)
        .iter()
        .copied()
        .filter(move |&f| !(layout.is_older() && f == Field::PartyKind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(headers: &[&str]) -> Vec<String> {
        headers.iter().map(|h| headers::normalise(h)).collect()
    }

    #[test]
    fn layouts_are_told_apart() {
        let p = FileKind::Penalty;
        assert_eq!(
            detect(p, &norm(&["CF_XDR_MC", "CF_XDR_LB", "CF_CFJG"])),
            Layout::Codes
        );
        assert_eq!(
            detect(p, &norm(&["行政相对人名称", "处罚机关", "BZ"])),
            Layout::Chinese
        );
        assert_eq!(
            detect(p, &norm(&["CF_WSH", "CF_CFMC", "CF_XZJG", "DFBM"])),
            Layout::Pre2019
        );
        assert_eq!(
            detect(p, &norm(&["CF_XDR_MC", "CF_XDR_LB", "CF_CFJG", "DFBM"])),
            Layout::Codes
        );
        assert_eq!(
            detect(p, &norm(&["CF_WSH", "CF_CFMC", "CF_XZJG"])),
            Layout::Pre2019
        );
        assert_eq!(
            detect(
                p,
                &norm(&["行政处罚决定书文号", "处罚名称", "处罚类别1", "BZ"])
            ),
            Layout::Chinese2016
        );
        assert_eq!(
            detect(FileKind::Licence, &norm(&["XK_XDR", "XK_XZJG", "XK_JZQ"])),
            Layout::Pre2019
        );
        // A licence's 当前状态 is a current column too: no marker.
        assert_eq!(
            detect(
                FileKind::Licence,
                &norm(&["行政相对人名称", "许可机关", "当前状态"])
            ),
            Layout::Chinese
        );
    }

    #[test]
    fn older_headers_map_to_todays_fields() {
        let p = FileKind::Penalty;
        let l = FileKind::Licence;
        let old = Layout::Pre2019;
        assert_eq!(lookup("CF_XZJG", p, old), Some(Field::Authority));
        assert_eq!(lookup("CF_JG", p, old), Some(Field::PenaltyContent));
        assert_eq!(
            lookup("处罚类别2", p, Layout::Chinese2016),
            Some(Field::PenaltyCategory2)
        );
        assert_eq!(
            lookup(
                &headers::normalise("行政相对人代码_3（工商登记码）"),
                p,
                old
            ),
            Some(Field::RegNo)
        );
        assert_eq!(lookup("XK_JZQ", l, old), Some(Field::ValidTo));
        assert_eq!(lookup("XK_XDR", l, old), Some(Field::PartyName));
        assert_eq!(lookup("当前状态", p, old), Some(Field::PenaltyState));
        assert_eq!(lookup("当前状态", l, old), Some(Field::LicenceState));
        // A current column in an older file still maps.
        assert_eq!(lookup("CF_XDR_LB", p, old), Some(Field::PartyKind));
        assert_eq!(kind_hint("XK_XMMC"), Some(l));
        assert_eq!(kind_hint("处罚名称"), Some(p));
        assert_eq!(kind_hint("DFBM"), None);
        assert_eq!(describe(Field::PenaltyContent, p, old), "CF_JG (处罚结果)");
        assert!(!required(p, old).any(|f| f == Field::PartyKind));
    }
}

//! The older layouts of penalty and licence files (pre-2019 codes, 2016 Chinese
//! headers): their columns, and a row of today's layout projected onto them.
//!
//! The older layouts have fewer columns: no party kind, no amounts, no source unit, one
//! resident identity number column (居民身份证号) for natural persons, and the penalty
//! categories in two columns (处罚类别1, then the others in 处罚类别2).

use credithub_protocol::RecordBody;

use credithub_node::export::layout::party;

/// Where an older column takes its value from.
#[derive(Debug, Clone, Copy)]
enum From {
    /// A column of today's layout (the index in its code list).
    Col(usize),
    /// The first penalty category.
    FirstCategory,
    /// The other penalty categories.
    OtherCategories,
    /// The party's resident identity number, when its document is the identity card.
    ResidentId,
    /// The record's state: 正常 (the older layouts' "in force").
    State,
    /// The division code of the deciding authority (地方编码).
    LocalCode,
    /// The data's update time (数据更新时间戳): the decision date.
    Updated,
}

/// One older column: its pre-2019 code, its 2016 Chinese header, its source.
type Column = (&'static str, &'static str, From);

/// Today's penalty columns that the older layout has.
const PENALTY: [Column; 20] = [
    ("CF_WSH", "行政处罚决定书文号", From::Col(13)),
    ("CF_CFMC", "处罚名称", From::Col(14)),
    ("CF_CFLB1", "处罚类别1", From::FirstCategory),
    ("CF_CFLB2", "处罚类别2", From::OtherCategories),
    ("CF_SY", "处罚事由", From::Col(15)),
    ("CF_YJ", "处罚依据", From::Col(16)),
    ("CF_XDR_MC", "行政相对人名称", From::Col(party::NAME)),
    (
        "CF_XDR_SHXYM",
        "行政相对人代码_1（统一社会信用代码）",
        From::Col(party::USCC),
    ),
    (
        "CF_XDR_ZDM",
        "行政相对人代码_2（组织机构代码）",
        From::Col(party::ORG_CODE),
    ),
    (
        "CF_XDR_GSDJ",
        "行政相对人代码_3（工商登记码）",
        From::Col(party::REG_NO),
    ),
    (
        "CF_XDR_SWDJ",
        "行政相对人代码_4（税务登记号）",
        From::Col(party::TAX_NO),
    ),
    (
        "CF_XDR_SFZ",
        "行政相对人代码_5（居民身份证号）",
        From::ResidentId,
    ),
    ("CF_FR", "法定代表人姓名", From::Col(party::REP)),
    ("CF_JG", "处罚结果", From::Col(18)),
    ("CF_JDRQ", "处罚决定日期", From::Col(22)),
    ("CF_XZJG", "处罚机关", From::Col(25)),
    ("CF_ZT", "当前状态", From::State),
    ("DFBM", "地方编码", From::LocalCode),
    ("SJC", "数据更新时间戳", From::Updated),
    ("BZ", "备注", From::Col(29)),
];

/// Today's licence columns that the older layout has.
const LICENCE: [Column; 18] = [
    ("XK_WSH", "行政许可决定书文号", From::Col(14)),
    ("XK_XMMC", "项目名称", From::Col(13)),
    ("XK_SPLB", "审批类别", From::Col(15)),
    ("XK_NR", "许可内容", From::Col(18)),
    ("XK_XDR", "行政相对人名称", From::Col(party::NAME)),
    (
        "XK_XDR_SHXYM",
        "行政相对人代码_1（统一社会信用代码）",
        From::Col(party::USCC),
    ),
    (
        "XK_XDR_ZDM",
        "行政相对人代码_2（组织机构代码）",
        From::Col(party::ORG_CODE),
    ),
    (
        "XK_XDR_GSDJ",
        "行政相对人代码_3（工商登记码）",
        From::Col(party::REG_NO),
    ),
    (
        "XK_XDR_SWDJ",
        "行政相对人代码_4（税务登记号）",
        From::Col(party::TAX_NO),
    ),
    (
        "XK_XDR_SFZ",
        "行政相对人代码_5（居民身份证号）",
        From::ResidentId,
    ),
    ("XK_FR", "法定代表人姓名", From::Col(party::REP)),
    ("XK_JDRQ", "许可决定日期", From::Col(19)),
    ("XK_JZQ", "许可截止期", From::Col(21)),
    ("XK_XZJG", "许可机关", From::Col(22)),
    ("XK_ZT", "当前状态", From::Col(24)),
    ("DFBM", "地方编码", From::LocalCode),
    ("SJC", "数据更新时间戳", From::Updated),
    ("BZ", "备注", From::Col(27)),
];

fn columns(penalty: bool) -> &'static [Column] {
    if penalty {
        &PENALTY
    } else {
        &LICENCE
    }
}

/// The older header row: pre-2019 codes, or the 2016 Chinese headers.
pub(super) fn header(penalty: bool, codes: bool) -> Vec<&'static str> {
    columns(penalty)
        .iter()
        .map(|&(code, name, _)| if codes { code } else { name })
        .collect()
}

/// The pre-2019 code of the older column that holds today's column `current`, if any.
pub(super) fn code_of(penalty: bool, current: usize) -> Option<&'static str> {
    columns(penalty)
        .iter()
        .find_map(|&(code, _, from)| match from {
            From::Col(c) if c == current => Some(code),
            From::ResidentId if current == party::ID => Some(code),
            _ => None,
        })
}

/// Projects a row of today's layout (`row`, possibly broken on purpose) onto the older
/// layout, into `out`.
pub(super) fn project(penalty: bool, row: &[String], body: &RecordBody, out: &mut Vec<String>) {
    out.clear();
    let categories = if penalty { row[17].as_str() } else { "" };
    let (first, others) = categories.split_once(';').unwrap_or((categories, ""));
    for &(_, _, from) in columns(penalty) {
        out.push(match from {
            From::Col(c) => row[c].clone(),
            From::FirstCategory => first.to_string(),
            From::OtherCategories => others.to_string(),
            From::ResidentId if row[party::ID_TYPE] == "身份证" => row[party::ID].clone(),
            From::ResidentId => String::new(),
            From::State => "正常".into(),
            From::LocalCode => body
                .authority
                .uscc
                .map(|u| u.division().to_string())
                .unwrap_or_default(),
            From::Updated => body.decision_date.to_string(),
        });
    }
}

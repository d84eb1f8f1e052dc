//! The columns of the national 双公示 files (today's layout: `CF_…` penalties, `XK_…`
//! licences, by code or by Chinese name) and money in 万元, exactly.

/// Penalty file column codes.
pub const PENALTY_CODES: [&str; 30] = [
    "CF_XDR_MC",
    "CF_XDR_LB",
    "CF_XDR_SHXYM",
    "CF_XDR_GSZC",
    "CF_XDR_ZZJG",
    "CF_XDR_SWDJ",
    "CF_XDR_SYDW",
    "CF_XDR_SHZZ",
    "CF_FRDB",
    "CF_FR_ZJLX",
    "CF_FR_ZJHM",
    "CF_XDR_ZJLX",
    "CF_XDR_ZJHM",
    "CF_WSH",
    "CF_WFXW",
    "CF_SY",
    "CF_YJ",
    "CF_CFLB",
    "CF_NR",
    "CF_NR_FK",
    "CF_NR_WFFF",
    "CF_NR_ZKDX",
    "CF_JDRQ",
    "CF_YXQ",
    "CF_GSJZQ",
    "CF_CFJG",
    "CF_CFJGDM",
    "CF_SJLY",
    "CF_SJLYDM",
    "BZ",
];

/// Licence file column codes.
pub const LICENCE_CODES: [&str; 28] = [
    "XK_XDR_MC",
    "XK_XDR_LB",
    "XK_XDR_SHXYM",
    "XK_XDR_GSZC",
    "XK_XDR_ZZJG",
    "XK_XDR_SWDJ",
    "XK_XDR_SYDW",
    "XK_XDR_SHZZ",
    "XK_FRDB",
    "XK_FR_ZJLX",
    "XK_FR_ZJHM",
    "XK_XDR_ZJLX",
    "XK_XDR_ZJHM",
    "XK_XKWS",
    "XK_WSH",
    "XK_XKLB",
    "XK_XKZS",
    "XK_XKBH",
    "XK_NR",
    "XK_JDRQ",
    "XK_YXQZ",
    "XK_YXQZI",
    "XK_XKJG",
    "XK_XKJGDM",
    "XK_ZT",
    "XK_LYDW",
    "XK_LYDWDM",
    "BZ",
];

const COMMON_NAMES: [&str; 13] = [
    "行政相对人名称",
    "行政相对人类别",
    "统一社会信用代码",
    "工商注册号",
    "组织机构代码",
    "税务登记号",
    "事业单位证书号",
    "社会组织登记证号",
    "法定代表人",
    "法定代表人证件类型",
    "法定代表人证件号码",
    "证件类型",
    "证件号码",
];

const PENALTY_NAMES: [&str; 17] = [
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "没收违法所得、没收非法财物的金额（万元）",
    "暂扣或吊销证照名称及编号",
    "处罚决定日期",
    "处罚有效期",
    "公示截止期",
    "处罚机关",
    "处罚机关统一社会信用代码",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
    "备注",
];

const LICENCE_NAMES: [&str; 15] = [
    "行政许可决定文书名称",
    "行政许可决定文书号",
    "许可类别",
    "许可证书名称",
    "许可编号",
    "许可内容",
    "许可决定日期",
    "有效期自",
    "有效期至",
    "许可机关",
    "许可机关统一社会信用代码",
    "当前状态",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
    "备注",
];

/// The Chinese header of the penalty file (`penalty`) or the licence file.
pub fn chinese_names(penalty: bool) -> Vec<&'static str> {
    let tail: &[&str] = if penalty {
        &PENALTY_NAMES
    } else {
        &LICENCE_NAMES
    };
    COMMON_NAMES.iter().chain(tail).copied().collect()
}

/// Party column indexes, the same in both files.
pub mod party {
    /// Name (`*_XDR_MC`).
    pub const NAME: usize = 0;
    /// Party kind (`*_XDR_LB`).
    pub const KIND: usize = 1;
    /// USCC (`*_XDR_SHXYM`).
    pub const USCC: usize = 2;
    /// Business registration number (`*_XDR_GSZC`).
    pub const REG_NO: usize = 3;
    /// Organisation code (`*_XDR_ZZJG`).
    pub const ORG_CODE: usize = 4;
    /// Tax registration number (`*_XDR_SWDJ`).
    pub const TAX_NO: usize = 5;
    /// Public institution certificate number (`*_XDR_SYDW`).
    pub const INSTITUTION_NO: usize = 6;
    /// Social organisation registration number (`*_XDR_SHZZ`).
    pub const SOCIAL_ORG_NO: usize = 7;
    /// Legal representative (`*_FRDB`).
    pub const REP: usize = 8;
    /// Representative's document type (`*_FR_ZJLX`).
    pub const REP_ID_TYPE: usize = 9;
    /// Representative's document number (`*_FR_ZJHM`).
    pub const REP_ID: usize = 10;
    /// Natural person's document type (`*_XDR_ZJLX`).
    pub const ID_TYPE: usize = 11;
    /// Natural person's document number (`*_XDR_ZJHM`).
    pub const ID: usize = 12;
}

/// Formats an amount in fen as 万元, exactly: 1 万元 is 1,000,000 fen, so six decimals
/// always suffice (`5000000` → `5`, `123456` → `0.123456`, `-150` → `-0.00015`).
pub fn fen_to_wan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let (whole, frac) = (abs / 1_000_000, abs % 1_000_000);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{frac:06}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// Parses an amount in 万元 with at most six decimals back to fen; `None` for anything
/// else (more decimals, no digits, overflow).
pub fn wan_to_fen(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 6 {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    let fen = whole.checked_mul(1_000_000)?.checked_add(frac)?;
    Some(if negative { -fen } else { fen })
}

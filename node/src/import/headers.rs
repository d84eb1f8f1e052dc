//! Header recognition: which column holds which field, and whether the file holds
//! penalties or licences.
//!
//! A header cell is recognised by its national column code (`CF_XDR_MC`, `XK_WSH`,
//! `BZ`, case-insensitive) or by the Chinese name used in national and provincial
//! templates (`行政相对人名称`, `罚款金额（万元）`, …). Before lookup a header is
//! normalised: a byte-order mark, surrounding spaces and template markers (`*`) are
//! dropped, full-width parentheses become ASCII ones, inner white space is removed and
//! ASCII letters are upper-cased. A name in the form `行政相对人代码_1(统一社会信用代码)`
//! is recognised by the name in parentheses.

use super::FileKind;

/// Declares the fields of the format once: the enum and the list of all of them.
macro_rules! fields {
    ($($name:ident),* $(,)?) => {
        /// A field of the national 双公示 format, whatever the column is called in a file.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Field {
            $($name),*
        }

        /// Every field, for table lookups.
        const ALL: &[Field] = &[$(Field::$name),*];
    };
}

fields!(
    PartyName,
    PartyKind,
    Uscc,
    RegNo,
    OrgCode,
    TaxNo,
    InstitutionNo,
    SocialOrgNo,
    RepName,
    RepIdType,
    RepIdNo,
    PartyIdType,
    PartyIdNo,
    DecisionNo,
    DecisionDate,
    Authority,
    AuthorityUscc,
    SourceUnit,
    SourceUnitUscc,
    Remarks,
    ViolationType,
    Facts,
    LegalBasis,
    PenaltyCategory,
    PenaltyContent,
    Fine,
    Confiscated,
    LicenceAffected,
    PenaltyValidUntil,
    PublicationEnd,
    DocumentName,
    LicenceCategory,
    CertificateName,
    LicenceNo,
    LicenceContent,
    ValidFrom,
    ValidTo,
    LicenceState,
    ListName,
    ListType,
    ListReason,
    ListValidUntil,
    RemovalDate,
    RemovalReason,
    FiledOn,
    BasisIssuer,
    Obligation,
    Performance,
    MappingDate,
    CaseName,
    PenaltyCategory2,
    PenaltyState,
    LocalCode,
    UpdatedAt,
);

use Field::*;

/// Chinese column names, with the file kind they belong to (`None`: both kinds).
const NAMES: &[(&str, Field, Option<FileKind>)] = &[
    ("行政相对人名称", PartyName, None),
    ("相对人名称", PartyName, None),
    ("行政相对人类别", PartyKind, None),
    ("行政相对人类型", PartyKind, None),
    ("统一社会信用代码", Uscc, None),
    ("工商注册号", RegNo, None),
    ("组织机构代码", OrgCode, None),
    ("税务登记号", TaxNo, None),
    ("事业单位证书号", InstitutionNo, None),
    ("社会组织登记证号", SocialOrgNo, None),
    ("法定代表人", RepName, None),
    ("法定代表人姓名", RepName, None),
    ("法定代表人证件类型", RepIdType, None),
    ("法定代表人证件号码", RepIdNo, None),
    ("证件类型", PartyIdType, None),
    ("证件号码", PartyIdNo, None),
    ("数据来源单位", SourceUnit, None),
    ("数据来源单位统一社会信用代码", SourceUnitUscc, None),
    ("备注", Remarks, None),
    ("行政处罚决定书文号", DecisionNo, Some(FileKind::Penalty)),
    ("处罚决定书文号", DecisionNo, Some(FileKind::Penalty)),
    ("违法行为类型", ViolationType, Some(FileKind::Penalty)),
    ("违法事实", Facts, Some(FileKind::Penalty)),
    ("处罚依据", LegalBasis, Some(FileKind::Penalty)),
    ("处罚类别", PenaltyCategory, Some(FileKind::Penalty)),
    ("处罚内容", PenaltyContent, Some(FileKind::Penalty)),
    ("罚款金额(万元)", Fine, Some(FileKind::Penalty)),
    (
        "没收违法所得、没收非法财物的金额(万元)",
        Confiscated,
        Some(FileKind::Penalty),
    ),
    (
        "暂扣或吊销证照名称及编号",
        LicenceAffected,
        Some(FileKind::Penalty),
    ),
    ("处罚决定日期", DecisionDate, Some(FileKind::Penalty)),
    ("处罚有效期", PenaltyValidUntil, Some(FileKind::Penalty)),
    ("公示截止期", PublicationEnd, Some(FileKind::Penalty)),
    ("处罚机关", Authority, Some(FileKind::Penalty)),
    (
        "处罚机关统一社会信用代码",
        AuthorityUscc,
        Some(FileKind::Penalty),
    ),
    (
        "行政许可决定文书名称",
        DocumentName,
        Some(FileKind::Licence),
    ),
    ("行政许可决定文书号", DecisionNo, Some(FileKind::Licence)),
    ("许可类别", LicenceCategory, Some(FileKind::Licence)),
    ("许可证书名称", CertificateName, Some(FileKind::Licence)),
    ("许可编号", LicenceNo, Some(FileKind::Licence)),
    ("许可内容", LicenceContent, Some(FileKind::Licence)),
    ("许可决定日期", DecisionDate, Some(FileKind::Licence)),
    ("有效期自", ValidFrom, Some(FileKind::Licence)),
    ("有效期至", ValidTo, Some(FileKind::Licence)),
    ("许可机关", Authority, Some(FileKind::Licence)),
    (
        "许可机关统一社会信用代码",
        AuthorityUscc,
        Some(FileKind::Licence),
    ),
    ("当前状态", LicenceState, Some(FileKind::Licence)),
    // Red and black lists (名单).
    ("名单名称", ListName, Some(FileKind::List)),
    ("名单类型", ListType, Some(FileKind::List)),
    ("名单类别", ListType, Some(FileKind::List)),
    ("主体名称", PartyName, None),
    ("主体类别", PartyKind, None),
    ("认定单位", Authority, Some(FileKind::List)),
    ("认定部门", Authority, Some(FileKind::List)),
    (
        "认定单位统一社会信用代码",
        AuthorityUscc,
        Some(FileKind::List),
    ),
    ("认定依据", LegalBasis, Some(FileKind::List)),
    ("认定文号", DecisionNo, Some(FileKind::List)),
    ("认定依据文号", DecisionNo, Some(FileKind::List)),
    ("认定文书号", DecisionNo, Some(FileKind::List)),
    ("列入事由", ListReason, Some(FileKind::List)),
    ("列入原因", ListReason, Some(FileKind::List)),
    ("列入日期", DecisionDate, Some(FileKind::List)),
    ("认定日期", DecisionDate, Some(FileKind::List)),
    ("有效期至", ListValidUntil, Some(FileKind::List)),
    ("移出日期", RemovalDate, Some(FileKind::List)),
    ("移出事由", RemovalReason, Some(FileKind::List)),
    ("移出原因", RemovalReason, Some(FileKind::List)),
    // Dishonest judgment debtors (失信被执行人), as courts publish them.
    ("失信被执行人名称", PartyName, Some(FileKind::CourtList)),
    ("被执行人姓名/名称", PartyName, Some(FileKind::CourtList)),
    ("被执行人名称", PartyName, Some(FileKind::CourtList)),
    ("名称/姓名", PartyName, Some(FileKind::CourtList)),
    ("姓名/名称", PartyName, Some(FileKind::CourtList)),
    (
        "身份证号码/组织机构代码",
        PartyIdNo,
        Some(FileKind::CourtList),
    ),
    (
        "证件号码/组织机构代码",
        PartyIdNo,
        Some(FileKind::CourtList),
    ),
    ("执行法院", Authority, Some(FileKind::CourtList)),
    ("案号", DecisionNo, Some(FileKind::CourtList)),
    ("立案时间", FiledOn, Some(FileKind::CourtList)),
    ("执行依据文号", LegalBasis, Some(FileKind::CourtList)),
    ("做出执行依据单位", BasisIssuer, Some(FileKind::CourtList)),
    ("作出执行依据单位", BasisIssuer, Some(FileKind::CourtList)),
    (
        "生效法律文书确定的义务",
        Obligation,
        Some(FileKind::CourtList),
    ),
    ("被执行人的履行情况", Performance, Some(FileKind::CourtList)),
    ("履行情况", Performance, Some(FileKind::CourtList)),
    (
        "失信被执行人行为具体情形",
        ListReason,
        Some(FileKind::CourtList),
    ),
    ("失信行为具体情形", ListReason, Some(FileKind::CourtList)),
    ("发布时间", DecisionDate, Some(FileKind::CourtList)),
    // Old and new codes (新旧代码映射).
    ("原组织机构代码", OrgCode, Some(FileKind::Mapping)),
    ("原工商注册号", RegNo, Some(FileKind::Mapping)),
    ("原税务登记号", TaxNo, Some(FileKind::Mapping)),
    ("映射日期", MappingDate, Some(FileKind::Mapping)),
    ("赋码日期", MappingDate, Some(FileKind::Mapping)),
];

impl Field {
    /// The national column code of this field in a file of `kind`, if the kind has it.
    pub(crate) fn code(self, kind: FileKind) -> Option<&'static str> {
        if !matches!(kind, FileKind::Penalty | FileKind::Licence) {
            // List, court and mapping files have no national column codes; `BZ` is
            // understood everywhere.
            return (self == Remarks).then_some("BZ");
        }
        let p = kind == FileKind::Penalty;
        let pick = |cf: &'static str, xk: &'static str| Some(if p { cf } else { xk });
        match self {
            PartyName => pick("CF_XDR_MC", "XK_XDR_MC"),
            PartyKind => pick("CF_XDR_LB", "XK_XDR_LB"),
            Uscc => pick("CF_XDR_SHXYM", "XK_XDR_SHXYM"),
            RegNo => pick("CF_XDR_GSZC", "XK_XDR_GSZC"),
            OrgCode => pick("CF_XDR_ZZJG", "XK_XDR_ZZJG"),
            TaxNo => pick("CF_XDR_SWDJ", "XK_XDR_SWDJ"),
            InstitutionNo => pick("CF_XDR_SYDW", "XK_XDR_SYDW"),
            SocialOrgNo => pick("CF_XDR_SHZZ", "XK_XDR_SHZZ"),
            RepName => pick("CF_FRDB", "XK_FRDB"),
            RepIdType => pick("CF_FR_ZJLX", "XK_FR_ZJLX"),
            RepIdNo => pick("CF_FR_ZJHM", "XK_FR_ZJHM"),
            PartyIdType => pick("CF_XDR_ZJLX", "XK_XDR_ZJLX"),
            PartyIdNo => pick("CF_XDR_ZJHM", "XK_XDR_ZJHM"),
            DecisionNo => pick("CF_WSH", "XK_WSH"),
            DecisionDate => pick("CF_JDRQ", "XK_JDRQ"),
            Authority => pick("CF_CFJG", "XK_XKJG"),
            AuthorityUscc => pick("CF_CFJGDM", "XK_XKJGDM"),
            SourceUnit => pick("CF_SJLY", "XK_LYDW"),
            SourceUnitUscc => pick("CF_SJLYDM", "XK_LYDWDM"),
            Remarks => Some("BZ"),
            ViolationType => p.then_some("CF_WFXW"),
            Facts => p.then_some("CF_SY"),
            LegalBasis => p.then_some("CF_YJ"),
            PenaltyCategory => p.then_some("CF_CFLB"),
            PenaltyContent => p.then_some("CF_NR"),
            Fine => p.then_some("CF_NR_FK"),
            Confiscated => p.then_some("CF_NR_WFFF"),
            LicenceAffected => p.then_some("CF_NR_ZKDX"),
            PenaltyValidUntil => p.then_some("CF_YXQ"),
            PublicationEnd => p.then_some("CF_GSJZQ"),
            DocumentName => (!p).then_some("XK_XKWS"),
            LicenceCategory => (!p).then_some("XK_XKLB"),
            CertificateName => (!p).then_some("XK_XKZS"),
            LicenceNo => (!p).then_some("XK_XKBH"),
            LicenceContent => (!p).then_some("XK_NR"),
            ValidFrom => (!p).then_some("XK_YXQZ"),
            ValidTo => (!p).then_some("XK_YXQZI"),
            LicenceState => (!p).then_some("XK_ZT"),
            // Older layouts only (see the `layouts` module): their codes name them in
            // messages and as keys of `RecordBody::extra`.
            CaseName => p.then_some("CF_CFMC"),
            PenaltyCategory2 => p.then_some("CF_CFLB2"),
            PenaltyState => p.then_some("CF_ZT"),
            LocalCode => Some("DFBM"),
            UpdatedAt => Some("SJC"),
            ListName | ListType | ListReason | ListValidUntil | RemovalDate | RemovalReason
            | FiledOn | BasisIssuer | Obligation | Performance | MappingDate => None,
        }
    }

    /// Whether only the older layouts have this field (today's lookup ignores it).
    pub(crate) fn is_older_only(self) -> bool {
        matches!(
            self,
            CaseName | PenaltyCategory2 | PenaltyState | LocalCode | UpdatedAt
        )
    }

    /// The code, else the first Chinese name, of this field in a file of `kind` (a
    /// placeholder for fields the kind lacks, which no kind reads).
    pub(crate) fn code_or_name(self, kind: FileKind) -> &'static str {
        self.code(kind)
            .or_else(|| self.chinese_name(kind))
            .unwrap_or("(unknown column)")
    }

    /// The first Chinese column name of this field in a file of `kind`.
    pub(crate) fn chinese_name(self, kind: FileKind) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|&&(_, f, k)| f == self && (k.is_none() || k == Some(kind)))
            .map(|(name, ..)| *name)
    }

    /// How messages name a column the file lacks: `CF_WSH (行政处罚决定书文号)`.
    pub(crate) fn describe(self, kind: FileKind) -> String {
        match (self.code(kind), self.chinese_name(kind)) {
            (Some(code), Some(name)) => format!("{code} ({name})"),
            _ => self.code_or_name(kind).to_string(),
        }
    }

    /// Whether the column holds a natural person's identity number.
    pub(crate) fn is_personal(self) -> bool {
        matches!(self, PartyIdNo | RepIdNo)
    }
}

/// Columns every file of the kind must have. Penalties need the party's name and kind,
/// the decision number and date, the authority, the penalty category (severity is
/// derived from it) and the content; licences the same without the category, with the
/// licence content (`XK_NR`).
pub(crate) fn required(kind: FileKind) -> &'static [Field] {
    match kind {
        FileKind::Penalty => &[
            PartyName,
            PartyKind,
            DecisionNo,
            DecisionDate,
            Authority,
            PenaltyCategory,
            PenaltyContent,
        ],
        FileKind::Licence => &[
            PartyName,
            PartyKind,
            DecisionNo,
            DecisionDate,
            Authority,
            LicenceContent,
        ],
        FileKind::List => &[PartyName, Authority, DecisionDate, ListName, ListReason],
        FileKind::CourtList => &[PartyName, Authority, DecisionNo, FiledOn],
        FileKind::Mapping => &[PartyName, Uscc],
    }
}

/// Columns of which at least one must exist: the subject's identifiers.
pub(crate) const SUBJECT_IDS: [Field; 4] = [Uscc, RegNo, OrgCode, PartyIdNo];

/// Normalises a header cell for lookup (see the module documentation).
pub(crate) fn normalise(header: &str) -> String {
    let t = header.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let t = t.trim_matches(|c: char| c == '*' || c == '＊' || c.is_whitespace());
    t.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Headers that the reject file adds; they are ignored on import so that a corrected
/// reject file can be imported again.
pub(crate) fn is_reject_meta(normalised: &str) -> bool {
    matches!(normalised, "_LINE" | "_ERRORS" | "_SHEET")
}

/// What a normalised header says about the file kind: the kind whose column it is,
/// when it is a column of one kind only.
pub(crate) fn kind_hint(normalised: &str) -> Option<FileKind> {
    if normalised.starts_with("CF_") {
        return Some(FileKind::Penalty);
    }
    if normalised.starts_with("XK_") {
        return Some(FileKind::Licence);
    }
    let kinds: Vec<Option<FileKind>> = names_of(normalised).map(|(_, k)| k).collect();
    match kinds.as_slice() {
        [first, rest @ ..] if rest.iter().all(|k| k == first) => *first,
        _ => None,
    }
}

/// The names a normalised header may stand for, in order of preference: itself, the
/// name in parentheses (`行政相对人代码_1(统一社会信用代码)`), the name before them
/// (`法定代表人(负责人)`).
pub(crate) fn name_candidates(normalised: &str) -> Vec<&str> {
    let mut out = vec![normalised];
    if let Some(open) = normalised.find('(') {
        if let Some(inner) = normalised[open + 1..].strip_suffix(')') {
            out.push(inner);
            out.push(&normalised[..open]);
        }
    }
    out
}

/// The table entries a normalised header matches: those of the first of its
/// [`name_candidates`] that the table has.
fn names_of(normalised: &str) -> impl Iterator<Item = (Field, Option<FileKind>)> + '_ {
    let exact = move |n: &str| {
        NAMES
            .iter()
            .filter(move |(name, ..)| *name == n)
            .map(|&(_, f, k)| (f, k))
            .collect::<Vec<_>>()
    };
    name_candidates(normalised)
        .into_iter()
        .map(exact)
        .find(|hits| !hits.is_empty())
        .unwrap_or_default()
        .into_iter()
}

/// The field a normalised header names in a file of `kind`, if any.
pub(crate) fn lookup(normalised: &str, kind: FileKind) -> Option<Field> {
    if let Some(f) = ALL
        .iter()
        .find(|f| !f.is_older_only() && f.code(kind) == Some(normalised))
    {
        return Some(*f);
    }
    names_of(normalised)
        .find(|(_, k)| k.is_none() || *k == Some(kind))
        .map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_normalise_to_one_name() {
        for h in [
            "罚款金额（万元）",
            " 罚款金额(万元) ",
            "\u{feff}罚款金额 （万元）",
            "*罚款金额（万元）",
        ] {
            assert_eq!(lookup(&normalise(h), FileKind::Penalty), Some(Fine), "{h}");
        }
        assert_eq!(
            lookup(&normalise(" cf_xdr_mc "), FileKind::Penalty),
            Some(PartyName)
        );
        assert_eq!(lookup(&normalise("bz"), FileKind::Licence), Some(Remarks));
        assert_eq!(
            lookup(
                &normalise("行政相对人代码_1（统一社会信用代码）"),
                FileKind::Licence
            ),
            Some(Uscc)
        );
        assert_eq!(
            lookup(&normalise("法定代表人（负责人）"), FileKind::Licence),
            Some(RepName)
        );
    }

    #[test]
    fn kind_specific_columns_do_not_cross() {
        assert_eq!(lookup("CF_WSH", FileKind::Licence), None);
        assert_eq!(lookup("处罚机关", FileKind::Licence), None);
        assert_eq!(lookup("许可机关", FileKind::Licence), Some(Authority));
        assert_eq!(kind_hint("处罚类别"), Some(FileKind::Penalty));
        assert_eq!(kind_hint("行政相对人名称"), None);
    }

    #[test]
    fn every_field_has_a_code_or_a_name_in_some_kind() {
        let kinds = [
            FileKind::Penalty,
            FileKind::Licence,
            FileKind::List,
            FileKind::CourtList,
            FileKind::Mapping,
        ];
        for &f in ALL {
            assert!(
                kinds
                    .iter()
                    .any(|&k| f.code(k).is_some() || f.chinese_name(k).is_some()),
                "{f:?}"
            );
        }
    }

    #[test]
    fn list_court_and_mapping_headers_tell_their_kind() {
        assert_eq!(kind_hint("认定单位"), Some(FileKind::List));
        assert_eq!(kind_hint("执行法院"), Some(FileKind::CourtList));
        // A name two kinds use hints at neither, and resolves per kind.
        assert_eq!(kind_hint("有效期至"), None);
        assert_eq!(lookup("有效期至", FileKind::List), Some(ListValidUntil));
        assert_eq!(lookup("有效期至", FileKind::Licence), Some(ValidTo));
        assert_eq!(lookup("案号", FileKind::CourtList), Some(DecisionNo));
        assert_eq!(lookup("案号", FileKind::Penalty), None);
    }
}

//! Small, fixed records for tests of this crate and its dependants.

use std::collections::BTreeMap;

use crate::date::Date;
use crate::ids::{DivisionCode, Subject, SubjectId, SubjectKind, Uscc};
use crate::record::{
    Authority, Details, PenaltyDetails, Record, RecordBody, RecordKey, RecordKind, RecordStatus,
    Severity, Version,
};

/// A valid penalty record at origin Suzhou (`320500`); `n` varies its decision number,
/// so different `n` give different keys.
pub fn sample_record(n: u32) -> Record {
    let origin = DivisionCode::parse("320500").unwrap_or(DivisionCode::NATIONAL);
    let body = sample_body(n, "91110000600037341L");
    let key = RecordKey::derive(origin, RecordKind::PENALTY, &body);
    Record {
        key,
        version: Version(1_700_000_000_000 << 16),
        body: Some(body),
    }
}

/// A penalty body about the organisation with the given USCC.
pub fn sample_body(n: u32, uscc: &str) -> RecordBody {
    let id = Uscc::parse(uscc)
        .map(SubjectId::Uscc)
        .unwrap_or_else(|e| panic!("sample USCC {uscc}: {e}"));
    RecordBody {
        subject: Subject {
            kind: SubjectKind::LegalPerson,
            name: "示例科技有限公司".into(),
            id,
        },
        other_ids: vec![],
        representative: None,
        authority: Authority {
            name: "苏州市市场监督管理局".into(),
            uscc: None,
        },
        source_unit: None,
        decision_no: format!("苏市监罚〔2024〕{n}号"),
        decision_date: Date::new(2024, 3, 5).unwrap_or_else(|| unreachable!()),
        published_on: None,
        publication_end: None,
        severity: Severity::General,
        status: RecordStatus::Active,
        details: Details::Penalty(PenaltyDetails {
            violation_type: "虚假宣传".into(),
            facts: "发布虚假广告".into(),
            legal_basis: "《中华人民共和国广告法》第五十五条".into(),
            categories: vec!["罚款".into()],
            content: "罚款人民币五万元".into(),
            fine_fen: Some(5_000_000),
            confiscated_fen: None,
            licence_affected: None,
            valid_until: None,
        }),
        extra: BTreeMap::new(),
    }
}

/// A penalty body about an organisation registered in `division` (six digits).
pub fn body_about(n: u32, division: &str) -> RecordBody {
    let uscc = Uscc::with_checks(&format!("91{division}MA1MEXXM"))
        .unwrap_or_else(|e| panic!("sample USCC in {division}: {e}"));
    sample_body(n, uscc.as_str())
}

/// Record bodies of form 2 (what link version 3 added): a penalty of a passport
/// holder, a black-list entry with its review trail, a code mapping. Fixed content,
/// for fixtures and tests.
pub fn form2_bodies() -> Vec<(RecordKind, RecordBody)> {
    use crate::ids::{DocumentKind, OrgCode, PersonDocument, RegNo, TaxNo};
    use crate::record::{ListingDetails, MappingDetails, ReviewAction, ReviewStep};
    let mut passport = sample_body(900, "91110000600037341L");
    passport.subject = Subject {
        kind: SubjectKind::NaturalPerson,
        name: "JOHN SMITH".into(),
        id: PersonDocument::parse(DocumentKind::Passport, "E12345678")
            .map(SubjectId::Document)
            .unwrap_or_else(|e| panic!("sample passport: {e}")),
    };
    let mut listed = sample_body(901, "91110000600037341L");
    listed.severity = Severity::Serious;
    listed.details = Details::Listing(ListingDetails {
        list_name: "重大税收违法失信主体名单".into(),
        reason: "虚开增值税专用发票".into(),
        legal_basis: "《重大税收违法失信主体信息公布管理办法》".into(),
        valid_until: Date::new(2027, 3, 5),
        court: None,
        removal: None,
        review: [
            (ReviewAction::Proposed, "alice"),
            (ReviewAction::Reviewed, "bob"),
            (ReviewAction::Confirmed, "bob"),
            (ReviewAction::Published, "bob"),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (action, by))| ReviewStep {
            action,
            by: by.into(),
            at_ms: 1_700_000_000_000 + i as u64 * 60_000,
            note: String::new(),
        })
        .collect(),
    });
    let mut mapping = sample_body(0, "91110000600037341L");
    mapping.decision_no = String::new();
    mapping.details = Details::Mapping(MappingDetails {
        note: "新旧代码映射".into(),
    });
    mapping.severity = Severity::NotApplicable;
    mapping.other_ids = [
        OrgCode::parse("600037341").map(SubjectId::OrgCode),
        RegNo::with_check("11000000000001").map(SubjectId::RegNo),
        TaxNo::parse("110108600037341").map(SubjectId::TaxNo),
    ]
    .into_iter()
    .map(|r| r.unwrap_or_else(|e| panic!("sample old code: {e}")))
    .collect();
    vec![
        (RecordKind::PENALTY, passport),
        (RecordKind::BLACK_LIST, listed),
        (RecordKind::SUBJECT_MAPPING, mapping),
    ]
}

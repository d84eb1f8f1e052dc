//! Writing red/black-list, court (失信被执行人) and code-mapping files, with Chinese
//! headers as the national and court publications use, in UTF-8 or GB18030.

use std::io::Write;

use credithub_protocol::ids::{RegNo, SubjectId};
use credithub_protocol::record::Details;
use credithub_protocol::{RecordBody, RecordKind};

use super::GenerateError;
use credithub_node::export::file::Transcoder;

/// The header of a red- and black-list file.
pub(super) const LIST_HEADER: [&str; 17] = [
    "名单名称",
    "名单类型",
    "主体名称",
    "统一社会信用代码",
    "组织机构代码",
    "证件类型",
    "证件号码",
    "法定代表人",
    "认定单位",
    "认定单位统一社会信用代码",
    "认定依据",
    "认定文号",
    "列入事由",
    "列入日期",
    "有效期至",
    "移出日期",
    "移出事由",
];

/// The header of a court file of dishonest judgment debtors.
pub(super) const COURT_HEADER: [&str; 12] = [
    "失信被执行人名称",
    "身份证号码/组织机构代码",
    "法定代表人",
    "执行法院",
    "案号",
    "立案时间",
    "执行依据文号",
    "做出执行依据单位",
    "生效法律文书确定的义务",
    "被执行人的履行情况",
    "失信被执行人行为具体情形",
    "发布时间",
];

/// The header of a code-mapping file.
pub(super) const MAPPING_HEADER: [&str; 5] = [
    "主体名称",
    "统一社会信用代码",
    "原组织机构代码",
    "原工商注册号",
    "原税务登记号",
];

fn date(d: Option<credithub_protocol::Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// A list row of a red-list or black-list body (the generator's list entries).
fn list_row(kind: RecordKind, b: &RecordBody) -> Option<Vec<String>> {
    let Details::ListEntry(l) = &b.details else {
        return None;
    };
    let (uscc, org, doc_type, doc) = match &b.subject.id {
        SubjectId::Uscc(u) => (u.to_string(), u.org_code().to_string(), "", String::new()),
        SubjectId::OrgCode(o) => (String::new(), o.to_string(), "", String::new()),
        SubjectId::ResidentId(r) => (
            String::new(),
            String::new(),
            "身份证",
            r.unmasked().to_string(),
        ),
        other => (String::new(), String::new(), "", other.unmasked()),
    };
    Some(vec![
        l.list_name.clone(),
        if kind == RecordKind::RED_LIST {
            "红名单"
        } else {
            "黑名单"
        }
        .into(),
        b.subject.name.clone(),
        uscc,
        org,
        doc_type.into(),
        doc,
        b.representative
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        b.authority.name.clone(),
        b.authority.uscc.map(|u| u.to_string()).unwrap_or_default(),
        l.legal_basis.clone(),
        b.decision_no.clone(),
        l.reason.clone(),
        b.decision_date.to_string(),
        date(l.valid_until),
        String::new(),
        String::new(),
    ])
}

/// A court row of a debtor body.
fn court_row(b: &RecordBody) -> Option<Vec<String>> {
    let Details::DishonestDebtor(d) = &b.details else {
        return None;
    };
    Some(vec![
        b.subject.name.clone(),
        b.subject.id.unmasked(),
        b.representative
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        d.court.clone(),
        d.case_no.clone(),
        d.filed_on.to_string(),
        d.enforcement_basis.clone(),
        d.court.clone(),
        d.obligation.clone(),
        d.performance.clone(),
        d.dishonest_conduct.clone(),
        b.published_on.unwrap_or(b.decision_date).to_string(),
    ])
}

/// A mapping row of an organisation with a USCC: its organisation code, a
/// registration number of its registering division, and its old tax number.
fn mapping_row(b: &RecordBody, serial: u64) -> Option<Vec<String>> {
    let SubjectId::Uscc(u) = &b.subject.id else {
        return None;
    };
    let division = u.division().to_string();
    let reg = RegNo::with_check(&format!("{division}{:08}", serial % 100_000_000)).ok()?;
    Some(vec![
        b.subject.name.clone(),
        u.to_string(),
        u.org_code().to_string(),
        reg.to_string(),
        format!("{division}{}", u.org_code()),
    ])
}

/// Which of these files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFile {
    /// Red and black lists (bodies of both list kinds).
    Lists,
    /// Dishonest judgment debtors.
    Court,
    /// Old and new codes of organisations.
    Mapping,
}

/// Writes `bodies` as a file of `file`'s layout; bodies that do not fit it (a
/// natural person in a mapping file) are skipped. Returns rows and bytes written.
pub fn write_list_csv<W: Write>(
    file: ListFile,
    bodies: impl IntoIterator<Item = (RecordKind, RecordBody)>,
    out: W,
    gb18030: bool,
) -> Result<(u64, u64), GenerateError> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 16)
        .from_writer(Transcoder::new(out, gb18030));
    let header: &[&str] = match file {
        ListFile::Lists => &LIST_HEADER,
        ListFile::Court => &COURT_HEADER,
        ListFile::Mapping => &MAPPING_HEADER,
    };
    w.write_record(header)?;
    let mut rows = 0u64;
    for (i, (kind, body)) in bodies.into_iter().enumerate() {
        let row = match file {
            ListFile::Lists => list_row(kind, &body),
            ListFile::Court => court_row(&body),
            ListFile::Mapping => mapping_row(&body, i as u64 + 1),
        };
        if let Some(row) = row {
            w.write_record(&row)?;
            rows += 1;
        }
    }
    w.flush()?;
    let t = w
        .into_inner()
        .map_err(|e| GenerateError::Io(e.into_error()))?;
    let bytes = t.bytes;
    t.into_inner().flush()?;
    Ok((rows, bytes))
}

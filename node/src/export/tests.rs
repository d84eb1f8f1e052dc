use credithub_protocol::ids::{ResidentId, Subject, SubjectId, SubjectKind};
use credithub_protocol::record::Representative;
use credithub_protocol::testing::sample_body;

use super::layout::{party, PENALTY_CODES};
use super::rows::fill;
use super::*;

#[test]
fn headers_and_cell_kinds_cover_every_column() {
    let extra = vec!["DFBM".to_string(), "内部编号".to_string()];
    for kind in [FileKind::Penalty, FileKind::Licence] {
        for style in [HeaderStyle::Codes, HeaderStyle::Chinese] {
            let h = header(kind, style, &extra);
            assert_eq!(h.len(), kind.codes().len() + 2, "{kind} {style:?}");
            assert_eq!(h.last().map(String::as_str), Some("内部编号"));
        }
        assert_eq!(cell_kinds(kind, 2).len(), kind.codes().len() + 2);
    }
    let kinds = cell_kinds(FileKind::Penalty, 0);
    let at = |code: &str| PENALTY_CODES.iter().position(|c| *c == code).expect("code");
    assert_eq!(kinds[at("CF_JDRQ")], CellKind::Date);
    assert_eq!(kinds[at("CF_NR_FK")], CellKind::Amount);
    assert_eq!(kinds[at("CF_WSH")], CellKind::Text);
}

#[test]
fn a_row_places_kept_columns_and_masks_personal_numbers() {
    let mut body = sample_body(1, "91110000600037341L");
    body.extra.insert("BZ".into(), "备注文字".into());
    body.extra
        .insert("CF_XDR_SWDJ".into(), "320500600037341".into());
    body.extra.insert("DFBM".into(), "320500".into());
    body.representative = Some(Representative {
        name: "张伟".into(),
        id_type: Some("身份证".into()),
        id_number: Some("320583198506120034".into()),
    });
    let mut row = vec![String::new(); PENALTY_CODES.len()];
    let others = fill(FileKind::Penalty, &mut row, &body, Numbers::Masked).expect("a penalty");
    assert_eq!(others, vec![("DFBM", "320500")]);
    assert_eq!(row[party::TAX_NO], "320500600037341");
    assert_eq!(row.last().map(String::as_str), Some("备注文字"));
    assert_eq!(row[party::REP_ID], "320583********0034");
    fill(FileKind::Penalty, &mut row, &body, Numbers::Full).expect("a penalty");
    assert_eq!(row[party::REP_ID], "320583198506120034");
    assert!(fill(FileKind::Licence, &mut row, &body, Numbers::Full).is_none());

    body.subject = Subject {
        kind: SubjectKind::NaturalPerson,
        name: "李明".into(),
        id: SubjectId::ResidentId(ResidentId::parse("11010519491231002X").expect("id")),
    };
    fill(FileKind::Penalty, &mut row, &body, Numbers::Masked).expect("a penalty");
    assert_eq!(
        (row[party::NAME].as_str(), row[party::ID].as_str()),
        ("李**", "110105********002X")
    );
    fill(FileKind::Penalty, &mut row, &body, Numbers::Full).expect("a penalty");
    assert_eq!(
        (row[party::NAME].as_str(), row[party::ID].as_str()),
        ("李明", "11010519491231002X")
    );
}

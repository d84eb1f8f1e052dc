//! The column mapping of one file: its kind, what each header cell holds, and the
//! file-level header checks (duplicates, missing required columns).

use std::collections::HashMap;
use std::path::Path;

use csv::StringRecord;

use super::headers::{self, Field};
use super::layouts::{self, Layout};
use super::{FileKind, ImportError, Place};

/// What one column of the file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A field of the national format.
    Field(Field),
    /// An unknown column, kept in `RecordBody::extra` under this name.
    Extra(String),
    /// A column without a header, or one the reject file added.
    Ignored,
}

/// One column: its header as written (trimmed, without a byte-order mark) and target.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub header: String,
    pub target: Target,
}

/// The column mapping of a file.
#[derive(Debug, Clone)]
pub(crate) struct ColumnMap {
    pub kind: FileKind,
    pub layout: Layout,
    pub columns: Vec<Column>,
    index: HashMap<Field, usize>,
}

impl ColumnMap {
    /// Maps a header row, detecting the file kind and layout. `warnings` receives notes about
    /// columns that look like codes but are not known ones.
    pub(crate) fn new(
        path: &Path,
        at: &Place,
        header: &[String],
        warnings: &mut Vec<String>,
    ) -> Result<ColumnMap, ImportError> {
        let normalised: Vec<String> = header.iter().map(|h| headers::normalise(h)).collect();
        let kind = detect_kind(path, at, &normalised)?;
        let layout = layouts::detect(kind, &normalised);
        let mut columns = Vec::with_capacity(header.len());
        let mut index = HashMap::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut unrecognised = Vec::new();
        for (i, (raw, norm)) in header.iter().zip(&normalised).enumerate() {
            let text = clean_header(raw);
            let target = if norm.is_empty() || headers::is_reject_meta(norm) {
                Target::Ignored
            } else if let Some(f) = layouts::lookup(norm, kind, layout) {
                Target::Field(f)
            } else {
                if norm.starts_with("CF_") || norm.starts_with("XK_") {
                    warnings.push(format!(
                        "column {} ({text}) is not a known {} code; its values are kept as extra fields",
                        i + 1,
                        kind.name(),
                    ));
                }
                unrecognised.push(text.clone());
                Target::Extra(text.clone())
            };
            let key = match &target {
                Target::Field(f) => Some(f.code_or_name(kind).to_string()),
                Target::Extra(name) => Some(name.clone()),
                Target::Ignored => None,
            };
            if let Some(key) = key {
                if let Some(&first) = seen.get(&key) {
                    return Err(ImportError::DuplicateColumn {
                        file: path.to_path_buf(),
                        at: Box::new(at.clone()),
                        field: key,
                        first_column: clean_header(&header[first]),
                        second_column: text,
                        first: first + 1,
                        second: i + 1,
                    });
                }
                seen.insert(key, i);
            }
            if let Target::Field(f) = target {
                index.insert(f, i);
            }
            columns.push(Column {
                header: text,
                target,
            });
        }
        let mut missing: Vec<String> = layouts::required(kind, layout)
            .filter(|f| !index.contains_key(f))
            .map(|f| layouts::describe(f, kind, layout))
            .collect();
        if !headers::SUBJECT_IDS.iter().any(|f| index.contains_key(f)) {
            let any: Vec<String> = headers::SUBJECT_IDS
                .iter()
                .map(|&f| layouts::describe(f, kind, layout))
                .collect();
            missing.push(format!("one of {}", any.join(" / ")));
        }
        if !missing.is_empty() {
            return Err(ImportError::MissingColumns {
                at: at.clone(),
                file: path.to_path_buf(),
                missing,
                unrecognised,
            });
        }
        Ok(ColumnMap {
            kind,
            layout,
            columns,
            index,
        })
    }

    /// The trimmed value of `field` in `row`, or `None` when the column is absent or the
    /// value empty.
    pub(crate) fn get<'r>(&self, field: Field, row: &'r StringRecord) -> Option<&'r str> {
        let i = *self.index.get(&field)?;
        row.get(i).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Whether the file has a column for `field`.
    pub(crate) fn has(&self, field: Field) -> bool {
        self.index.contains_key(&field)
    }

    /// The field a header cell names in this file's kind and layout.
    pub(crate) fn lookup(&self, cell: &str) -> Option<Field> {
        layouts::lookup(&headers::normalise(cell), self.kind, self.layout)
    }

    /// The header of `field` as written in the file, or its column code when the file
    /// has no such column.
    pub(crate) fn header(&self, field: Field) -> String {
        match self.index.get(&field) {
            Some(&i) => self.columns[i].header.clone(),
            None => field.code_or_name(self.kind).to_string(),
        }
    }
}

/// A header as written, without a byte-order mark and surrounding white space.
fn clean_header(raw: &str) -> String {
    raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_string()
}

fn detect_kind(path: &Path, at: &Place, normalised: &[String]) -> Result<FileKind, ImportError> {
    let mut votes: Vec<(FileKind, usize)> = Vec::new();
    for h in normalised {
        if let Some(kind) = headers::kind_hint(h).or_else(|| layouts::kind_hint(h)) {
            match votes.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += 1,
                None => votes.push((kind, 1)),
            }
        }
    }
    let unknown = |reason: String| ImportError::UnknownKind {
        file: path.to_path_buf(),
        at: at.clone(),
        reason,
    };
    votes.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    match votes.as_slice() {
        [] => {
            // A file of codes only: a USCC and older codes beside it is a mapping.
            let has = |f: Field| {
                normalised
                    .iter()
                    .any(|h| headers::lookup(h, FileKind::Mapping) == Some(f))
            };
            if has(Field::Uscc) && (has(Field::OrgCode) || has(Field::RegNo) || has(Field::TaxNo)) {
                return Ok(FileKind::Mapping);
            }
            Err(unknown(
                "no CF_ (penalty) or XK_ (licence) column codes, no penalty-, licence-, list- or \
                 court-specific Chinese column names, and not a USCC beside older codes (a code \
                 mapping)"
                    .into(),
            ))
        }
        [(kind, _)] => Ok(*kind),
        [(kind, a), (_, b), ..] if a > b => Ok(*kind),
        [(k1, a), (k2, b), ..] => Err(unknown(format!(
            "{a} {} columns and {b} {} columns",
            k1.name(),
            k2.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(headers: &[&str]) -> Result<ColumnMap, ImportError> {
        let h: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        ColumnMap::new(Path::new("x.csv"), &Place::Line(1), &h, &mut Vec::new())
    }

    const PENALTY: [&str; 8] = [
        "CF_XDR_MC",
        "CF_XDR_LB",
        "CF_XDR_SHXYM",
        "CF_WSH",
        "CF_JDRQ",
        "CF_CFJG",
        "CF_CFLB",
        "CF_NR",
    ];

    #[test]
    fn minimal_penalty_header() {
        let m = map(&PENALTY).unwrap();
        assert_eq!(m.kind, FileKind::Penalty);
        assert_eq!(m.header(Field::Fine), "CF_NR_FK");
    }

    #[test]
    fn missing_and_duplicate_columns_are_named() {
        let err = map(&PENALTY[..6]).unwrap_err().to_string();
        assert!(
            err.contains(
                "x.csv: line 1: missing required column(s) CF_CFLB (处罚类别), CF_NR (处罚内容)"
            ),
            "{err}"
        );
        let mut dup = PENALTY.to_vec();
        dup.push("行政相对人名称");
        let err = map(&dup).unwrap_err();
        assert!(
            matches!(&err, ImportError::DuplicateColumn { first: 1, second: 9, field, .. } if field == "CF_XDR_MC"),
            "{err}"
        );
    }

    #[test]
    fn mixed_kinds_are_refused() {
        let err = map(&["CF_WSH", "XK_WSH", "名称"]).unwrap_err();
        assert!(matches!(err, ImportError::UnknownKind { .. }), "{err}");
        let err = map(&["名称", "代码"]).unwrap_err();
        assert!(matches!(err, ImportError::UnknownKind { .. }), "{err}");
    }
}

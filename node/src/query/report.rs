//! The credit report of a subject, as text for people (the JSON form is the
//! [`CreditReport`] itself).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::measures::CheckAnswer;
use super::SubjectAnswer;

/// A credit report: the records a reader may see, how fresh each origin is, and the
/// joint measures that apply today.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditReport {
    /// The records and their freshness.
    pub answer: SubjectAnswer,
    /// The measures that apply today, for every action.
    pub measures: CheckAnswer,
}

impl CreditReport {
    /// The report as text.
    pub fn to_text(&self) -> String {
        let a = &self.answer;
        let mut t = String::new();
        let _ = writeln!(t, "信用报告 Credit report");
        let _ = writeln!(t, "subject: {} {}", a.subject_name, a.subject);
        let _ = writeln!(t, "issued by node {} for {:?} readers", a.node, a.audience);
        if a.partial {
            let _ = writeln!(t, "PARTIAL: no answer from {}", a.unanswered.join(", "));
        }
        let _ = writeln!(t, "\nsources:");
        for o in &a.origins {
            let fresh = match o.synced_ms {
                None => "not yet synced".to_string(),
                Some(ms) => format!(
                    "synced {} s before this report",
                    a.at_ms.saturating_sub(ms) / 1000
                ),
            };
            let _ = writeln!(
                t,
                "  {} {}: {} record(s), via {}, {}",
                o.origin, o.name, o.records, o.via, fresh
            );
        }
        let _ = writeln!(t, "\nrecords ({}):", a.records.len());
        for r in &a.records {
            let _ = writeln!(
                t,
                "  [{}] {} {} {} — {} ({}){}",
                r.status,
                r.decision_date,
                r.kind,
                r.decision_no,
                r.authority,
                r.origin_name,
                r.objection
                    .as_ref()
                    .map(|o| format!("; objection pending: {o}"))
                    .unwrap_or_default()
            );
            if !r.summary.is_empty() {
                let _ = writeln!(t, "      {}", r.summary);
            }
        }
        let _ = writeln!(
            t,
            "\njoint measures in force ({}):",
            self.measures.applies.len()
        );
        for m in &self.measures.applies {
            let _ = writeln!(
                t,
                "  {}: {} — {} ({}; triggered by {} {})",
                m.action, m.measure, m.memorandum, m.basis, m.record.kind, m.record.decision_no
            );
        }
        if self.measures.applies.is_empty() {
            let _ = writeln!(t, "  none");
        }
        t
    }
}

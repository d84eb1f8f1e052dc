//! Administrative penalties: violations, categories, fines and confiscations.

use credithub_protocol::record::{Details, PenaltyDetails, Severity};
use credithub_protocol::RecordBody;
use rand::distributions::Distribution;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{AGENCIES, MARKET};
use super::records::{yuan, DOC_PENALTY};
use super::Generator;

/// Yuan amounts of round fines, in fen.
const GENERAL_FINES: &[i64] = &[
    200, 500, 1000, 2000, 3000, 5000, 8000, 10_000, 20_000, 30_000, 50_000,
];
const SERIOUS_FINES: &[i64] = &[
    50_000, 100_000, 200_000, 300_000, 500_000, 1_000_000, 2_000_000,
];

/// A fine in fen: mostly a round amount, else any amount with fen between `lo` and `hi` yuan.
fn fen(rng: &mut ChaCha8Rng, round: &[i64], lo: i64, hi: i64) -> i64 {
    if rng.gen_bool(0.75) {
        round[rng.gen_range(0..round.len())] * 100
    } else {
        rng.gen_range(lo * 100..hi * 100)
    }
}

impl Generator {
    /// An administrative penalty.
    pub(super) fn penalty(&mut self) -> RecordBody {
        let agency = self.tables.penalty_agencies.sample(&mut self.rng);
        let violation = AGENCIES[agency]
            .violations
            .choose(&mut self.rng)
            .unwrap_or(&AGENCIES[MARKET].violations[0]);
        let f = self.frame(&[70, 20, 10]);
        let roll: f64 = self.rng.gen();
        let severity = if roll < 0.2 {
            Severity::Light
        } else if roll < 0.85 {
            Severity::General
        } else {
            Severity::Serious
        };
        let mut categories: Vec<String> = Vec::with_capacity(2);
        let mut content = String::with_capacity(64);
        let (mut fine, mut confiscated, mut affected) = (None, None, None);
        match severity {
            Severity::Light => {
                let c = if self.rng.gen_bool(0.8) {
                    "警告"
                } else {
                    "通报批评"
                };
                categories.push(c.into());
                content.push_str(c);
            }
            _ => {
                let serious = severity == Severity::Serious;
                let amount = if serious {
                    fen(&mut self.rng, SERIOUS_FINES, 50_000, 5_000_000)
                } else {
                    fen(&mut self.rng, GENERAL_FINES, 100, 100_000)
                };
                let r: f64 = self.rng.gen();
                let person = f.member_ix.0 == 2;
                // The importer's severity policy reads the categories: only 吊销, 责令关闭,
                // 限制从业, 限制开展生产经营活动, … make a penalty serious.
                let (lead, lead_text): (Option<&str>, String) =
                    match (serious, violation.certificate) {
                        (true, Some(cert)) if r < 0.5 => {
                            affected = Some(self.certificate(cert, f.place));
                            (Some("吊销许可证"), format!("吊销{cert}"))
                        }
                        (true, _) if person => (Some("限制从业"), "限制从业一年".into()),
                        (true, _) if r < 0.75 => (
                            Some("限制开展生产经营活动"),
                            "限制开展生产经营活动三个月".into(),
                        ),
                        (true, _) => (Some("责令关闭"), "责令关闭".into()),
                        (false, Some(cert)) if r < 0.08 => {
                            affected = Some(self.certificate(cert, f.place));
                            (Some("暂扣许可证"), format!("暂扣{cert}三个月"))
                        }
                        (false, _) if r < 0.15 => (Some("责令停产停业"), "责令停产停业".into()),
                        (false, _) if r < 0.35 => (Some("警告"), "警告".into()),
                        (false, _) => (None, String::new()),
                    };
                if let Some(c) = lead {
                    categories.push(c.into());
                    content.push_str(&lead_text);
                    content.push('；');
                }
                if self.rng.gen_bool(if serious { 0.4 } else { 0.15 }) {
                    let c = fen(&mut self.rng, &[5_000, 10_000, 50_000], 500, 200_000);
                    categories.push("没收违法所得".into());
                    content.push_str("没收违法所得人民币");
                    yuan(c, &mut content);
                    content.push_str("元；");
                    confiscated = Some(c);
                }
                categories.push("罚款".into());
                content.push_str("罚款人民币");
                yuan(amount, &mut content);
                content.push('元');
                fine = Some(amount);
            }
        }
        let year = f.date.year();
        let decision_no = self.document_no(DOC_PENALTY, f.place, agency, year, "罚");
        let period = match severity {
            Severity::Light => 90,
            Severity::General => 365,
            _ => 3 * 365,
        };
        let end = f.date.add_days(period);
        let mut body = self.body(
            &f,
            self.authorities.get(f.place, agency).clone(),
            decision_no,
        );
        body.published_on = self.published(f.date);
        body.publication_end = end;
        body.severity = severity;
        body.status = self.negative_status(severity, f.date);
        body.source_unit = self.source_unit(f.place);
        body.details = Details::Penalty(PenaltyDetails {
            violation_type: violation.kind.into(),
            facts: format!("{}，违反了相关法律法规的规定", violation.facts),
            legal_basis: format!("依据{}", violation.basis),
            categories,
            content,
            fine_fen: fine,
            confiscated_fen: confiscated,
            licence_affected: affected,
            valid_until: end,
        });
        body
    }

    /// A certificate named with its number, as `CF_NR_ZKDX` gives it.
    fn certificate(&mut self, cert: &str, place: usize) -> String {
        let code = self.places.home[place].code;
        let serial = self.rng.gen_range(0..100_000_000);
        format!("{cert}（{code}{serial:08}）")
    }
}

//! Exports asked over the admin protocol ([`AdminRequest::ExportPlan`] and
//! [`AdminRequest::ExportPage`](crate::admin::AdminRequest::ExportPage)): the audience
//! is the certificate's to choose within its role, as for queries; full personal
//! numbers need an auditor certificate and a purpose, and every page written with them
//! is entered in the audit log.
//!
//! [`AdminRequest::ExportPlan`]: crate::admin::AdminRequest::ExportPlan

use anyhow::{bail, Context};
use credithub_protocol::lifecycle::Audience;
use credithub_protocol::RecordKey;

use super::reads::audience_for;
use super::Node;
use crate::admin::AdminResponse;
use crate::certs::Identity;
use crate::clock::today;
use crate::export::{self, Numbers, Selection};

/// Checks that `who` may export `selection`; returns the purpose for full numbers.
fn permitted(who: &Identity, selection: &Selection, purpose: Option<&str>) -> anyhow::Result<()> {
    audience_for(who, Some(selection.audience))?;
    if selection.numbers == Numbers::Full {
        audience_for(who, Some(Audience::Auditor)).context("full personal numbers in an export")?;
        if purpose.is_none_or(|p| p.trim().is_empty()) {
            bail!("an export with full personal numbers needs a stated purpose (--purpose); it is written to the audit log");
        }
    }
    Ok(())
}

/// Answers [`AdminRequest::ExportPlan`](crate::admin::AdminRequest::ExportPlan).
pub fn plan(
    node: &Node,
    who: &Identity,
    selection: &Selection,
    purpose: Option<&str>,
) -> anyhow::Result<AdminResponse> {
    permitted(who, selection, purpose)?;
    let plan = export::plan(&node.store, selection, &node.config.publication, today())?;
    tracing::info!(
        who = %who.name,
        kind = %selection.kind,
        within = %selection.within,
        records = plan.records,
        "export planned"
    );
    Ok(AdminResponse::ExportPlanned(plan))
}

/// Answers [`AdminRequest::ExportPage`](crate::admin::AdminRequest::ExportPage).
pub fn page(
    node: &Node,
    who: &Identity,
    selection: &Selection,
    purpose: Option<&str>,
    extra: &[String],
    after: Option<RecordKey>,
    limit: u32,
) -> anyhow::Result<AdminResponse> {
    permitted(who, selection, purpose)?;
    let page = export::page(
        &node.store,
        selection,
        extra,
        after,
        limit,
        &node.config.publication,
        today(),
    )?;
    let whom = format!("{}:{}@{}", who.role.as_str(), who.name, who.jurisdiction);
    export::audit_page(
        &node.store,
        &whom,
        purpose.unwrap_or_default(),
        selection,
        after,
        &page,
    )
    .context("writing the audit log")?;
    Ok(AdminResponse::ExportRows(page))
}

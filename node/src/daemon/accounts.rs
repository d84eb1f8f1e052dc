//! The accounts per reporting unit at a running node: its own, computed from its store
//! and kept for `accounts.refresh_secs`, and its children's, as they last sent them
//! (link version 4). Together they are what it sends its parent and what
//! `credit-admin accounts` and `report-card` read.

use std::time::Instant;

use credithub_protocol::accounts::{Month, NodeAccounts, SubtreeAccounts};
use credithub_protocol::DivisionCode;

use super::Node;
use crate::clock::{now_millis, today};
use crate::query::accounts::{self, AccountsOptions};

/// Own accounts as last computed: when, for which reporting children, and what.
pub(super) type Cached = (Instant, Vec<DivisionCode>, NodeAccounts);

impl Node {
    /// The accounts the children last sent, with their jurisdictions.
    fn children_accounts(&self) -> Vec<(DivisionCode, SubtreeAccounts)> {
        self.state()
            .children
            .values()
            .filter_map(|c| c.accounts.clone().map(|a| (c.report.jurisdiction, a)))
            .collect()
    }

    /// Computes the node's own accounts now, leaving out the origins of `children`
    /// (and keeps them).
    fn own_accounts_now(&self, children: Vec<DivisionCode>) -> anyhow::Result<NodeAccounts> {
        let a = &self.config.accounts;
        let opts = AccountsOptions {
            name: &self.identity.name,
            calendar: &self.config.calendar,
            matters: &self.config.matters,
            today: today(),
            months: a.months,
            children: children.clone(),
            objection_days: a.objection_days,
            repair_days: a.repair_days,
            now_ms: now_millis(),
        };
        let started = Instant::now();
        let own = accounts::compute(&self.store, &opts)?;
        tracing::debug!(
            units = own.units.len(),
            ms = started.elapsed().as_millis() as u64,
            "accounts computed"
        );
        *self
            .accounts_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), children, own.clone()));
        Ok(own)
    }

    /// The node's own accounts: kept ones younger than `accounts.refresh_secs` and
    /// made for the same reporting children, else computed now.
    fn own_accounts(
        &self,
        children: Vec<DivisionCode>,
        fresh: bool,
    ) -> anyhow::Result<NodeAccounts> {
        if !fresh {
            let refresh = self.config.accounts.refresh;
            let cache = self
                .accounts_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some((at, made_for, own)) = &*cache {
                if at.elapsed() < refresh && *made_for == children {
                    return Ok(own.clone());
                }
            }
        }
        self.own_accounts_now(children)
    }

    /// The accounts of this node (computed now when `fresh`) and of every node below
    /// it, as their last reports gave them, within the months this node keeps. The
    /// node's own leave out exactly the origins of the children whose accounts are
    /// included; a child that sent none (a link of version 3) is accounted for here,
    /// from its records as they arrived here and without its refused rows.
    pub fn subtree_accounts(&self, fresh: bool) -> anyhow::Result<SubtreeAccounts> {
        let children = self.children_accounts();
        let mut jurisdictions: Vec<DivisionCode> = children.iter().map(|(j, _)| *j).collect();
        jurisdictions.sort();
        let own = self.own_accounts(jurisdictions, fresh)?;
        let mut out = SubtreeAccounts { nodes: vec![own] };
        for (_, a) in children {
            out.nodes.extend(a.nodes);
        }
        let months = self.config.accounts.months;
        out.keep_from(Month::of(today()).minus(months.saturating_sub(1)));
        Ok(out)
    }

    /// What this node sends its parent: [`subtree_accounts`](Self::subtree_accounts),
    /// or, when its own cannot be computed, its children's alone (the failure is
    /// logged).
    pub fn accounts_for_parent(&self) -> SubtreeAccounts {
        match self.subtree_accounts(false) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "accounts could not be computed; sending the children's only");
                SubtreeAccounts {
                    nodes: self
                        .children_accounts()
                        .into_iter()
                        .flat_map(|(_, a)| a.nodes)
                        .collect(),
                }
            }
        }
    }
}

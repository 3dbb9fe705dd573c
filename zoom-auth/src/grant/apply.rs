//! The fold of a grant: no rules, total, never panics. An event before the creation changes
//! nothing. Every event drops the codes and families that expired by its time, so the state
//! stays as small as what can still be used.

use std::collections::BTreeMap;

use super::event::GrantEvent;
use super::state::{CodeRecord, Family, Grant, GrantState, GrantStatus, RETIRED_KEPT};

/// Folds one event into the grant.
pub fn apply(state: &mut Option<GrantState>, event: &GrantEvent) {
    if let GrantEvent::Created(e) = event {
        *state = Some(GrantState {
            grant: Grant {
                id: e.grant_id.clone(),
                account_id: e.account_id.clone(),
                user_id: e.user_id.clone(),
                client_id: e.client_id.clone(),
                scopes: e.scopes.clone(),
                status: GrantStatus::Active,
                created_at: e.created_at,
            },
            codes: BTreeMap::new(),
            next_code: 1,
            families: BTreeMap::new(),
            next_family: 1,
            revoked_reason: None,
        });
        return;
    }
    let Some(s) = state else { return };
    let now = event.at();
    s.codes.retain(|_, c| c.expires_at > now);
    s.families.retain(|_, f| f.expires_at > now);
    match event {
        GrantEvent::Created(_) => {}
        GrantEvent::ScopesExtended(e) => s.grant.scopes = e.scopes.clone(),
        GrantEvent::CodeIssued(e) => {
            s.codes.insert(
                e.code,
                CodeRecord {
                    hash: e.code_sha256.clone(),
                    client_id: e.client_id.clone(),
                    redirect_uri: e.redirect_uri.clone(),
                    code_challenge: e.code_challenge.clone(),
                    scopes: e.scopes.clone(),
                    expires_at: e.expires_at,
                    redeemed: false,
                },
            );
            s.next_code = s.next_code.max(e.code.saturating_add(1));
        }
        GrantEvent::CodeRedeemed(e) => {
            if let Some(c) = s.codes.get_mut(&e.code) {
                c.redeemed = true;
            }
        }
        GrantEvent::RefreshTokenIssued(e) => {
            let family = s.families.entry(e.family).or_insert_with(|| Family {
                client_id: e.client_id.clone(),
                scopes: e.scopes.clone(),
                generation: e.generation,
                hash: e.refresh_sha256.clone(),
                expires_at: e.expires_at,
                retired: Vec::new(),
            });
            if family.generation != e.generation {
                let old = std::mem::replace(&mut family.hash, e.refresh_sha256.clone());
                family.retired.push((family.generation, old));
                let excess = family.retired.len().saturating_sub(RETIRED_KEPT);
                family.retired.drain(..excess);
                family.generation = e.generation;
            }
            family.client_id = e.client_id.clone();
            family.scopes = e.scopes.clone();
            family.expires_at = e.expires_at;
            s.next_family = s.next_family.max(e.family.saturating_add(1));
        }
        GrantEvent::Revoked(e) => {
            s.grant.status = GrantStatus::Revoked;
            s.revoked_reason = Some(e.reason);
            s.codes.clear();
            s.families.clear();
        }
    }
}

//! Given/when/then tests of the grant aggregate's decisions, through zoom-core's kit: consent,
//! redemption, rotation, reuse and who may revoke.

#![allow(clippy::unwrap_used)]

use chrono::Duration;
use zoom_auth::grant::event::{GrantCodeIssued, GrantCodeRedeemed, GrantCreated, GrantRefreshTokenIssued};
use zoom_auth::grant::pkce::challenge_of;
use zoom_auth::grant::{Consent, GrantCommand, GrantEvent, GrantStatus, Grants, NewCode, RevokeReason};
use zoom_auth::secret::SecretHash;
use zoom_core::id::Name;
use zoom_core::principal::{Principal, Scope};
use zoom_core::testing::kit::{AggregateTest, t0};

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "https://cal.example/callback";

fn grant_id() -> Name {
    name("grt_1")
}

fn test(given: Vec<GrantEvent>) -> AggregateTest<Grants> {
    AggregateTest::of(Grants, grant_id(), given).as_system()
}

fn consent(scopes: &[Scope]) -> GrantCommand {
    GrantCommand::Consent(Consent {
        account_id: name("acme"),
        user_id: name("alice"),
        client_id: name("cal"),
        scopes: scopes.to_vec(),
        code: NewCode {
            hash: Some(SecretHash::of("code")),
            redirect_uri: REDIRECT.into(),
            code_challenge: challenge_of(VERIFIER),
        },
    })
}

fn created() -> GrantEvent {
    GrantEvent::Created(GrantCreated {
        grant_id: grant_id(),
        account_id: name("acme"),
        user_id: name("alice"),
        client_id: name("cal"),
        scopes: vec![Scope::MeetingRead],
        created_at: t0(),
    })
}

fn code_issued() -> GrantEvent {
    GrantEvent::CodeIssued(GrantCodeIssued {
        grant_id: grant_id(),
        code: 1,
        code_sha256: SecretHash::of("code"),
        client_id: name("cal"),
        redirect_uri: REDIRECT.into(),
        code_challenge: challenge_of(VERIFIER),
        scopes: vec![Scope::MeetingRead],
        expires_at: t0() + Duration::minutes(5),
        at: t0(),
    })
}

fn redeemed() -> Vec<GrantEvent> {
    vec![
        GrantEvent::CodeRedeemed(GrantCodeRedeemed {
            grant_id: grant_id(),
            code: 1,
            at: t0(),
        }),
        refresh_issued(1, "r1"),
    ]
}

fn refresh_issued(generation: u64, secret: &str) -> GrantEvent {
    GrantEvent::RefreshTokenIssued(GrantRefreshTokenIssued {
        grant_id: grant_id(),
        family: 1,
        generation,
        refresh_sha256: SecretHash::of(secret),
        client_id: name("cal"),
        scopes: vec![Scope::MeetingRead],
        expires_at: t0() + Duration::days(30),
        at: t0(),
    })
}

fn redeem(secret: &str, verifier: &str) -> GrantCommand {
    GrantCommand::Redeem {
        code: 1,
        presented: secret.into(),
        client_id: name("cal"),
        redirect_uri: REDIRECT.into(),
        code_verifier: verifier.into(),
        refresh: Some(SecretHash::of("r1")),
    }
}

fn refresh(generation: u64, secret: &str) -> GrantCommand {
    GrantCommand::Refresh {
        family: 1,
        generation,
        presented: secret.into(),
        client_id: name("cal"),
        scopes: None,
        refresh: Some(SecretHash::of("next")),
    }
}

/// A first consent creates the grant and issues code 1; a second extends the scopes.
#[test]
fn a_consent_creates_then_extends() {
    test(vec![])
        .when(consent(&[Scope::MeetingRead]))
        .then_types(&["grant.created", "grant.code_issued"])
        .then_fold(|s| {
            let s = s.as_ref().unwrap();
            assert_eq!(s.grant.status, GrantStatus::Active);
            assert_eq!(s.next_code, 2);
        });
    test(vec![created(), code_issued()])
        .when(consent(&[Scope::UserRead]))
        .then_types(&["grant.scopes_extended", "grant.code_issued"])
        .then_fold(|s| {
            assert_eq!(
                s.as_ref().unwrap().grant.scopes,
                vec![Scope::MeetingRead, Scope::UserRead]
            )
        });
    test(vec![created()])
        .when(consent(&[Scope::MeetingRead]))
        .then_types(&["grant.code_issued"]);
}

/// A revoked grant takes no consent (the directory makes a new grant).
#[test]
fn a_revoked_grant_takes_no_consent() {
    test(vec![created()])
        .when(GrantCommand::Revoke { reason: None })
        .then_types(&["grant.revoked"]);
    let revoked = GrantEvent::Revoked(zoom_auth::grant::event::GrantRevoked {
        grant_id: grant_id(),
        reason: RevokeReason::Admin,
        at: t0(),
    });
    test(vec![created(), revoked.clone()])
        .when(consent(&[Scope::MeetingRead]))
        .then_error("grant_revoked");
    test(vec![created(), revoked])
        .when(GrantCommand::Revoke { reason: None })
        .then_nothing();
}

/// A code redeems once with the right secret and verifier; the second use revokes the grant.
#[test]
fn a_code_redeems_once() {
    test(vec![created(), code_issued()])
        .when(redeem("code", VERIFIER))
        .then_types(&["grant.code_redeemed", "grant.refresh_token_issued"]);
    test(vec![created(), code_issued()])
        .when(redeem("code", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"))
        .then_error("invalid_grant");
    test(vec![created(), code_issued()])
        .when(redeem("other", VERIFIER))
        .then_error("invalid_grant");
    test(vec![created(), code_issued()])
        .at(t0() + Duration::minutes(5))
        .when(redeem("code", VERIFIER))
        .then_error("invalid_grant");
    let mut used = vec![created(), code_issued()];
    used.extend(redeemed());
    test(used)
        .when(redeem("code", VERIFIER))
        .then_types(&["grant.revoked"])
        .then_fold(|s| {
            let s = s.as_ref().unwrap();
            assert_eq!(s.grant.status, GrantStatus::Revoked);
            assert!(s.families.is_empty() && s.codes.is_empty());
        });
}

/// A refresh rotates; the rotated token used again revokes; an unknown generation is refused.
#[test]
fn refresh_tokens_rotate_and_reuse_revokes() {
    let mut history = vec![created(), code_issued()];
    history.extend(redeemed());
    test(history.clone())
        .when(refresh(1, "r1"))
        .then_types(&["grant.refresh_token_issued"])
        .then_fold(|s| {
            let f = &s.as_ref().unwrap().families[&1];
            assert_eq!(f.generation, 2);
            assert_eq!(f.retired.len(), 1);
        });
    history.push(refresh_issued(2, "r2"));
    test(history.clone())
        .when(refresh(1, "r1"))
        .then_types(&["grant.revoked"]);
    test(history.clone())
        .when(refresh(1, "forged"))
        .then_error("invalid_grant");
    test(history.clone()).when(refresh(3, "r2")).then_error("invalid_grant");
    test(history)
        .at(t0() + Duration::days(30))
        .when(refresh(2, "r2"))
        .then_error("invalid_grant");
}

/// Who may revoke: the user it belongs to or an admin of its account; others see nothing.
#[test]
fn who_may_revoke() {
    let as_ = |p: Principal| {
        test(vec![created()])
            .as_principal(p)
            .when(GrantCommand::Revoke { reason: None })
    };
    as_(Principal::user(name("acme"), name("alice"), [Scope::MeetingRead])).then_types(&["grant.revoked"]);
    as_(Principal::app(name("acme"), name("adm"), [Scope::Admin])).then_types(&["grant.revoked"]);
    as_(Principal::user(name("acme"), name("bob"), [Scope::MeetingRead])).then_error("not_found");
    as_(Principal::app(name("globex"), name("adm"), [Scope::Admin])).then_error("not_found");
    as_(Principal::app(name("acme"), name("reader"), [Scope::UserRead])).then_error("insufficient_scope");
}

/// The pointer moves only from the grant the caller read: a consent that lost a race is told
/// to retry; pointing where it already points is a no-op.
#[test]
fn the_pointer_moves_only_from_what_was_read() {
    use zoom_auth::grant::key::{GrantKey, GrantKeyCommand, GrantKeyEvent, GrantKeySet, GrantKeys};
    let key = GrantKey {
        account_id: name("acme"),
        user_id: name("alice"),
        client_id: name("cal"),
    };
    let set = |grant: &str| {
        GrantKeyEvent::Set(GrantKeySet {
            account_id: name("acme"),
            user_id: name("alice"),
            client_id: name("cal"),
            grant_id: name(grant),
            at: t0(),
        })
    };
    let point = |grant: &str, replaces: Option<&str>| GrantKeyCommand::Point {
        grant_id: name(grant),
        replaces: replaces.map(name),
    };
    let test = |given| AggregateTest::of(GrantKeys, key.clone(), given).as_system();
    test(vec![]).when(point("grt_a", None)).then_types(&["grant.key_set"]);
    test(vec![set("grt_a")])
        .when(point("grt_b", None))
        .then_error("grant_changed");
    test(vec![set("grt_a")])
        .when(point("grt_b", Some("grt_c")))
        .then_error("grant_changed");
    test(vec![set("grt_a")])
        .when(point("grt_b", Some("grt_a")))
        .then_fold(|s| assert_eq!(s.as_ref().unwrap().grant_id.as_str(), "grt_b"));
    test(vec![set("grt_a")]).when(point("grt_a", None)).then_nothing();
}

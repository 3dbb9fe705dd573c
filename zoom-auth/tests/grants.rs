//! OAuth 2 authorizations through the directory over a real (in-memory) store: consent, the
//! `authorization_code` grant with PKCE, rotating refresh tokens, reuse detection, revocation
//! and the lists, each refusal at the domain level.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::Duration;
use zoom_auth::app::AppKind;
use zoom_auth::grant::pkce::challenge_of;
use zoom_auth::user::Role;
use zoom_auth::{
    AppInput, AuthorizeRequest, Directory, DirectoryConfig, GrantError, GrantStatus, IssuedCode, UserInput, UserRef,
    UserTokens,
};
use zoom_core::clock::{ManualClock, SeededEntropy};
use zoom_core::id::Name;
use zoom_core::principal::{Principal, Scope};
use zoom_core::testing::kit::t0;
use zoom_store_memory::MemoryStore;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

const REDIRECT: &str = "https://cal.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

struct World {
    d: Directory,
    clock: Arc<ManualClock>,
    /// A confidential user app of acme, published.
    cal: Name,
}

fn platform() -> Principal {
    Principal::app(name("default"), name("boot"), Scope::ALL)
}

fn admin_of(account: &str) -> Principal {
    Principal::app(name(account), name("adm"), [Scope::Admin])
}

fn who(account: &str, user: &str, role: Role) -> UserRef {
    UserRef {
        account_id: name(account),
        user_id: name(user),
        role,
    }
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::new(t0()));
    let mut config = DirectoryConfig::new(name("default"));
    config.password = zoom_auth::password::PasswordParams::insecure_for_tests();
    let d = Directory::new(
        Arc::new(MemoryStore::new()),
        clock.clone(),
        Arc::new(SeededEntropy::new(11)),
        config,
    )
    .unwrap();
    for (id, n) in [("default", "Operator"), ("acme", "Acme"), ("globex", "Globex")] {
        d.create_account(Some(&platform()), Some(&name(id)), n, None)
            .await
            .unwrap();
    }
    for (account, user, role) in [
        ("acme", "alice", Role::Owner),
        ("acme", "bob", Role::Member),
        ("globex", "carol", Role::Member),
    ] {
        let input = UserInput {
            id: Some(name(user)),
            email: format!("{user}@{account}.test"),
            display_name: user.into(),
            role: Some(role),
            password: None,
        };
        d.create_user(None, &name(account), input).await.unwrap();
    }
    let app = |client_id: &str, published: bool| AppInput {
        client_id: Some(name(client_id)),
        account_id: Some(name("acme")),
        name: client_id.into(),
        kind: AppKind::User,
        redirect_uris: vec![REDIRECT.into()],
        scopes: vec![Scope::MeetingRead, Scope::MeetingWrite, Scope::UserRead, Scope::Admin],
        published,
        public: false,
    };
    d.create_app(None, app("cal", true)).await.unwrap();
    d.create_app(None, app("internal", false)).await.unwrap();
    World {
        d,
        clock,
        cal: name("cal"),
    }
}

fn request(user: UserRef, client_id: &Name, scopes: &[Scope]) -> AuthorizeRequest {
    AuthorizeRequest {
        user,
        client_id: client_id.clone(),
        redirect_uri: REDIRECT.into(),
        scopes: scopes.to_vec(),
        code_challenge: challenge_of(VERIFIER),
    }
}

impl World {
    async fn consent(&self, user: UserRef, scopes: &[Scope]) -> IssuedCode {
        self.d.authorize(request(user, &self.cal, scopes)).await.unwrap()
    }

    async fn redeem(&self, code: &str) -> Result<UserTokens, GrantError> {
        self.d.redeem_code(&self.cal, code, REDIRECT, VERIFIER).await
    }
}

#[track_caller]
fn assert_invalid_grant<T: std::fmt::Debug>(result: Result<T, GrantError>) -> String {
    match result {
        Err(GrantError::InvalidGrant(reason)) => reason,
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

/// The happy path: the consent page's client check, a consent, the code redeemed with PKCE,
/// the refresh token rotated, introspected and revoked.
#[tokio::test]
async fn consent_code_refresh_and_revocation_work() {
    let w = world().await;
    let (app, account) = w.d.authorization_client(&w.cal, REDIRECT).await.unwrap().unwrap();
    assert_eq!((app.client_id.as_str(), account.name.as_str()), ("cal", "Acme"));
    let issued = w
        .consent(
            who("acme", "alice", Role::Owner),
            &[Scope::MeetingRead, Scope::MeetingWrite],
        )
        .await;
    assert_eq!(issued.expires_in, 300);
    assert!(issued.grant.id.as_str().starts_with("grt_"), "{}", issued.grant.id);
    assert_eq!(issued.grant.status, GrantStatus::Active);
    assert_eq!(issued.grant.account_id.as_str(), "acme");
    let tokens = w.redeem(&issued.code).await.unwrap();
    assert_eq!(tokens.grant.id, issued.grant.id);
    assert_eq!(tokens.scopes, vec![Scope::MeetingRead, Scope::MeetingWrite]);
    assert_eq!(tokens.refresh_expires_in, 30 * 24 * 3600);
    assert_eq!(tokens.role, Role::Owner);
    let (grant, exp) =
        w.d.introspect_refresh_token(&w.cal, &tokens.refresh_token)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(grant.id, issued.grant.id);
    assert_eq!(exp, (t0() + Duration::days(30)).timestamp());

    w.clock.advance(Duration::hours(2));
    let narrowed =
        w.d.refresh(&w.cal, &tokens.refresh_token, Some(vec![Scope::MeetingRead]))
            .await
            .unwrap();
    assert_eq!(narrowed.scopes, vec![Scope::MeetingRead]);
    assert_ne!(narrowed.refresh_token, tokens.refresh_token);
    assert!(
        w.d.introspect_refresh_token(&w.cal, &tokens.refresh_token)
            .await
            .unwrap()
            .is_none(),
        "the rotated token is no longer active"
    );
    let again = w.d.refresh(&w.cal, &narrowed.refresh_token, None).await.unwrap();
    assert_eq!(
        again.scopes,
        vec![Scope::MeetingRead, Scope::MeetingWrite],
        "narrowing applies to one access token, not to the family"
    );

    assert!(
        !w.d.revoke_refresh_token(&name("internal"), &again.refresh_token)
            .await
            .unwrap()
    );
    assert!(w.d.revoke_refresh_token(&w.cal, &again.refresh_token).await.unwrap());
    let grant = w.d.find_grant(&issued.grant.id).await.unwrap().unwrap();
    assert_eq!(grant.status, GrantStatus::Revoked);
    assert_invalid_grant(w.d.refresh(&w.cal, &again.refresh_token, None).await);
    assert!(w.d.find_grant(&name("grt_unknown")).await.unwrap().is_none());
}

/// A second consent extends the active grant; after a revocation a consent makes a new grant.
#[tokio::test]
async fn one_grant_per_user_and_app() {
    let w = world().await;
    let alice = || who("acme", "alice", Role::Owner);
    let first = w.consent(alice(), &[Scope::MeetingRead]).await;
    let second = w.consent(alice(), &[Scope::UserRead]).await;
    assert_eq!(first.grant.id, second.grant.id);
    assert_eq!(second.grant.scopes, vec![Scope::MeetingRead, Scope::UserRead]);
    // The first code is still good, with the scopes it was asked for.
    let tokens = w.redeem(&first.code).await.unwrap();
    assert_eq!(tokens.scopes, vec![Scope::MeetingRead]);
    w.d.revoke_authorization(&admin_of("acme"), &first.grant.id)
        .await
        .unwrap();
    let third = w.consent(alice(), &[Scope::MeetingRead]).await;
    assert_ne!(third.grant.id, first.grant.id, "a revoked grant is never revived");
    assert_invalid_grant(w.redeem(&second.code).await);
    w.redeem(&third.code).await.unwrap();
}

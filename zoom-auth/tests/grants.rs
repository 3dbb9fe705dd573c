//! OAuth 2 authorizations through the directory over a real (in-memory) store: consent, the
//! `authorization_code` grant with PKCE, rotating refresh tokens, reuse detection, revocation
//! and the lists, each refusal at the domain level.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::Duration;
use zoom_auth::app::{AppKind, AppPatch};
use zoom_auth::grant::pkce::challenge_of;
use zoom_auth::user::Role;
use zoom_auth::{
    AppInput, AuthorizeRequest, Directory, DirectoryConfig, GrantError, GrantStatus, IssuedCode, UserInput, UserRef,
    UserTokens,
};
use zoom_core::clock::{ManualClock, SeededEntropy};
use zoom_core::engine::{EngineError, PageRequest};
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
    /// An unpublished user app of acme.
    internal: Name,
}

fn platform() -> Principal {
    Principal::app(name("default"), name("boot"), Scope::ALL)
}

fn admin_of(account: &str) -> Principal {
    Principal::app(name(account), name("adm"), [Scope::Admin])
}

fn user_token(account: &str, user: &str) -> Principal {
    Principal::user(name(account), name(user), [Scope::MeetingRead])
}

fn who(account: &str, user: &str, role: Role) -> UserRef {
    UserRef {
        account_id: name(account),
        user_id: name(user),
        role,
    }
}

async fn world() -> World {
    world_on(Arc::new(MemoryStore::new())).await
}

async fn world_on(store: Arc<dyn zoom_core::store::Store>) -> World {
    let clock = Arc::new(ManualClock::new(t0()));
    let mut config = DirectoryConfig::new(name("default"));
    config.password = zoom_auth::password::PasswordParams::insecure_for_tests();
    let d = Directory::new(store, clock.clone(), Arc::new(SeededEntropy::new(11)), config).unwrap();
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
        internal: name("internal"),
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

    /// Alice (an owner) consents to cal and redeems the code.
    async fn alice_tokens(&self) -> UserTokens {
        let issued = self
            .consent(
                who("acme", "alice", Role::Owner),
                &[Scope::MeetingRead, Scope::MeetingWrite],
            )
            .await;
        self.redeem(&issued.code).await.unwrap()
    }
}

#[track_caller]
fn assert_invalid_grant<T: std::fmt::Debug>(result: Result<T, GrantError>) -> String {
    match result {
        Err(GrantError::InvalidGrant(reason)) => reason,
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

fn engine_code(e: &EngineError) -> &'static str {
    match e {
        EngineError::Domain(d) => d.code(),
        _ => "other",
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
        w.d.revoke_refresh_token(&name("internal"), &again.refresh_token)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        w.d.revoke_refresh_token(&w.cal, &again.refresh_token)
            .await
            .unwrap()
            .is_some()
    );
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

/// A wrong PKCE verifier, or one outside RFC 7636's form, is refused and does not use the
/// code up: the right verifier still redeems it.
#[tokio::test]
async fn pkce_verifiers_are_checked() {
    let w = world().await;
    let issued = w
        .consent(who("acme", "alice", Role::Owner), &[Scope::MeetingRead])
        .await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj";
    let reason = assert_invalid_grant(w.d.redeem_code(&w.cal, &issued.code, REDIRECT, wrong).await);
    assert!(reason.contains("code_verifier"), "{reason}");
    // Malformed verifiers, each with the challenge of itself, so only the form is at fault.
    for bad in [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+/", "a".repeat(43)),
        String::new(),
    ] {
        let r = AuthorizeRequest {
            code_challenge: challenge_of(&bad),
            ..request(who("acme", "alice", Role::Owner), &w.cal, &[Scope::MeetingRead])
        };
        let code = w.d.authorize(r).await.unwrap().code;
        let reason = assert_invalid_grant(w.d.redeem_code(&w.cal, &code, REDIRECT, &bad).await);
        assert!(reason.contains("43 to 128"), "{reason}");
    }
    w.redeem(&issued.code).await.unwrap();
}

/// A challenge that is not an S256 one (`plain`'s verifier itself, padding) is refused at consent.
#[tokio::test]
async fn a_malformed_challenge_is_refused() {
    let w = world().await;
    for challenge in ["short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=", ""] {
        let r = AuthorizeRequest {
            code_challenge: challenge.into(),
            ..request(who("acme", "alice", Role::Owner), &w.cal, &[Scope::MeetingRead])
        };
        let reason = assert_invalid_grant(w.d.authorize(r).await);
        assert!(reason.contains("code_challenge"), "{reason}");
    }
    assert!(w.listed(&admin_of("acme")).await.is_empty(), "no grant was made");
}

/// A code used twice revokes its grant: the refresh token of the first use stops too.
#[tokio::test]
async fn a_reused_code_revokes_the_grant() {
    let w = world().await;
    let issued = w
        .consent(who("acme", "alice", Role::Owner), &[Scope::MeetingRead])
        .await;
    let first = w.redeem(&issued.code).await.unwrap();
    let reason = assert_invalid_grant(w.redeem(&issued.code).await);
    assert!(reason.contains("already used"), "{reason}");
    let grant = w.d.find_grant(&issued.grant.id).await.unwrap().unwrap();
    assert_eq!(grant.status, GrantStatus::Revoked);
    assert_invalid_grant(w.d.refresh(&w.cal, &first.refresh_token, None).await);
    assert!(
        w.d.introspect_refresh_token(&w.cal, &first.refresh_token)
            .await
            .unwrap()
            .is_none()
    );
}

/// A code whose secret part was altered is unknown, and does not revoke the grant (knowing a
/// grant's id is not enough to revoke it).
#[tokio::test]
async fn a_forged_code_changes_nothing() {
    let w = world().await;
    let issued = w
        .consent(who("acme", "alice", Role::Owner), &[Scope::MeetingRead])
        .await;
    w.redeem(&issued.code).await.unwrap();
    let mut forged = issued.code.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_invalid_grant(w.redeem(&forged).await);
    for garbage in ["", "zac_", "not a code", &issued.code[..issued.code.len() - 1]] {
        assert_invalid_grant(w.redeem(garbage).await);
    }
    let grant = w.d.find_grant(&issued.grant.id).await.unwrap().unwrap();
    assert_eq!(grant.status, GrantStatus::Active);
}

/// The redirect URI of the token request must be the authorization request's, exactly.
#[tokio::test]
async fn a_redirect_mismatch_is_refused() {
    let w = world().await;
    let issued = w
        .consent(who("acme", "alice", Role::Owner), &[Scope::MeetingRead])
        .await;
    for other in ["https://cal.example/callback/", "https://cal.example/other", ""] {
        let reason = assert_invalid_grant(w.d.redeem_code(&w.cal, &issued.code, other, VERIFIER).await);
        assert!(reason.contains("redirect_uri"), "{reason}");
    }
    w.redeem(&issued.code).await.unwrap();
}

/// Another client cannot redeem a code or use a refresh token; an unknown client is refused
/// everywhere.
#[tokio::test]
async fn another_or_an_unknown_client_is_refused() {
    let w = world().await;
    let issued = w
        .consent(who("acme", "alice", Role::Owner), &[Scope::MeetingRead])
        .await;
    let reason = assert_invalid_grant(w.d.redeem_code(&w.internal, &issued.code, REDIRECT, VERIFIER).await);
    assert!(reason.contains("another client"), "{reason}");
    assert_invalid_grant(w.d.redeem_code(&name("nobody"), &issued.code, REDIRECT, VERIFIER).await);
    let tokens = w.redeem(&issued.code).await.unwrap();
    assert_invalid_grant(w.d.refresh(&w.internal, &tokens.refresh_token, None).await);
    assert!(
        w.d.revoke_refresh_token(&w.internal, &tokens.refresh_token)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        w.d.introspect_refresh_token(&w.internal, &tokens.refresh_token)
            .await
            .unwrap()
            .is_none()
    );
    // Still good for its own client.
    w.d.refresh(&w.cal, &tokens.refresh_token, None).await.unwrap();

    assert!(
        w.d.authorization_client(&name("nobody"), REDIRECT)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        w.d.authorization_client(&w.cal, "https://evil.example/")
            .await
            .unwrap()
            .is_none()
    );
    let r = request(
        who("acme", "alice", Role::Owner),
        &name("nobody"),
        &[Scope::MeetingRead],
    );
    assert!(matches!(w.d.authorize(r).await, Err(GrantError::UnauthorizedClient(_))));
    let r = AuthorizeRequest {
        redirect_uri: "https://evil.example/".into(),
        ..request(who("acme", "alice", Role::Owner), &w.cal, &[Scope::MeetingRead])
    };
    assert!(matches!(w.d.authorize(r).await, Err(GrantError::UnauthorizedClient(_))));
    // A server app is no OAuth client of users.
    let server =
        w.d.create_app(
            None,
            AppInput {
                client_id: Some(name("backend")),
                account_id: Some(name("acme")),
                name: "Backend".into(),
                kind: AppKind::Server,
                redirect_uris: vec![],
                scopes: vec![Scope::MeetingRead],
                published: false,
                public: false,
            },
        )
        .await
        .unwrap();
    let r = request(
        who("acme", "alice", Role::Owner),
        &server.app.client_id,
        &[Scope::MeetingRead],
    );
    assert!(matches!(w.d.authorize(r).await, Err(GrantError::UnauthorizedClient(_))));
}

/// Scopes outside the app's, none, or wider than granted on refresh are `invalid_scope`.
#[tokio::test]
async fn invalid_scopes_are_refused() {
    let w = world().await;
    let alice = || who("acme", "alice", Role::Owner);
    for scopes in [
        vec![Scope::WebhookWrite],
        vec![Scope::MeetingRead, Scope::Platform],
        vec![],
    ] {
        let r = request(alice(), &w.cal, &scopes);
        assert!(
            matches!(w.d.authorize(r).await, Err(GrantError::InvalidScope(_))),
            "{scopes:?}"
        );
    }
    let issued = w.consent(alice(), &[Scope::MeetingRead]).await;
    let tokens = w.redeem(&issued.code).await.unwrap();
    let wider =
        w.d.refresh(
            &w.cal,
            &tokens.refresh_token,
            Some(vec![Scope::MeetingRead, Scope::MeetingWrite]),
        )
        .await;
    assert!(matches!(wider, Err(GrantError::InvalidScope(_))), "{wider:?}");
    let none = w.d.refresh(&w.cal, &tokens.refresh_token, Some(vec![])).await;
    assert!(matches!(none, Err(GrantError::InvalidScope(_))), "{none:?}");
    // The refused refreshes did not rotate: the token still works.
    w.d.refresh(&w.cal, &tokens.refresh_token, None).await.unwrap();
}

/// A member's user tokens never hold `admin`; a member asking only for it is refused; the
/// app losing a scope narrows the next tokens.
#[tokio::test]
async fn user_tokens_hold_what_the_role_and_the_app_allow() {
    let w = world().await;
    let bob = || who("acme", "bob", Role::Member);
    let r = request(bob(), &w.cal, &[Scope::Admin]);
    assert!(matches!(w.d.authorize(r).await, Err(GrantError::InvalidScope(_))));
    let issued = w
        .consent(bob(), &[Scope::Admin, Scope::MeetingRead, Scope::MeetingWrite])
        .await;
    let tokens = w.redeem(&issued.code).await.unwrap();
    assert_eq!(tokens.scopes, vec![Scope::MeetingRead, Scope::MeetingWrite]);
    assert_eq!(tokens.role, Role::Member);
    let patch = AppPatch {
        scopes: Some(vec![Scope::MeetingRead, Scope::UserRead, Scope::Admin]),
        ..AppPatch::default()
    };
    w.d.update_app(&admin_of("acme"), &w.cal, patch).await.unwrap();
    let next = w.d.refresh(&w.cal, &tokens.refresh_token, None).await.unwrap();
    assert_eq!(next.scopes, vec![Scope::MeetingRead]);

    let all: Vec<Scope> = Scope::ALL.to_vec();
    let member = Directory::user_token_scopes(Role::Member, &all);
    assert!(
        !member
            .iter()
            .any(|s| matches!(s, Scope::Admin | Scope::Platform | Scope::Media))
    );
    assert!(member.contains(&Scope::MeetingWrite));
    for role in [Role::Admin, Role::Owner] {
        let held = Directory::user_token_scopes(role, &all);
        assert_eq!(held.len(), all.len() - 1);
        assert!(!held.contains(&Scope::Platform));
    }
}

/// A rotated refresh token used again revokes the whole grant: the newest token stops too.
#[tokio::test]
async fn a_reused_refresh_token_revokes_the_grant() {
    let w = world().await;
    let tokens = w.alice_tokens().await;
    let rotated = w.d.refresh(&w.cal, &tokens.refresh_token, None).await.unwrap();
    let reason = assert_invalid_grant(w.d.refresh(&w.cal, &tokens.refresh_token, None).await);
    assert!(reason.contains("already used"), "{reason}");
    assert_invalid_grant(w.d.refresh(&w.cal, &rotated.refresh_token, None).await);
    let grant = w.d.find_grant(&tokens.grant.id).await.unwrap().unwrap();
    assert_eq!(grant.status, GrantStatus::Revoked);
}

/// Reuse is recognised for the last rotated tokens of a family, not only the previous one.
#[tokio::test]
async fn reuse_of_an_older_rotated_token_revokes_too() {
    let w = world().await;
    let tokens = w.alice_tokens().await;
    let mut current = tokens.refresh_token.clone();
    for _ in 0..3 {
        current = w.d.refresh(&w.cal, &current, None).await.unwrap().refresh_token;
    }
    assert_invalid_grant(w.d.refresh(&w.cal, &tokens.refresh_token, None).await);
    assert_invalid_grant(w.d.refresh(&w.cal, &current, None).await);
}

/// A code lives 5 minutes; a refresh token 30 days from its issue.
#[tokio::test]
async fn codes_and_refresh_tokens_expire() {
    let w = world().await;
    let alice = || who("acme", "alice", Role::Owner);
    let issued = w.consent(alice(), &[Scope::MeetingRead]).await;
    w.clock.advance(Duration::seconds(301));
    let reason = assert_invalid_grant(w.redeem(&issued.code).await);
    assert!(reason.contains("expired"), "{reason}");

    let issued = w.consent(alice(), &[Scope::MeetingRead]).await;
    w.clock.advance(Duration::seconds(299));
    let tokens = w.redeem(&issued.code).await.unwrap();
    w.clock.advance(Duration::days(30));
    assert!(
        w.d.introspect_refresh_token(&w.cal, &tokens.refresh_token)
            .await
            .unwrap()
            .is_none()
    );
    let reason = assert_invalid_grant(w.d.refresh(&w.cal, &tokens.refresh_token, None).await);
    assert!(reason.contains("expired"), "{reason}");
    assert!(
        w.d.revoke_refresh_token(&w.cal, &tokens.refresh_token)
            .await
            .unwrap()
            .is_none()
    );
    let grant = w.d.find_grant(&issued.grant.id).await.unwrap().unwrap();
    assert_eq!(grant.status, GrantStatus::Active, "expiry revokes nothing");
}

/// Deactivating a user revokes their grants; they cannot consent again.
#[tokio::test]
async fn a_deactivated_user_loses_their_grants() {
    let w = world().await;
    let bob = || who("acme", "bob", Role::Member);
    let issued = w.consent(bob(), &[Scope::MeetingRead]).await;
    let pending = w.consent(bob(), &[Scope::MeetingRead]).await;
    let tokens = w.redeem(&issued.code).await.unwrap();
    let alice = w.alice_tokens().await;
    w.d.deactivate_user(Some(&admin_of("acme")), &name("acme"), &name("bob"))
        .await
        .unwrap();
    let grant = w.d.find_grant(&issued.grant.id).await.unwrap().unwrap();
    assert_eq!(grant.status, GrantStatus::Revoked);
    assert_invalid_grant(w.d.refresh(&w.cal, &tokens.refresh_token, None).await);
    assert_invalid_grant(w.redeem(&pending.code).await);
    assert_invalid_grant(w.d.authorize(request(bob(), &w.cal, &[Scope::MeetingRead])).await);
    // Another user's grant is untouched.
    w.d.refresh(&w.cal, &alice.refresh_token, None).await.unwrap();
}

/// Disabling an app revokes its grants in every account (a published app's too).
#[tokio::test]
async fn a_disabled_app_loses_its_grants() {
    let w = world().await;
    let alice = w.alice_tokens().await;
    let carol = w
        .consent(who("globex", "carol", Role::Member), &[Scope::MeetingRead])
        .await;
    let carol = w.redeem(&carol.code).await.unwrap();
    w.d.disable_app(&admin_of("acme"), &w.cal).await.unwrap();
    for tokens in [&alice, &carol] {
        let grant = w.d.find_grant(&tokens.grant.id).await.unwrap().unwrap();
        assert_eq!(grant.status, GrantStatus::Revoked);
        assert_invalid_grant(w.d.refresh(&w.cal, &tokens.refresh_token, None).await);
    }
    assert!(w.d.authorization_client(&w.cal, REDIRECT).await.unwrap().is_none());
    let r = request(who("acme", "alice", Role::Owner), &w.cal, &[Scope::MeetingRead]);
    assert!(matches!(w.d.authorize(r).await, Err(GrantError::UnauthorizedClient(_))));
}

/// A disabled account stops its users' tokens and consents (and those of its apps, for other
/// accounts' users); enabled again, the grants work again (disabling deletes nothing).
#[tokio::test]
async fn a_disabled_account_stops_its_grants() {
    use zoom_auth::account::{AccountPatch, AccountStatus};
    let w = world().await;
    let alice = w.alice_tokens().await;
    let carol = w
        .consent(who("globex", "carol", Role::Member), &[Scope::MeetingRead])
        .await;
    let carol = w.redeem(&carol.code).await.unwrap();
    let status = |s| AccountPatch {
        status: Some(s),
        ..AccountPatch::default()
    };
    w.d.update_account(&platform(), &name("globex"), status(AccountStatus::Disabled))
        .await
        .unwrap();
    assert_invalid_grant(w.d.refresh(&w.cal, &carol.refresh_token, None).await);
    assert!(
        w.d.introspect_refresh_token(&w.cal, &carol.refresh_token)
            .await
            .unwrap()
            .is_none()
    );
    let r = request(who("globex", "carol", Role::Member), &w.cal, &[Scope::MeetingRead]);
    assert_invalid_grant(w.d.authorize(r).await);
    // The app's own account disabled: every user of the app is refused.
    w.d.update_account(&platform(), &name("acme"), status(AccountStatus::Disabled))
        .await
        .unwrap();
    assert_invalid_grant(w.d.refresh(&w.cal, &alice.refresh_token, None).await);
    assert!(w.d.authorization_client(&w.cal, REDIRECT).await.unwrap().is_none());
    w.d.update_account(&platform(), &name("acme"), status(AccountStatus::Active))
        .await
        .unwrap();
    w.d.refresh(&w.cal, &alice.refresh_token, None).await.unwrap();
}

/// The marketplace: a published app of acme authorized by a user of globex acts in globex;
/// an unpublished one only for acme's own users.
#[tokio::test]
async fn the_marketplace_rule_holds() {
    let w = world().await;
    let carol = || who("globex", "carol", Role::Member);
    let issued = w.consent(carol(), &[Scope::MeetingRead]).await;
    assert_eq!(issued.grant.account_id.as_str(), "globex");
    assert_eq!(issued.grant.user_id.as_str(), "carol");
    let tokens = w.redeem(&issued.code).await.unwrap();
    assert_eq!(tokens.grant.account_id.as_str(), "globex");
    let r = request(carol(), &w.internal, &[Scope::MeetingRead]);
    let refused = w.d.authorize(r).await;
    assert!(matches!(refused, Err(GrantError::UnauthorizedClient(_))), "{refused:?}");
    let r = request(who("acme", "bob", Role::Member), &w.internal, &[Scope::MeetingRead]);
    w.d.authorize(r).await.unwrap();
    // A user the directory does not know (another account's id, an unknown one) is refused.
    let r = request(who("globex", "alice", Role::Owner), &w.cal, &[Scope::MeetingRead]);
    assert_invalid_grant(w.d.authorize(r).await);
}

/// `GET /v1/authorizations`: an admin sees the account's, filtered by user and client, in
/// pages; a user sees only their own; another account's are never listed.
#[tokio::test]
async fn authorizations_are_listed_by_who_may_see_them() {
    let w = world().await;
    let alice = w.alice_tokens().await;
    let bob = w.consent(who("acme", "bob", Role::Member), &[Scope::MeetingRead]).await;
    let bob_internal =
        w.d.authorize(request(
            who("acme", "bob", Role::Member),
            &w.internal,
            &[Scope::MeetingRead],
        ))
        .await
        .unwrap();
    let carol = w
        .consent(who("globex", "carol", Role::Member), &[Scope::MeetingRead])
        .await;
    let ids = |page: zoom_core::engine::Page<zoom_auth::Grant>| -> Vec<String> {
        page.items.into_iter().map(|g| g.id.to_string()).collect()
    };
    let all = PageRequest::default();
    let acme = w.d.authorizations(&admin_of("acme"), None, None, &all).await.unwrap();
    assert_eq!(
        ids(acme),
        vec![
            alice.grant.id.to_string(),
            bob.grant.id.to_string(),
            bob_internal.grant.id.to_string()
        ]
    );
    let of_bob =
        w.d.authorizations(&admin_of("acme"), Some(&name("bob")), None, &all)
            .await
            .unwrap();
    assert_eq!(ids(of_bob).len(), 2);
    let of_cal =
        w.d.authorizations(&admin_of("acme"), None, Some(&w.cal), &all)
            .await
            .unwrap();
    assert_eq!(ids(of_cal), vec![alice.grant.id.to_string(), bob.grant.id.to_string()]);
    let first =
        w.d.authorizations(
            &admin_of("acme"),
            None,
            None,
            &PageRequest {
                page_size: Some(2),
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest =
        w.d.authorizations(
            &admin_of("acme"),
            None,
            None,
            &PageRequest {
                page_size: Some(2),
                cursor: first.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(rest), vec![bob_internal.grant.id.to_string()]);
    // A cursor is bound to its filters.
    let err =
        w.d.authorizations(
            &admin_of("acme"),
            Some(&name("bob")),
            None,
            &PageRequest {
                page_size: Some(2),
                cursor: first.next_cursor,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(engine_code(&err), "invalid_cursor");

    let mine =
        w.d.authorizations(&user_token("acme", "bob"), None, None, &all)
            .await
            .unwrap();
    assert_eq!(ids(mine).len(), 2);
    let theirs =
        w.d.authorizations(&user_token("acme", "bob"), Some(&name("alice")), None, &all)
            .await
            .unwrap();
    assert!(theirs.items.is_empty());
    let globex = w.d.authorizations(&admin_of("globex"), None, None, &all).await.unwrap();
    assert_eq!(ids(globex), vec![carol.grant.id.to_string()]);
    let no_admin = Principal::app(name("acme"), name("reader"), [Scope::UserRead]);
    let err = w.d.authorizations(&no_admin, None, None, &all).await.unwrap_err();
    assert_eq!(engine_code(&err), "insufficient_scope");

    // A revoked grant leaves the list.
    w.d.revoke_authorization(&user_token("acme", "bob"), &bob.grant.id)
        .await
        .unwrap();
    let mine =
        w.d.authorizations(&user_token("acme", "bob"), None, None, &all)
            .await
            .unwrap();
    assert_eq!(ids(mine), vec![bob_internal.grant.id.to_string()]);
}

/// `DELETE /v1/authorizations/{id}`: the user it belongs to or an admin; another user's or
/// another account's is `NotFound`; an app without `admin` lacks the scope.
#[tokio::test]
async fn revocation_rights() {
    let w = world().await;
    let alice = w.alice_tokens().await;
    let id = &alice.grant.id;
    let err =
        w.d.revoke_authorization(&user_token("acme", "bob"), id)
            .await
            .unwrap_err();
    assert_eq!(engine_code(&err), "not_found");
    let err = w.d.revoke_authorization(&admin_of("globex"), id).await.unwrap_err();
    assert_eq!(engine_code(&err), "not_found");
    let err =
        w.d.revoke_authorization(&user_token("globex", "alice"), id)
            .await
            .unwrap_err();
    assert_eq!(engine_code(&err), "not_found");
    let no_admin = Principal::app(name("acme"), name("reader"), [Scope::UserRead]);
    let err = w.d.revoke_authorization(&no_admin, id).await.unwrap_err();
    assert_eq!(engine_code(&err), "insufficient_scope");
    for unknown in ["grt_nothing", "has@at"] {
        let err =
            w.d.revoke_authorization(&admin_of("acme"), &name(unknown))
                .await
                .unwrap_err();
        assert_eq!(engine_code(&err), "not_found", "{unknown}");
    }
    assert_eq!(
        w.d.find_grant(id).await.unwrap().unwrap().status,
        GrantStatus::Active,
        "nothing was revoked"
    );
    let revoked =
        w.d.revoke_authorization(&user_token("acme", "alice"), id)
            .await
            .unwrap();
    assert_eq!(revoked.status, GrantStatus::Revoked);
    assert_invalid_grant(w.d.refresh(&w.cal, &alice.refresh_token, None).await);
    // Again, by an admin: nothing more to do, the same answer.
    let again = w.d.revoke_authorization(&admin_of("acme"), id).await.unwrap();
    assert_eq!(again, revoked);
}

/// RFC 7009 and 7662 with anything that is not a current refresh token of the client: false,
/// `None`, nothing changed.
#[tokio::test]
async fn revocation_and_introspection_ignore_what_is_not_a_token() {
    let w = world().await;
    let tokens = w.alice_tokens().await;
    let issued = w
        .consent(who("acme", "alice", Role::Owner), &[Scope::MeetingRead])
        .await;
    for junk in ["", "zrt_", "garbage", issued.code.as_str(), &"x".repeat(5000)] {
        assert!(
            w.d.revoke_refresh_token(&w.cal, junk).await.unwrap().is_none(),
            "{junk}"
        );
        assert!(w.d.introspect_refresh_token(&w.cal, junk).await.unwrap().is_none());
        assert_invalid_grant(w.d.refresh(&w.cal, junk, None).await);
    }
    let grant = w.d.find_grant(&tokens.grant.id).await.unwrap().unwrap();
    assert_eq!(grant.status, GrantStatus::Active);
    w.d.refresh(&w.cal, &tokens.refresh_token, None).await.unwrap();
}

/// On SQLite too: the index rows of grants change kind when they are revoked, so the lists and
/// the revocation sweeps (an app disabled, a user deactivated) see only the active ones.
#[tokio::test]
async fn grants_are_listed_and_swept_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = zoom_store_sqlite::SqliteStore::open(dir.path().join("auth.db")).unwrap();
    let w = world_on(Arc::new(store)).await;
    let alice = w.alice_tokens().await;
    let bob = w.consent(who("acme", "bob", Role::Member), &[Scope::MeetingRead]).await;
    let bob = w.redeem(&bob.code).await.unwrap();
    let bob_internal =
        w.d.authorize(request(
            who("acme", "bob", Role::Member),
            &w.internal,
            &[Scope::MeetingRead],
        ))
        .await
        .unwrap();
    assert_eq!(w.listed(&admin_of("acme")).await.len(), 3);
    w.d.deactivate_user(Some(&admin_of("acme")), &name("acme"), &name("bob"))
        .await
        .unwrap();
    assert_eq!(w.listed(&admin_of("acme")).await, vec![alice.grant.id.to_string()]);
    assert_invalid_grant(w.d.refresh(&w.cal, &bob.refresh_token, None).await);
    assert_eq!(
        w.d.find_grant(&bob_internal.grant.id).await.unwrap().unwrap().status,
        GrantStatus::Revoked
    );
    w.d.disable_app(&admin_of("acme"), &w.cal).await.unwrap();
    assert!(w.listed(&admin_of("acme")).await.is_empty());
    assert_invalid_grant(w.d.refresh(&w.cal, &alice.refresh_token, None).await);
}

impl World {
    /// The ids of the grants `principal` lists, unfiltered.
    async fn listed(&self, principal: &Principal) -> Vec<String> {
        let page = self
            .d
            .authorizations(principal, None, None, &PageRequest::default())
            .await
            .unwrap();
        page.items.into_iter().map(|g| g.id.to_string()).collect()
    }
}

/// Consents of one user to one app on several threads agree on one grant, each with its own
/// code that redeems, and none fails for contention. (Whether they really interleave is up to
/// the scheduler; the pointer's conflict rule itself is pinned in `grant_transitions`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_consents_make_one_grant() {
    let w = Arc::new(world().await);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let w = w.clone();
            tokio::spawn(async move {
                w.consent(who("acme", "alice", Role::Owner), &[Scope::MeetingRead])
                    .await
            })
        })
        .collect();
    let mut issued = Vec::new();
    for t in tasks {
        issued.push(t.await.unwrap());
    }
    assert!(issued.iter().all(|i| i.grant.id == issued[0].grant.id), "one grant");
    for i in &issued {
        w.redeem(&i.code).await.unwrap();
    }
    assert_eq!(w.listed(&admin_of("acme")).await.len(), 1);
}

/// A pointer left at a grant that was never created (a crash between the two appends of a
/// first consent) is replaced by the next consent.
#[tokio::test]
async fn a_dangling_pointer_is_replaced() {
    use zoom_auth::grant::key::{GrantKey, GrantKeyCommand, GrantKeys};
    use zoom_core::engine::{Runner, RunnerConfig};
    let store = Arc::new(MemoryStore::new());
    let w = world_on(store.clone()).await;
    let keys = Runner::new(
        GrantKeys,
        store,
        w.clock.clone(),
        Arc::new(SeededEntropy::new(5)),
        RunnerConfig::default(),
    );
    let key = GrantKey {
        account_id: name("acme"),
        user_id: name("alice"),
        client_id: w.cal.clone(),
    };
    let point = GrantKeyCommand::Point {
        grant_id: name("grt_never_created"),
        replaces: None,
    };
    keys.execute(Some(&key), None, &point, None).await.unwrap();
    let issued = w
        .consent(who("acme", "alice", Role::Owner), &[Scope::MeetingRead])
        .await;
    assert_ne!(issued.grant.id.as_str(), "grt_never_created");
    w.redeem(&issued.code).await.unwrap();
    let pointer = keys.read(&key).await.unwrap().unwrap();
    assert_eq!(pointer.grant_id, issued.grant.id);
}

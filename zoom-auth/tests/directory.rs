//! The directory over a real (in-memory) store through zoom-core's runner: accounts, users,
//! email uniqueness, apps, paging, legacy apps, and the login seam.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use zoom_auth::account::{AccountPatch, AccountStatus};
use zoom_auth::app::AppKind;
use zoom_auth::password::{self, PasswordParams};
use zoom_auth::user::{Role, UserStatus};
use zoom_auth::{AppInput, Directory, DirectoryConfig, Login, LoginError, UserChanges, UserInput};
use zoom_core::clock::{ManualClock, SeededEntropy};
use zoom_core::engine::{EngineError, PageRequest};
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::{EventId, Name};
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::{AppendRequest, EventStore};
use zoom_core::testing::kit::t0;
use zoom_store_memory::MemoryStore;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn directory_on(store: Arc<MemoryStore>) -> Directory {
    let mut config = DirectoryConfig::new(name("default"));
    config.password = PasswordParams::insecure_for_tests();
    Directory::new(
        store,
        Arc::new(ManualClock::new(t0())),
        Arc::new(SeededEntropy::new(7)),
        config,
    )
    .unwrap()
}

fn platform() -> Principal {
    Principal::app(name("default"), name("boot"), Scope::ALL)
}

fn admin_of(account: &str) -> Principal {
    Principal::app(name(account), name("adm"), [Scope::Admin])
}

fn user_input(id: &str, email: &str, password: Option<&str>) -> UserInput {
    UserInput {
        id: Some(name(id)),
        email: email.into(),
        display_name: id.into(),
        role: None,
        password: password.map(Into::into),
    }
}

fn code(e: &EngineError) -> &'static str {
    match e {
        EngineError::Domain(d) => d.code(),
        _ => "other",
    }
}

async fn two_accounts(d: &Directory) {
    d.create_account(Some(&platform()), Some(&name("acme")), "Acme", None)
        .await
        .unwrap();
    d.create_account(Some(&platform()), Some(&name("globex")), "Globex", None)
        .await
        .unwrap();
}

/// Accounts are created by the platform, listed in pages, seen only by their own principals.
#[tokio::test]
async fn accounts_are_created_listed_and_isolated() {
    let d = directory_on(Arc::new(MemoryStore::new()));
    two_accounts(&d).await;
    let generated = d
        .create_account(Some(&platform()), None, "Initech", None)
        .await
        .unwrap();
    assert!(generated.id.as_str().starts_with("acc_"), "{}", generated.id);
    let first = d
        .accounts(
            &platform(),
            &PageRequest {
                page_size: Some(2),
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = d
        .accounts(
            &platform(),
            &PageRequest {
                page_size: Some(2),
                cursor: first.next_cursor,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());
    let err = d.account(&admin_of("acme"), &name("globex")).await.unwrap_err();
    assert_eq!(code(&err), "not_found");
    let err = d.account(&admin_of("acme"), &name("acme")).await.unwrap_err();
    assert_eq!(code(&err), "insufficient_scope");
    assert_eq!(d.account(&platform(), &name("acme")).await.unwrap().name, "Acme");
    let err = d
        .accounts(&admin_of("acme"), &PageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(code(&err), "insufficient_scope");
}

/// An email names one user in the whole server, whatever its case; a failed creation gives
/// the address back.
#[tokio::test]
async fn emails_are_unique_across_accounts() {
    let d = directory_on(Arc::new(MemoryStore::new()));
    two_accounts(&d).await;
    d.create_user(
        Some(&admin_of("acme")),
        &name("acme"),
        user_input("alice", "alice@x.test", None),
    )
    .await
    .unwrap();
    let err = d
        .create_user(
            Some(&admin_of("globex")),
            &name("globex"),
            user_input("al", "ALICE@x.test", None),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), "email_taken");
    // A second `alice` in acme fails on its id and must not keep `new@x.test`.
    let err = d
        .create_user(
            Some(&admin_of("acme")),
            &name("acme"),
            user_input("alice", "new@x.test", None),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), "user_exists");
    d.create_user(
        Some(&admin_of("globex")),
        &name("globex"),
        user_input("nora", "new@x.test", None),
    )
    .await
    .unwrap();
    // Another account's admin cannot create users in acme.
    let err = d
        .create_user(
            Some(&admin_of("globex")),
            &name("acme"),
            user_input("eve", "eve@x.test", None),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), "not_found");
}

/// Users are listed in pages and by status, read by id, and the last owner stays.
#[tokio::test]
async fn users_are_listed_read_and_owned() {
    let d = directory_on(Arc::new(MemoryStore::new()));
    two_accounts(&d).await;
    let admin = admin_of("acme");
    let mut owner = user_input("olga", "olga@x.test", None);
    owner.role = Some(Role::Owner);
    d.create_user(Some(&admin), &name("acme"), owner).await.unwrap();
    for i in 0..3 {
        d.create_user(
            Some(&admin),
            &name("acme"),
            user_input(&format!("u{i}"), &format!("u{i}@x.test"), None),
        )
        .await
        .unwrap();
    }
    let generated = d
        .create_user(
            Some(&admin),
            &name("acme"),
            UserInput {
                id: None,
                ..user_input("ignored", "gen@x.test", None)
            },
        )
        .await
        .unwrap();
    assert!(generated.id.as_str().starts_with("usr_"));
    let page = d
        .users(
            &admin,
            None,
            &PageRequest {
                page_size: Some(3),
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    let rest = d
        .users(
            &admin,
            None,
            &PageRequest {
                page_size: Some(3),
                cursor: page.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 2);
    // A cursor of one filter is refused by another.
    let err = d
        .users(
            &admin,
            Some(UserStatus::Active),
            &PageRequest {
                page_size: Some(3),
                cursor: page.next_cursor,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), "invalid_cursor");
    d.deactivate_user(Some(&admin), &name("acme"), &name("u1"))
        .await
        .unwrap();
    let deactivated = d
        .users(&admin, Some(UserStatus::Deactivated), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(deactivated.items.len(), 1);
    let err = d
        .deactivate_user(Some(&admin), &name("acme"), &name("olga"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "last_owner");
    let reader = Principal::app(name("acme"), name("ro"), [Scope::UserRead]);
    assert_eq!(d.user(&reader, &name("u0")).await.unwrap().email, "u0@x.test");
    let err = d.user(&admin_of("globex"), &name("u0")).await.unwrap_err();
    assert_eq!(code(&err), "not_found");
    let me = Principal::user(name("acme"), name("u2"), [Scope::MeetingRead]);
    assert_eq!(d.user(&me, &name("u2")).await.unwrap().id, name("u2"));
    let err = d.user(&me, &name("u0")).await.unwrap_err();
    assert_eq!(code(&err), "insufficient_scope");
}

/// Login: the right password works; a wrong one, an unknown email, a user without a password, a
/// deactivated user and a disabled account all get the same answer.
#[tokio::test]
async fn login_checks_every_failure_alike() {
    let d = directory_on(Arc::new(MemoryStore::new()));
    two_accounts(&d).await;
    let admin = admin_of("acme");
    d.create_user(
        Some(&admin),
        &name("acme"),
        user_input("alice", "Alice@X.test", Some("hunter22")),
    )
    .await
    .unwrap();
    d.create_user(Some(&admin), &name("acme"), user_input("nopw", "nopw@x.test", None))
        .await
        .unwrap();
    let who = d.login(" alice@x.test ", "hunter22").await.unwrap();
    assert_eq!(
        (who.account_id.as_str(), who.user_id.as_str(), who.role),
        ("acme", "alice", Role::Member)
    );
    for (email, pw) in [
        ("alice@x.test", "hunter23"),
        ("nobody@x.test", "hunter22"),
        ("nopw@x.test", ""),
        ("bad", "x"),
    ] {
        assert_eq!(d.login(email, pw).await, Err(LoginError::InvalidCredentials), "{email}");
    }
    d.update_user(
        Some(&admin),
        &name("acme"),
        &name("alice"),
        UserChanges {
            password: Some("new-pass".into()),
            ..UserChanges::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        d.login("alice@x.test", "hunter22").await,
        Err(LoginError::InvalidCredentials)
    );
    assert!(d.login("alice@x.test", "new-pass").await.is_ok());
    d.update_account(
        &platform(),
        &name("acme"),
        AccountPatch {
            name: None,
            status: Some(AccountStatus::Disabled),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        d.login("alice@x.test", "new-pass").await,
        Err(LoginError::InvalidCredentials)
    );
    d.update_account(
        &platform(),
        &name("acme"),
        AccountPatch {
            name: None,
            status: Some(AccountStatus::Active),
        },
    )
    .await
    .unwrap();
    d.deactivate_user(Some(&admin), &name("acme"), &name("alice"))
        .await
        .unwrap();
    assert_eq!(
        d.login("alice@x.test", "new-pass").await,
        Err(LoginError::InvalidCredentials)
    );
    // A disabled account takes no new users.
    d.update_account(
        &platform(),
        &name("globex"),
        AccountPatch {
            name: None,
            status: Some(AccountStatus::Disabled),
        },
    )
    .await
    .unwrap();
    let err = d
        .create_user(
            Some(&admin_of("globex")),
            &name("globex"),
            user_input("g", "g@x.test", None),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), "account_disabled");
}

/// Apps: created with a `zsec_` secret shown once, authenticated by it, rotated (the old one
/// stops at once), disabled (no secret works), listed per account and in the marketplace.
#[tokio::test]
async fn apps_are_created_rotated_disabled_and_listed() {
    let d = directory_on(Arc::new(MemoryStore::new()));
    two_accounts(&d).await;
    let admin = admin_of("acme");
    let input = |published| AppInput {
        client_id: None,
        account_id: None,
        name: "Cal".into(),
        kind: AppKind::User,
        redirect_uris: vec!["https://cal.example/cb".into()],
        scopes: vec![Scope::MeetingRead],
        published,
        public: false,
    };
    let created = d.create_app(Some(&admin), input(true)).await.unwrap();
    let secret = created.client_secret.clone().unwrap();
    assert!(secret.starts_with("zsec_") && secret.len() == 5 + 43, "{secret}");
    let id = created.app.client_id.clone();
    assert!(id.as_str().starts_with("app_"));
    assert!(d.authenticate_app(&id, &secret).await.unwrap().is_some());
    let rotated = d.rotate_secret(&admin, &id).await.unwrap();
    assert!(
        d.authenticate_app(&id, &secret).await.unwrap().is_none(),
        "the old secret stops at once"
    );
    let new_secret = rotated.client_secret.unwrap();
    assert!(d.authenticate_app(&id, &new_secret).await.unwrap().is_some());
    d.create_app(Some(&admin), input(false)).await.unwrap();
    d.create_app(Some(&admin_of("globex")), input(false)).await.unwrap();
    assert_eq!(d.apps(&admin, &PageRequest::default()).await.unwrap().items.len(), 2);
    let market = d
        .marketplace(&admin_of("globex"), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        market.items.iter().map(|a| a.client_id.clone()).collect::<Vec<_>>(),
        vec![id.clone()]
    );
    assert_eq!(code(&d.app(&admin_of("globex"), &id).await.unwrap_err()), "not_found");
    d.disable_app(&admin, &id).await.unwrap();
    assert!(d.authenticate_app(&id, &new_secret).await.unwrap().is_none());
    assert!(
        d.marketplace(&admin, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        d.authenticate_app(&name("app_unknown"), "zsec_x")
            .await
            .unwrap()
            .is_none()
    );
}

/// An app the server stored as `app.registered` before zoom-auth existed reads as a
/// confidential server app whose secret still works.
#[tokio::test]
async fn a_stored_app_registered_event_stays_readable() {
    let store = Arc::new(MemoryStore::new());
    let client_id = name("admin");
    // The row exactly as the server wrote it when zoom-core held `app.registered`.
    let payload = format!(
        r#"{{"client_id":"admin","account_id":"default","name":"Bootstrap admin","secret_sha256":"{}","scopes":["admin"],"registered_at":"2030-01-01T09:00:00Z"}}"#,
        zoom_auth::secret::SecretHash::of("pw-123").as_str()
    );
    let row = NewEvent {
        event_id: EventId::from_entropy([3; 16]),
        event_type: "app.registered".into(),
        schema_version: 1,
        payload,
        metadata: r#"{"account_id":"default","causation":"app.register"}"#.into(),
        recorded_at: t0(),
    };
    store
        .append(AppendRequest {
            stream_id: StreamId::new(zoom_auth::app::app_stream(&client_id)).unwrap(),
            expected_version: 0,
            events: vec![row],
            index: None,
            snapshot: None,
            links: vec![],
            idempotency: None,
        })
        .await
        .unwrap();
    let d = directory_on(store);
    let app = d.authenticate_app(&client_id, "pw-123").await.unwrap().unwrap();
    assert_eq!(
        (app.kind, app.scopes.as_slice()),
        (AppKind::Server, &[Scope::Admin][..])
    );
    assert!(d.authenticate_app(&client_id, "pw-124").await.unwrap().is_none());
}

/// The default Argon2id parameters make a hash that verifies, and the hash names them.
#[test]
fn default_password_hashes_verify() {
    let entropy = SeededEntropy::new(1);
    let hash = password::hash("correct horse", PasswordParams::default(), &entropy).unwrap();
    assert!(
        hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        hash.as_str()
    );
    assert!(password::verify("correct horse", &hash));
    assert!(!password::verify("correct horsf", &hash));
    assert!(!format!("{hash:?}").contains("argon2id"), "Debug hides the hash");
    assert!(password::hash("", PasswordParams::default(), &entropy).is_err());
}

/// An account made with its admin app: the app holds every scope but `platform`, its secret
/// authenticates it, and a repeat of the id is `account_exists` with no second app. The
/// platform account is never disabled.
#[tokio::test]
async fn an_account_comes_with_its_admin_app() {
    let d = directory_on(Arc::new(MemoryStore::new()));
    let err = d
        .create_account_with_admin(&admin_of("default"), Some(&name("acme")), "Acme")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "insufficient_scope");
    let (account, admin) = d
        .create_account_with_admin(&platform(), Some(&name("acme")), "Acme")
        .await
        .unwrap();
    assert_eq!(account.id.as_str(), "acme");
    assert_eq!(admin.app.account_id.as_str(), "acme");
    assert_eq!(admin.app.kind, AppKind::Server);
    assert!(!admin.app.scopes.contains(&Scope::Platform));
    assert_eq!(admin.app.scopes.len(), Scope::ALL.len() - 1);
    let secret = admin.client_secret.unwrap();
    let found = d.authenticate_app(&admin.app.client_id, &secret).await.unwrap();
    assert_eq!(found.map(|a| a.client_id), Some(admin.app.client_id.clone()));
    for again in ["Acme", "Other"] {
        let err = d
            .create_account_with_admin(&platform(), Some(&name("acme")), again)
            .await
            .unwrap_err();
        assert_eq!(code(&err), "account_exists");
    }
    let apps = d.apps(&admin_of("acme"), &PageRequest::default()).await.unwrap();
    assert_eq!(apps.items.len(), 1);

    d.create_account(None, Some(&name("default")), "Platform", None)
        .await
        .unwrap();
    let disable = AccountPatch {
        name: None,
        status: Some(AccountStatus::Disabled),
    };
    let err = d
        .update_account(&platform(), &name("default"), disable.clone())
        .await
        .unwrap_err();
    assert_eq!(code(&err), "platform_account");
    let err = d
        .update_account(&admin_of("acme"), &name("acme"), disable.clone())
        .await
        .unwrap_err();
    assert_eq!(code(&err), "insufficient_scope");
    d.update_account(&platform(), &name("acme"), disable).await.unwrap();
}

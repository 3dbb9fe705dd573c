//! Given/when/then tests of the account, user and app aggregates, through zoom-core's kit.

#![allow(clippy::unwrap_used)]

use zoom_auth::account::event::{AccountCreated, AccountStatusChanged};
use zoom_auth::account::{AccountCommand, AccountEvent, AccountPatch, AccountStatus, Accounts};
use zoom_auth::app::{AppCommand, AppKind, AppPatch, AppStatus, Apps, NewApp};
use zoom_auth::secret::SecretHash;
use zoom_auth::user::event::UserCreated;
use zoom_auth::user::{NewUser, Role, UserCommand, UserEvent, UserPatch, UserStatus, Users};
use zoom_core::id::Name;
use zoom_core::principal::{Principal, Scope};
use zoom_core::testing::kit::{AggregateTest, t0};

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn platform_app() -> Principal {
    Principal::app(name("default"), name("boot"), Scope::ALL)
}

fn admin_app() -> Principal {
    Principal::app(name("acme"), name("app_1"), [Scope::Admin])
}

fn created_account() -> AccountEvent {
    AccountEvent::Created(AccountCreated {
        account_id: name("acme"),
        name: "Acme".into(),
        created_at: t0(),
    })
}

/// A platform app creates an account; it folds active.
#[test]
fn an_account_is_created_active() {
    AggregateTest::of(Accounts, name("acme"), vec![])
        .as_principal(platform_app())
        .when(AccountCommand::Create { name: " Acme ".into() })
        .then_fold(|a| {
            let a = a.as_ref().unwrap();
            assert_eq!((a.name.as_str(), a.status), ("Acme", AccountStatus::Active));
        });
}

/// `admin` does not imply `platform`: an account's admin cannot create accounts.
#[test]
fn accounts_need_platform() {
    AggregateTest::of(Accounts, name("globex"), vec![])
        .as_principal(admin_app())
        .when(AccountCommand::Create { name: "Globex".into() })
        .then_error("insufficient_scope");
}

/// A second creation with another name is a conflict; the same one is a no-op.
#[test]
fn an_account_is_created_once() {
    let test = || AggregateTest::of(Accounts, name("acme"), vec![created_account()]).as_principal(platform_app());
    test()
        .when(AccountCommand::Create { name: "Other".into() })
        .then_error("account_exists");
    test()
        .when(AccountCommand::Create { name: "Acme".into() })
        .then_nothing();
}

/// Disabling, then enabling, an account; a repeated status is a no-op.
#[test]
fn an_account_is_disabled_and_enabled() {
    let patch = |status| {
        AccountCommand::Update(AccountPatch {
            name: None,
            status: Some(status),
        })
    };
    AggregateTest::of(Accounts, name("acme"), vec![created_account()])
        .as_principal(platform_app())
        .when(patch(AccountStatus::Disabled))
        .then_types(&["account.disabled"])
        .then_fold(|a| assert_eq!(a.as_ref().unwrap().status, AccountStatus::Disabled));
    let disabled = AccountEvent::Disabled(AccountStatusChanged {
        account_id: name("acme"),
        at: t0(),
    });
    AggregateTest::of(Accounts, name("acme"), vec![created_account(), disabled.clone()])
        .as_principal(platform_app())
        .when(patch(AccountStatus::Disabled))
        .then_nothing();
    AggregateTest::of(Accounts, name("acme"), vec![created_account(), disabled])
        .as_principal(platform_app())
        .when(patch(AccountStatus::Active))
        .then_types(&["account.enabled"]);
}

fn user(id: &str, role: Role) -> UserEvent {
    UserEvent::Created(UserCreated {
        account_id: name("acme"),
        user_id: name(id),
        email: format!("{id}@acme.test"),
        display_name: id.into(),
        role,
        password_hash: None,
        created_at: t0(),
    })
}

fn new_user(id: &str, role: Role) -> UserCommand {
    UserCommand::Create(NewUser {
        user_id: name(id),
        email: format!("{id}@ACME.test"),
        display_name: id.into(),
        role,
        password: None,
    })
}

fn owner_user(id: &str) -> Principal {
    Principal::user(name("acme"), name(id), [Scope::Admin])
}

fn set_role(id: &str, role: Role) -> UserCommand {
    UserCommand::Update {
        user_id: name(id),
        patch: UserPatch {
            role: Some(role),
            ..UserPatch::default()
        },
    }
}

/// An admin app creates the first owner of an account; the email is normalised.
#[test]
fn an_app_makes_the_first_owner() {
    AggregateTest::of(Users, name("acme"), vec![])
        .as_principal(admin_app())
        .when(new_user("olga", Role::Owner))
        .then_fold(|d| {
            let u = d.get(&name("olga")).unwrap();
            assert_eq!(
                (u.role, u.status, u.email.as_str()),
                (Role::Owner, UserStatus::Active, "olga@acme.test")
            );
        });
}

/// A user id is unique in its account.
#[test]
fn a_user_id_is_taken_once() {
    AggregateTest::of(Users, name("acme"), vec![user("alice", Role::Member)])
        .as_principal(admin_app())
        .when(new_user("alice", Role::Member))
        .then_error("user_exists");
}

/// An admin user cannot make an owner; an owner user can.
#[test]
fn only_an_owner_makes_an_owner() {
    let history = vec![
        user("olga", Role::Owner),
        user("adam", Role::Admin),
        user("bob", Role::Member),
    ];
    AggregateTest::of(Users, name("acme"), history.clone())
        .as_principal(owner_user("adam"))
        .when(set_role("bob", Role::Owner))
        .then_error("owner_required");
    AggregateTest::of(Users, name("acme"), history)
        .as_principal(owner_user("olga"))
        .when(set_role("bob", Role::Owner))
        .then_fold(|d| assert_eq!(d.get(&name("bob")).unwrap().role, Role::Owner));
}

/// An admin user cannot unmake an owner either.
#[test]
fn only_an_owner_unmakes_an_owner() {
    AggregateTest::of(
        Users,
        name("acme"),
        vec![
            user("olga", Role::Owner),
            user("oscar", Role::Owner),
            user("adam", Role::Admin),
        ],
    )
    .as_principal(owner_user("adam"))
    .when(set_role("oscar", Role::Member))
    .then_error("owner_required");
}

/// The last owner is neither demoted nor deactivated, even by an app; with two, one may go.
#[test]
fn the_last_owner_stays() {
    let one = vec![user("olga", Role::Owner), user("bob", Role::Member)];
    AggregateTest::of(Users, name("acme"), one.clone())
        .as_principal(admin_app())
        .when(set_role("olga", Role::Admin))
        .then_error("last_owner");
    AggregateTest::of(Users, name("acme"), one)
        .as_principal(admin_app())
        .when(UserCommand::Deactivate { user_id: name("olga") })
        .then_error("last_owner");
    AggregateTest::of(
        Users,
        name("acme"),
        vec![user("olga", Role::Owner), user("oscar", Role::Owner)],
    )
    .as_principal(owner_user("olga"))
    .when(UserCommand::Deactivate { user_id: name("oscar") })
    .then_fold(|d| assert_eq!(d.active_owners(), 1));
}

/// Deactivating twice writes one event; another account's caller sees no user.
#[test]
fn deactivation_is_idempotent_and_isolated() {
    let history = vec![
        user("olga", Role::Owner),
        user("bob", Role::Member),
        UserEvent::Deactivated(zoom_auth::user::event::UserStatusChanged {
            account_id: name("acme"),
            user_id: name("bob"),
            at: t0(),
        }),
    ];
    AggregateTest::of(Users, name("acme"), history.clone())
        .as_principal(admin_app())
        .when(UserCommand::Deactivate { user_id: name("bob") })
        .then_nothing();
    AggregateTest::of(Users, name("acme"), history)
        .as_principal(Principal::app(name("globex"), name("app_9"), [Scope::Admin]))
        .when(UserCommand::Deactivate { user_id: name("bob") })
        .then_error("not_found");
}

/// A bad email or display name is refused naming the field.
#[test]
fn user_fields_are_checked() {
    let mut bad = NewUser {
        user_id: name("x"),
        email: "not an email".into(),
        display_name: "X".into(),
        role: Role::Member,
        password: None,
    };
    AggregateTest::of(Users, name("acme"), vec![])
        .when(UserCommand::Create(bad.clone()))
        .then_invalid("email");
    bad.email = "x@acme.test".into();
    bad.display_name = "  ".into();
    AggregateTest::of(Users, name("acme"), vec![])
        .when(UserCommand::Create(bad))
        .then_invalid("display_name");
}

fn apps() -> Apps {
    Apps {
        platform_account: name("default"),
    }
}

fn new_app(kind: AppKind, uris: &[&str], scopes: &[Scope]) -> NewApp {
    NewApp {
        account_id: name("acme"),
        name: "Calendar sync".into(),
        kind,
        redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
        scopes: scopes.to_vec(),
        published: false,
        public: false,
        secret: Some(SecretHash::of("zsec_first")),
    }
}

/// A confidential user app is created with its secret's hash; the secret then matches.
#[test]
fn an_app_is_created_with_its_secret_hash() {
    AggregateTest::of(apps(), name("app_cal"), vec![])
        .as_principal(admin_app())
        .when(AppCommand::Create(new_app(
            AppKind::User,
            &["https://cal.example/cb", "http://127.0.0.1:8000/cb"],
            &[Scope::MeetingRead],
        )))
        .then_fold(|s| {
            let s = s.as_ref().unwrap();
            assert!(s.secret_matches("zsec_first"));
            assert!(!s.secret_matches("zsec_other"));
            assert_eq!(s.app().status, AppStatus::Active);
        });
}

/// Only the platform account's apps may hold `platform`.
#[test]
fn platform_is_for_the_platform_account() {
    AggregateTest::of(apps(), name("app_x"), vec![])
        .as_principal(admin_app())
        .when(AppCommand::Create(new_app(AppKind::Server, &[], &[Scope::Platform])))
        .then_invalid("scopes");
    let mut mine = new_app(AppKind::Server, &[], &[Scope::Platform]);
    mine.account_id = name("default");
    AggregateTest::of(apps(), name("app_x"), vec![])
        .as_principal(platform_app())
        .when(AppCommand::Create(mine))
        .then_types(&["app.created"]);
}

/// Redirect URIs: https, or http for loopback only; no fragment; absolute; a user app needs one.
#[test]
fn redirect_uris_follow_the_rules() {
    for bad in [
        "http://cal.example/cb",
        "https://cal.example/cb#frag",
        "/relative",
        "ftp://cal.example/cb",
        "http://127.0.0.2/cb",
        "http://localhost?\u{fd}P\u{11}",
        "https://a.example/c b",
        "https://a.example/caf\u{e9}",
    ] {
        AggregateTest::of(apps(), name("app_x"), vec![])
            .as_principal(admin_app())
            .when(AppCommand::Create(new_app(AppKind::User, &[bad], &[])))
            .then_invalid("redirect_uris");
    }
    AggregateTest::of(apps(), name("app_x"), vec![])
        .as_principal(admin_app())
        .when(AppCommand::Create(new_app(AppKind::User, &[], &[])))
        .then_invalid("redirect_uris");
    for good in [
        "https://a.example/cb?x=1",
        "http://localhost:9/cb",
        "http://[::1]/cb",
        "http://127.0.0.1/cb",
    ] {
        AggregateTest::of(apps(), name("app_x"), vec![])
            .as_principal(admin_app())
            .when(AppCommand::Create(new_app(AppKind::User, &[good], &[])))
            .then_types(&["app.created"]);
    }
    assert!(zoom_auth::app::redirect::matches(
        &["https://a.example/cb".into()],
        "https://a.example/cb"
    ));
    assert!(!zoom_auth::app::redirect::matches(
        &["https://a.example/cb".into()],
        "https://a.example/cb/"
    ));
}

/// Public apps are user apps with no secret.
#[test]
fn public_apps_have_no_secret() {
    let mut public = new_app(AppKind::User, &["https://a.example/cb"], &[]);
    public.public = true;
    AggregateTest::of(apps(), name("app_x"), vec![])
        .as_principal(admin_app())
        .when(AppCommand::Create(public.clone()))
        .then_invalid("client_secret");
    public.secret = None;
    AggregateTest::of(apps(), name("app_x"), vec![])
        .as_principal(admin_app())
        .when(AppCommand::Create(public.clone()))
        .then_types(&["app.created"]);
    let mut server = public;
    server.kind = AppKind::Server;
    AggregateTest::of(apps(), name("app_x"), vec![])
        .as_principal(admin_app())
        .when(AppCommand::Create(server))
        .then_invalid("public");
}

fn created_app() -> zoom_auth::app::AppEvent {
    let outcome = AggregateTest::of(apps(), name("app_cal"), vec![])
        .as_principal(admin_app())
        .when(AppCommand::Create(new_app(AppKind::Server, &[], &[Scope::MeetingRead])));
    outcome.result().unwrap().remove(0)
}

/// Rotation replaces the secret: the old one stops at once.
#[test]
fn rotation_stops_the_old_secret() {
    AggregateTest::of(apps(), name("app_cal"), vec![created_app()])
        .as_principal(admin_app())
        .when(AppCommand::RotateSecret {
            secret: Some(SecretHash::of("zsec_second")),
        })
        .then_fold(|s| {
            let s = s.as_ref().unwrap();
            assert!(s.secret_matches("zsec_second"));
            assert!(!s.secret_matches("zsec_first"));
        });
}

/// Disabling is idempotent; an app cannot disable itself; another account's admin sees no app;
/// an update changes fields.
#[test]
fn apps_are_disabled_updated_and_isolated() {
    AggregateTest::of(apps(), name("app_cal"), vec![created_app()])
        .as_principal(admin_app())
        .when(AppCommand::Disable)
        .then_fold(|s| assert_eq!(s.as_ref().unwrap().app().status, AppStatus::Disabled));
    AggregateTest::of(apps(), name("app_cal"), vec![created_app()])
        .as_principal(Principal::app(name("globex"), name("app_9"), [Scope::Admin]))
        .when(AppCommand::Disable)
        .then_error("not_found");
    AggregateTest::of(apps(), name("app_cal"), vec![created_app()])
        .as_principal(Principal::app(name("acme"), name("app_cal"), [Scope::Admin]))
        .when(AppCommand::Disable)
        .then_error("cannot_disable_self");
    AggregateTest::of(apps(), name("app_cal"), vec![created_app()])
        .as_principal(admin_app())
        .when(AppCommand::Update(AppPatch {
            published: Some(true),
            ..AppPatch::default()
        }))
        .then_fold(|s| assert!(s.as_ref().unwrap().app().published));
    AggregateTest::of(apps(), name("app_cal"), vec![created_app()])
        .as_principal(admin_app())
        .when(AppCommand::Update(AppPatch::default()))
        .then_nothing();
}

/// The bootstrap's registration: created once, a repeat writes nothing, a new secret or new
/// scopes change the app (the old secret stops), another account replaces it whole.
#[test]
fn registration_is_idempotent_and_brings_the_app_in_line() {
    let mut boot = new_app(AppKind::Server, &[], &[Scope::Admin]);
    boot.account_id = name("default");
    let first = AggregateTest::of(apps(), name("admin"), vec![])
        .as_system()
        .when(AppCommand::Register(boot.clone()))
        .result()
        .unwrap();
    assert_eq!(first.len(), 1);
    AggregateTest::of(apps(), name("admin"), first.clone())
        .as_system()
        .when(AppCommand::Register(boot.clone()))
        .then_nothing();
    let mut rotated = boot.clone();
    rotated.secret = Some(SecretHash::of("zsec_second"));
    rotated.scopes = vec![Scope::Admin, Scope::Platform];
    AggregateTest::of(apps(), name("admin"), first.clone())
        .as_system()
        .when(AppCommand::Register(rotated))
        .then_types(&["app.updated", "app.secret_rotated"])
        .then_fold(|s| {
            let s = s.as_ref().unwrap();
            assert!(s.secret_matches("zsec_second") && !s.secret_matches("zsec_first"));
            assert_eq!(s.app().scopes, vec![Scope::Admin, Scope::Platform]);
        });
    let mut moved = boot;
    moved.account_id = name("acme");
    AggregateTest::of(apps(), name("admin"), first)
        .as_system()
        .when(AppCommand::Register(moved))
        .then_fold(|s| assert_eq!(s.as_ref().unwrap().app().account_id, name("acme")));
}

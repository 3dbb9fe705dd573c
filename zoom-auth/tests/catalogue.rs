//! The stored JSON of every identity event type (accounts, users, apps, grants) is pinned by golden files in `tests/golden/`,
//! and docs/events.md has a section for each whose example decodes as that type.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use zoom_auth::account::event::{AccountCreated, AccountRenamed, AccountStatusChanged};
use zoom_auth::account::{AccountEvent, Accounts};
use zoom_auth::app::event::{AppCreated, AppDisabled, AppRegistered, AppSecretRotated, AppUpdated};
use zoom_auth::app::{AppEvent, AppKind, Apps};
use zoom_auth::grant::event::{
    GrantCodeIssued, GrantCodeRedeemed, GrantCreated, GrantRefreshTokenIssued, GrantRevoked, GrantScopesExtended,
};
use zoom_auth::grant::key::{GrantKeyEvent, GrantKeySet, GrantKeys};
use zoom_auth::grant::{GrantEvent, Grants, RevokeReason};
use zoom_auth::password::PasswordHash;
use zoom_auth::secret::SecretHash;
use zoom_auth::user::email::{EmailClaim, EmailClaims, EmailEvent, EmailReleased};
use zoom_auth::user::event::{UserCreated, UserPasswordChanged, UserStatusChanged, UserUpdated};
use zoom_auth::user::{Role, UserEvent, Users};
use zoom_core::aggregate::Aggregate;
use zoom_core::event::{Event, Metadata, NewEvent, RecordedEvent, StreamId};
use zoom_core::id::{EventId, Name};
use zoom_core::principal::{PrincipalKind, Scope};
use zoom_core::testing::kit::t0;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$AQEBAQEBAQEBAQEBAQEBAQ$3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+4";

/// Whether a row decodes through one aggregate.
type Decodes = fn(&RecordedEvent) -> bool;

/// One sample of every identity event type, with the stream kind that decodes it.
fn samples() -> Vec<(Event, Decodes)> {
    fn ok<A: Aggregate>(row: &RecordedEvent) -> bool {
        matches!(A::decode(row), Ok(Some(_)))
    }
    let acme = || name("acme");
    let alice = || name("alice");
    let grant = || name("grt_4d2rx0ad8e6d2cmvd5ns6wbjmg");
    vec![
        (
            Accounts::widen(&AccountEvent::Created(AccountCreated {
                account_id: acme(),
                name: "Acme".into(),
                created_at: t0(),
            })),
            ok::<Accounts>,
        ),
        (
            Accounts::widen(&AccountEvent::Renamed(AccountRenamed {
                account_id: acme(),
                name: "Acme Inc.".into(),
                at: t0(),
            })),
            ok::<Accounts>,
        ),
        (
            Accounts::widen(&AccountEvent::Disabled(AccountStatusChanged {
                account_id: acme(),
                at: t0(),
            })),
            ok::<Accounts>,
        ),
        (
            Accounts::widen(&AccountEvent::Enabled(AccountStatusChanged {
                account_id: acme(),
                at: t0(),
            })),
            ok::<Accounts>,
        ),
        (
            Users::widen(&UserEvent::Created(UserCreated {
                account_id: acme(),
                user_id: alice(),
                email: "alice@acme.test".into(),
                display_name: "Alice".into(),
                role: Role::Owner,
                password_hash: Some(PasswordHash::from_stored(HASH.into())),
                created_at: t0(),
            })),
            ok::<Users>,
        ),
        (
            Users::widen(&UserEvent::Updated(UserUpdated {
                account_id: acme(),
                user_id: alice(),
                display_name: Some("Alice A.".into()),
                role: Some(Role::Admin),
                at: t0(),
            })),
            ok::<Users>,
        ),
        (
            Users::widen(&UserEvent::PasswordChanged(UserPasswordChanged {
                account_id: acme(),
                user_id: alice(),
                password_hash: PasswordHash::from_stored(HASH.into()),
                at: t0(),
            })),
            ok::<Users>,
        ),
        (
            Users::widen(&UserEvent::Deactivated(UserStatusChanged {
                account_id: acme(),
                user_id: alice(),
                at: t0(),
            })),
            ok::<Users>,
        ),
        (
            Users::widen(&UserEvent::Reactivated(UserStatusChanged {
                account_id: acme(),
                user_id: alice(),
                at: t0(),
            })),
            ok::<Users>,
        ),
        (
            EmailClaims::widen(&EmailEvent::Claimed(EmailClaim {
                email: "alice@acme.test".into(),
                account_id: acme(),
                user_id: alice(),
                claimed_at: t0(),
            })),
            ok::<EmailClaims>,
        ),
        (
            EmailClaims::widen(&EmailEvent::Released(EmailReleased {
                email: "alice@acme.test".into(),
                account_id: acme(),
                user_id: alice(),
                at: t0(),
            })),
            ok::<EmailClaims>,
        ),
        (
            Apps::widen(&AppEvent::Created(AppCreated {
                client_id: name("app_1"),
                account_id: acme(),
                name: "Calendar sync".into(),
                kind: AppKind::User,
                redirect_uris: vec!["https://cal.example/callback".into()],
                scopes: vec![Scope::MeetingRead, Scope::MeetingWrite],
                published: true,
                public: false,
                secret_sha256: Some(SecretHash::of("zsec_example")),
                created_at: t0(),
            })),
            ok::<Apps>,
        ),
        (
            Apps::widen(&AppEvent::Updated(AppUpdated {
                client_id: name("app_1"),
                name: Some("Calendar".into()),
                redirect_uris: None,
                scopes: Some(vec![Scope::MeetingRead]),
                published: None,
                at: t0(),
            })),
            ok::<Apps>,
        ),
        (
            Apps::widen(&AppEvent::SecretRotated(AppSecretRotated {
                client_id: name("app_1"),
                secret_sha256: SecretHash::of("zsec_rotated"),
                at: t0(),
            })),
            ok::<Apps>,
        ),
        (
            Apps::widen(&AppEvent::Disabled(AppDisabled {
                client_id: name("app_1"),
                at: t0(),
            })),
            ok::<Apps>,
        ),
        (
            Apps::widen(&AppEvent::Registered(AppRegistered {
                client_id: name("admin"),
                account_id: acme(),
                name: "Bootstrap admin".into(),
                secret_sha256: SecretHash::of("zs_example").as_str().to_owned(),
                scopes: vec![Scope::Admin],
                registered_at: t0(),
            })),
            ok::<Apps>,
        ),
        (
            Grants::widen(&GrantEvent::Created(GrantCreated {
                grant_id: grant(),
                account_id: acme(),
                user_id: alice(),
                client_id: name("app_1"),
                scopes: vec![Scope::MeetingRead, Scope::MeetingWrite],
                created_at: t0(),
            })),
            ok::<Grants>,
        ),
        (
            Grants::widen(&GrantEvent::ScopesExtended(GrantScopesExtended {
                grant_id: grant(),
                scopes: vec![Scope::MeetingRead, Scope::MeetingWrite, Scope::UserRead],
                at: t0(),
            })),
            ok::<Grants>,
        ),
        (
            Grants::widen(&GrantEvent::CodeIssued(GrantCodeIssued {
                grant_id: grant(),
                code: 1,
                code_sha256: SecretHash::of("code secret part"),
                client_id: name("app_1"),
                redirect_uri: "https://cal.example/callback".into(),
                code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
                scopes: vec![Scope::MeetingRead],
                expires_at: t0() + chrono::Duration::minutes(5),
                at: t0(),
            })),
            ok::<Grants>,
        ),
        (
            Grants::widen(&GrantEvent::CodeRedeemed(GrantCodeRedeemed {
                grant_id: grant(),
                code: 1,
                at: t0(),
            })),
            ok::<Grants>,
        ),
        (
            Grants::widen(&GrantEvent::RefreshTokenIssued(GrantRefreshTokenIssued {
                grant_id: grant(),
                family: 1,
                generation: 2,
                refresh_sha256: SecretHash::of("refresh secret part"),
                client_id: name("app_1"),
                scopes: vec![Scope::MeetingRead],
                expires_at: t0() + chrono::Duration::days(30),
                at: t0(),
            })),
            ok::<Grants>,
        ),
        (
            Grants::widen(&GrantEvent::Revoked(GrantRevoked {
                grant_id: grant(),
                reason: RevokeReason::RefreshTokenReused,
                at: t0(),
            })),
            ok::<Grants>,
        ),
        (
            GrantKeys::widen(&GrantKeyEvent::Set(GrantKeySet {
                account_id: acme(),
                user_id: alice(),
                client_id: name("app_1"),
                grant_id: grant(),
                at: t0(),
            })),
            ok::<GrantKeys>,
        ),
    ]
}

fn recorded(n: usize, event: &Event) -> RecordedEvent {
    let metadata = Metadata {
        account_id: Some(name("acme")),
        subject: Some(name("app_1")),
        kind: Some(PrincipalKind::App),
        idempotency_key: None,
        causation: Some("user.create".into()),
    };
    let new = NewEvent::encode(EventId::from_entropy([n as u8; 16]), event, &metadata, t0()).unwrap();
    RecordedEvent {
        event_id: new.event_id,
        stream_id: StreamId::new("auth_golden").unwrap(),
        version: n as u64 + 1,
        position: n as u64 + 100,
        recorded_at: new.recorded_at,
        event_type: new.event_type,
        schema_version: new.schema_version,
        payload: new.payload,
        metadata: new.metadata,
    }
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Every identity event type has a sample, its stored envelope matches its golden file, and
/// the golden file decodes back through its aggregate.
#[test]
fn stored_form_matches_the_golden_files() {
    let samples = samples();
    let mut types: Vec<String> = samples.iter().map(|(e, _)| e.event_type().to_owned()).collect();
    let mut all: Vec<String> = [
        zoom_auth::account::event::EVENT_TYPES,
        zoom_auth::user::event::EVENT_TYPES,
        zoom_auth::user::email::EVENT_TYPES,
        zoom_auth::app::event::EVENT_TYPES,
        zoom_auth::grant::event::EVENT_TYPES,
        zoom_auth::grant::key::EVENT_TYPES,
    ]
    .concat()
    .into_iter()
    .map(str::to_owned)
    .collect();
    types.sort();
    all.sort();
    assert_eq!(types, all, "one sample per event type");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (n, (event, decodes)) in samples.iter().enumerate() {
        let row = recorded(n, event);
        assert!(decodes(&row), "{} decodes through its aggregate", event.event_type());
        let json = serde_json::to_string_pretty(&row.to_json().unwrap()).unwrap() + "\n";
        let path = golden_dir().join(format!("{}.json", event.event_type()));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, &json).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(json, golden, "stored form of {} changed", event.event_type());
    }
}

/// docs/events.md has a section for every identity event type, not sent as a webhook, whose
/// JSON example decodes as that type through its aggregate.
#[test]
fn the_event_catalogue_document_lists_every_identity_event() {
    let doc = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/events.md")).unwrap();
    for (n, (event, decodes)) in samples().iter().enumerate() {
        let ty = event.event_type();
        let heading = format!("### `{ty}`");
        let start = doc
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/events.md lacks {heading}"));
        let section = &doc[start..];
        assert!(
            section.lines().nth(2).unwrap_or("").contains("not sent as a webhook"),
            "{ty}"
        );
        let json_start = section
            .find("```json\n")
            .unwrap_or_else(|| panic!("{ty}: no json block"))
            + 8;
        let json_end = json_start + section[json_start..].find("```").unwrap();
        let mut row = recorded(n, event);
        row.payload = section[json_start..json_end].to_owned();
        assert!(decodes(&row), "docs/events.md example of {ty} decodes");
        assert_eq!(row.decode().unwrap().event_type(), ty);
    }
}

/// The golden file zoom-core pinned for `app.registered` before the type moved here (its stored
/// form, byte for byte) still decodes, through the app aggregate, as the app it registered.
#[test]
fn the_legacy_app_registered_golden_file_decodes() {
    let text = std::fs::read_to_string(golden_dir().join("legacy/app.registered.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let row = RecordedEvent {
        event_id: EventId::parse(v["event_id"].as_str().unwrap()).unwrap(),
        stream_id: StreamId::new(v["stream_id"].as_str().unwrap()).unwrap(),
        version: v["version"].as_u64().unwrap(),
        position: v["position"].as_u64().unwrap(),
        recorded_at: t0(),
        event_type: v["type"].as_str().unwrap().into(),
        schema_version: v["schema_version"].as_u64().unwrap() as u32,
        payload: v["payload"].to_string(),
        metadata: v["metadata"].to_string(),
    };
    let Some(AppEvent::Registered(e)) = Apps::decode(&row).unwrap() else {
        panic!("not an app.registered");
    };
    assert_eq!((e.client_id.as_str(), e.account_id.as_str()), ("app_1", "acme"));
    assert_eq!(e.scopes, vec![Scope::Admin]);
    assert_eq!(row.to_json().unwrap(), v, "the stored form is unchanged");
}

//! Property tests: `apply` never panics, whatever the sequence of events (even ones `decide`
//! would never produce), and every event survives its stored form.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use zoom_auth::account::event::{AccountCreated, AccountRenamed, AccountStatusChanged};
use zoom_auth::account::{AccountEvent, Accounts};
use zoom_auth::app::event::{AppCreated, AppDisabled, AppSecretRotated, AppUpdated};
use zoom_auth::app::{AppEvent, AppKind, Apps};
use zoom_auth::grant::event::{
    GrantCodeIssued, GrantCodeRedeemed, GrantCreated, GrantRefreshTokenIssued, GrantRevoked, GrantScopesExtended,
};
use zoom_auth::grant::key::{GrantKeyEvent, GrantKeySet, GrantKeys};
use zoom_auth::grant::state::RETIRED_KEPT;
use zoom_auth::grant::{GrantEvent, Grants, RevokeReason};
use zoom_auth::secret::SecretHash;
use zoom_auth::user::email::{EmailClaim, EmailClaims, EmailEvent, EmailReleased};
use zoom_auth::user::event::{UserCreated, UserPasswordChanged, UserStatusChanged, UserUpdated};
use zoom_auth::user::{Role, UserEvent, Users};
use zoom_core::aggregate::Aggregate;
use zoom_core::event::{Metadata, NewEvent, RecordedEvent, StreamId};
use zoom_core::id::{EventId, Name};
use zoom_core::principal::Scope;
use zoom_core::testing::kit::t0;

fn id() -> impl Strategy<Value = Name> {
    prop::sample::select(vec!["a", "b", "c"]).prop_map(|s| Name::parse(s).unwrap())
}

fn account_event() -> impl Strategy<Value = AccountEvent> {
    (id(), 0..4u8).prop_map(|(account_id, k)| match k {
        0 => AccountEvent::Created(AccountCreated {
            account_id,
            name: "n".into(),
            created_at: t0(),
        }),
        1 => AccountEvent::Renamed(AccountRenamed {
            account_id,
            name: "m".into(),
            at: t0(),
        }),
        2 => AccountEvent::Disabled(AccountStatusChanged { account_id, at: t0() }),
        _ => AccountEvent::Enabled(AccountStatusChanged { account_id, at: t0() }),
    })
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(vec![Role::Owner, Role::Admin, Role::Member])
}

fn user_event() -> impl Strategy<Value = UserEvent> {
    (id(), id(), role(), 0..5u8, any::<bool>()).prop_map(|(account_id, user_id, role, k, flag)| match k {
        0 => UserEvent::Created(UserCreated {
            account_id,
            email: format!("{user_id}@x.test"),
            user_id,
            display_name: "d".into(),
            role,
            password_hash: flag
                .then(|| zoom_auth::password::PasswordHash::from_stored("$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA".into())),
            created_at: t0(),
        }),
        1 => UserEvent::Updated(UserUpdated {
            account_id,
            user_id,
            display_name: flag.then(|| "e".into()),
            role: Some(role),
            at: t0(),
        }),
        2 => UserEvent::PasswordChanged(UserPasswordChanged {
            account_id,
            user_id,
            password_hash: zoom_auth::password::PasswordHash::from_stored("garbage".into()),
            at: t0(),
        }),
        3 => UserEvent::Deactivated(UserStatusChanged {
            account_id,
            user_id,
            at: t0(),
        }),
        _ => UserEvent::Reactivated(UserStatusChanged {
            account_id,
            user_id,
            at: t0(),
        }),
    })
}

fn app_event() -> impl Strategy<Value = AppEvent> {
    (id(), id(), 0..5u8, any::<bool>()).prop_map(|(client_id, account_id, k, flag)| match k {
        4 => AppEvent::Registered(zoom_auth::app::event::AppRegistered {
            client_id,
            account_id,
            name: "n".into(),
            secret_sha256: "00".into(),
            scopes: vec![Scope::Admin],
            registered_at: t0(),
        }),
        0 => AppEvent::Created(AppCreated {
            client_id,
            account_id,
            name: "n".into(),
            kind: if flag { AppKind::User } else { AppKind::Server },
            redirect_uris: vec![],
            scopes: vec![Scope::MeetingRead],
            published: flag,
            public: !flag,
            secret_sha256: flag.then(|| SecretHash::of("s")),
            created_at: t0(),
        }),
        1 => AppEvent::Updated(AppUpdated {
            client_id,
            name: flag.then(|| "m".into()),
            redirect_uris: Some(vec!["https://x.test/cb".into()]),
            scopes: None,
            published: Some(flag),
            at: t0(),
        }),
        2 => AppEvent::SecretRotated(AppSecretRotated {
            client_id,
            secret_sha256: SecretHash::of("t"),
            at: t0(),
        }),
        _ => AppEvent::Disabled(AppDisabled { client_id, at: t0() }),
    })
}

fn email_event() -> impl Strategy<Value = EmailEvent> {
    (id(), id(), any::<bool>()).prop_map(|(account_id, user_id, claim)| {
        if claim {
            EmailEvent::Claimed(EmailClaim {
                email: "e@x.test".into(),
                account_id,
                user_id,
                claimed_at: t0(),
            })
        } else {
            EmailEvent::Released(EmailReleased {
                email: "e@x.test".into(),
                account_id,
                user_id,
                at: t0(),
            })
        }
    })
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![0..4u64, Just(u64::MAX - 1), Just(u64::MAX)]
}

fn scopes() -> impl Strategy<Value = Vec<Scope>> {
    prop::sample::subsequence(Scope::ALL.to_vec(), 0..4)
}

fn grant_event() -> impl Strategy<Value = GrantEvent> {
    let times = (0..100_000i64, -10..100_000i64).prop_map(|(at, life)| {
        let at = t0() + chrono::Duration::minutes(at);
        (at, at + chrono::Duration::minutes(life))
    });
    (id(), id(), 0..6u8, number(), number(), scopes(), times, 0..7u8).prop_map(
        |(grant_id, other, k, n, m, scopes, (at, expires_at), r)| match k {
            0 => GrantEvent::Created(GrantCreated {
                grant_id,
                account_id: other.clone(),
                user_id: other.clone(),
                client_id: other,
                scopes,
                created_at: at,
            }),
            1 => GrantEvent::ScopesExtended(GrantScopesExtended { grant_id, scopes, at }),
            2 => GrantEvent::CodeIssued(GrantCodeIssued {
                grant_id,
                code: n,
                code_sha256: SecretHash::of("c"),
                client_id: other,
                redirect_uri: "https://x.test/cb".into(),
                code_challenge: "c".into(),
                scopes,
                expires_at,
                at,
            }),
            3 => GrantEvent::CodeRedeemed(GrantCodeRedeemed { grant_id, code: n, at }),
            4 => GrantEvent::RefreshTokenIssued(GrantRefreshTokenIssued {
                grant_id,
                family: n,
                generation: m,
                refresh_sha256: SecretHash::of(&m.to_string()),
                client_id: other,
                scopes,
                expires_at,
                at,
            }),
            _ => GrantEvent::Revoked(GrantRevoked {
                grant_id,
                reason: [
                    RevokeReason::User,
                    RevokeReason::Admin,
                    RevokeReason::CodeReused,
                    RevokeReason::RefreshTokenReused,
                    RevokeReason::TokenRevoked,
                    RevokeReason::UserDeactivated,
                    RevokeReason::AppDisabled,
                ][r as usize],
                at,
            }),
        },
    )
}

fn grant_key_event() -> impl Strategy<Value = GrantKeyEvent> {
    (id(), id(), id()).prop_map(|(account_id, user_id, grant_id)| {
        GrantKeyEvent::Set(GrantKeySet {
            account_id,
            user_id: user_id.clone(),
            client_id: user_id,
            grant_id,
            at: t0(),
        })
    })
}

/// Folds events and checks each one decodes back from its stored row.
fn fold_and_round_trip<A: Aggregate>(events: &[A::Event]) -> A::State
where
    A::Event: PartialEq + std::fmt::Debug,
{
    let mut state = A::State::default();
    for (i, e) in events.iter().enumerate() {
        A::apply(&mut state, e, i as u64 + 1);
        let new = NewEvent::encode(EventId::from_entropy([1; 16]), &A::widen(e), &Metadata::default(), t0()).unwrap();
        let row = RecordedEvent {
            event_id: new.event_id,
            stream_id: StreamId::new("auth_test").unwrap(),
            version: i as u64 + 1,
            position: i as u64 + 1,
            recorded_at: t0(),
            event_type: new.event_type,
            schema_version: new.schema_version,
            payload: new.payload,
            metadata: new.metadata,
        };
        assert_eq!(A::decode(&row).unwrap().as_ref(), Some(e));
    }
    state
}

proptest! {
    /// Accounts: any sequence folds without a panic and round-trips.
    #[test]
    fn account_apply_is_total(events in prop::collection::vec(account_event(), 0..20)) {
        fold_and_round_trip::<Accounts>(&events);
    }

    /// Users: any sequence folds without a panic and round-trips; the owner count never exceeds the users.
    #[test]
    fn user_apply_is_total(events in prop::collection::vec(user_event(), 0..30)) {
        let d = fold_and_round_trip::<Users>(&events);
        prop_assert!(d.active_owners() <= d.len());
    }

    /// Apps: any sequence folds without a panic and round-trips.
    #[test]
    fn app_apply_is_total(events in prop::collection::vec(app_event(), 0..20)) {
        fold_and_round_trip::<Apps>(&events);
    }

    /// Email claims: any sequence folds without a panic and round-trips.
    #[test]
    fn email_apply_is_total(events in prop::collection::vec(email_event(), 0..20)) {
        fold_and_round_trip::<EmailClaims>(&events);
    }

    /// Grants: any sequence folds without a panic and round-trips; a family remembers at most
    /// `RETIRED_KEPT` rotated tokens, and the state survives its snapshot form.
    #[test]
    fn grant_apply_is_total(events in prop::collection::vec(grant_event(), 0..40)) {
        let state = fold_and_round_trip::<Grants>(&events);
        if let Some(s) = &state {
            prop_assert!(s.families.values().all(|f| f.retired.len() <= RETIRED_KEPT));
        }
        let json = serde_json::to_string(&state).unwrap();
        let back: Option<zoom_auth::grant::GrantState> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, state);
    }

    /// Grant pointers: any sequence folds without a panic and round-trips.
    #[test]
    fn grant_key_apply_is_total(events in prop::collection::vec(grant_key_event(), 0..10)) {
        fold_and_round_trip::<GrantKeys>(&events);
    }
}

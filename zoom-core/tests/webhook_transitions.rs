//! The subscription aggregate's rules: decide then fold, one scenario per test.

use chrono::{DateTime, Duration, Utc};
use zoom_core::clock::SeededEntropy;
use zoom_core::error::DomainError;
use zoom_core::id::WebhookId;
use zoom_core::principal::Principal;
use zoom_core::testing::kit::{admin_app, t0};
use zoom_core::webhook::address::AllowList;
use zoom_core::webhook::validation::encrypted_token;
use zoom_core::webhook::{self, Context, Health, Subscription, WebhookCommand, WebhookEvent, WebhookPatch};

/// A subscription's stream, decided and folded as the engine's runner does it.
struct Stream {
    id: WebhookId,
    events: Vec<WebhookEvent>,
    entropy: SeededEntropy,
}

impl Stream {
    fn new() -> Self {
        Self {
            id: WebhookId::from_entropy([3; 16]),
            events: Vec::new(),
            entropy: SeededEntropy::new(7),
        }
    }

    fn state(&self) -> Option<Subscription> {
        webhook::fold(self.events.iter().enumerate().map(|(i, e)| (i as u64 + 1, e)))
    }

    #[track_caller]
    fn run_as(
        &mut self,
        principal: &Principal,
        command: WebhookCommand,
        now: DateTime<Utc>,
    ) -> Result<usize, DomainError> {
        let allow = AllowList::default();
        let ctx = Context {
            now,
            principal,
            entropy: &self.entropy,
            allow: &allow,
        };
        let state = self.state();
        // The scope check the runner makes once before every decision.
        zoom_core::aggregate::authorize(
            &zoom_core::webhook::aggregate::Subscriptions::default(),
            &command,
            Some(principal),
        )?;
        let new = webhook::decide(&self.id, state.as_ref(), &command, &ctx)?;
        let n = new.len();
        self.events.extend(new);
        Ok(n)
    }

    #[track_caller]
    fn run(&mut self, command: WebhookCommand, now: DateTime<Utc>) -> Result<usize, DomainError> {
        self.run_as(&admin_app(), command, now)
    }

    #[track_caller]
    fn subscribed(url_validation: bool) -> Self {
        let mut s = Self::new();
        let n = s
            .run(
                WebhookCommand::Subscribe {
                    url: "https://hooks.example.com/a".into(),
                    events: vec!["meeting.started".into()],
                    url_validation,
                },
                t0(),
            )
            .unwrap_or_else(|e| panic!("subscribe: {e}"));
        assert_eq!(n, 1);
        s
    }

    #[track_caller]
    fn sub(&self) -> Subscription {
        self.state().unwrap_or_else(|| panic!("no subscription"))
    }
}

#[track_caller]
fn assert_code(result: Result<usize, DomainError>, code: &str) {
    match result {
        Err(e) => assert_eq!(e.code(), code, "{e}"),
        Ok(n) => panic!("expected {code}, got {n} events"),
    }
}

fn patch(url: Option<&str>, events: Option<&[&str]>, active: Option<bool>) -> WebhookCommand {
    WebhookCommand::Update(WebhookPatch {
        url: url.map(str::to_owned),
        events: events.map(|e| e.iter().map(|s| (*s).to_owned()).collect()),
        active,
    })
}

/// Every rotated-out secret keeps signing for 24 hours from its own rotation, however often one
/// rotates: a second rotation an hour after the first does not end the first one's day early.
#[test]
fn each_rotated_secret_keeps_its_own_24_hours() {
    let mut s = Stream::subscribed(false);
    let first = s.sub().secret;
    s.run(WebhookCommand::RotateSecret, t0())
        .unwrap_or_else(|e| panic!("{e}"));
    let second = s.sub().secret;
    s.run(WebhookCommand::RotateSecret, t0() + Duration::hours(1))
        .unwrap_or_else(|e| panic!("{e}"));
    let third = s.sub().secret;
    let signing = |at: DateTime<Utc>| -> Vec<String> {
        s.sub()
            .signing_secrets(at)
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect()
    };
    assert_eq!(
        signing(t0() + Duration::hours(2)),
        vec![third.clone(), second.clone(), first.clone()]
    );
    assert_eq!(
        signing(t0() + Duration::hours(23) + Duration::minutes(59)),
        vec![third.clone(), second.clone(), first]
    );
    assert_eq!(signing(t0() + Duration::hours(24)), vec![third.clone(), second]);
    assert_eq!(signing(t0() + Duration::hours(25)), vec![third]);
    // A rotation a day later drops the secrets already expired: the state stays small.
    s.run(WebhookCommand::RotateSecret, t0() + Duration::hours(26))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.sub().previous_secrets.len(), 1);
}

/// `active: false` disables, `active: true` re-enables a disabled subscription (healthy again);
/// the read `active` follows.
#[test]
fn patch_active_disables_and_re_enables() {
    let mut s = Stream::subscribed(false);
    s.run(
        WebhookCommand::SetHealth {
            state: Health::Disabled,
            reason: "the receiver answered 410 Gone".into(),
        },
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!s.sub().enabled());
    assert!(!s.sub().wants("meeting.started"));
    assert_eq!(s.run(patch(None, None, Some(true)), t0()).ok(), Some(1));
    assert_eq!(s.sub().state, Health::Healthy);
    assert!(s.sub().enabled());
    // Already enabled: nothing happens.
    assert_eq!(s.run(patch(None, None, Some(true)), t0()).ok(), Some(0));
    assert_eq!(s.run(patch(None, None, Some(false)), t0()).ok(), Some(1));
    assert!(!s.sub().enabled());
}

/// A patch changes only what it names, validates what it names, and records nothing when
/// nothing changes.
#[test]
fn patch_changes_url_and_events() {
    let mut s = Stream::subscribed(false);
    assert_eq!(
        s.run(patch(Some("https://hooks.example.com/b"), None, None), t0()).ok(),
        Some(1)
    );
    assert_eq!(s.sub().url, "https://hooks.example.com/b");
    assert_eq!(s.sub().events, vec!["meeting.started".to_owned()]);
    assert_eq!(s.run(patch(None, Some(&["meeting.ended"]), None), t0()).ok(), Some(1));
    assert_eq!(s.sub().events, vec!["meeting.ended".to_owned()]);
    assert_eq!(
        s.run(
            patch(Some("https://hooks.example.com/b"), Some(&["meeting.ended"]), None),
            t0()
        )
        .ok(),
        Some(0)
    );
    assert_code(
        s.run(patch(Some("http://127.0.0.1/"), None, None), t0()),
        "invalid_field",
    );
    assert_code(s.run(patch(None, Some(&[]), None), t0()), "invalid_field");
    assert_code(s.run(patch(None, Some(&["webhook.ping"]), None), t0()), "invalid_field");
}

/// With `url_validation`, nothing is wanted until the right answer is recorded for the current
/// URL; a new URL needs a new validation.
#[test]
fn validation_gates_deliveries_and_a_new_url_resets_it() {
    let mut s = Stream::subscribed(true);
    assert!(!s.sub().validated);
    assert!(!s.sub().wants("meeting.started"));
    assert_code(s.run(WebhookCommand::Ping, t0()), "url_not_validated");
    let url = s.sub().url;
    let secret = s.sub().secret;
    let wrong = WebhookCommand::RecordValidation {
        url: url.clone(),
        plain_token: "tok".into(),
        encrypted_token: encrypted_token("whsec_other", "tok"),
    };
    assert_code(s.run(wrong, t0()), "url_validation_failed");
    let stale = WebhookCommand::RecordValidation {
        url: "https://hooks.example.com/elsewhere".into(),
        plain_token: "tok".into(),
        encrypted_token: encrypted_token(&secret, "tok"),
    };
    assert_code(s.run(stale, t0()), "url_changed");
    let right = WebhookCommand::RecordValidation {
        url,
        plain_token: "tok".into(),
        encrypted_token: encrypted_token(&secret, "tok"),
    };
    assert_eq!(s.run(right, t0()).ok(), Some(1));
    assert!(s.sub().wants("meeting.started"));
    assert_eq!(s.run(WebhookCommand::Ping, t0()).ok(), Some(1));
    s.run(patch(Some("https://hooks.example.com/new"), None, None), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!s.sub().validated);
    assert!(!s.sub().wants("meeting.started"));
}

/// A subscription without `url_validation` is validated from the start; ping needs it enabled.
#[test]
fn ping_needs_an_enabled_subscription() {
    let mut s = Stream::subscribed(false);
    assert!(s.sub().validated);
    assert_eq!(s.run(WebhookCommand::Ping, t0()).ok(), Some(1));
    s.run(patch(None, None, Some(false)), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_code(s.run(WebhookCommand::Ping, t0()), "webhook_disabled");
}

/// Update, ping and validation need `webhook.write`, like every owner command.
#[test]
fn owner_commands_need_webhook_write() {
    let mut s = Stream::subscribed(false);
    let reader = Principal::app(
        admin_app().account_id,
        admin_app().subject,
        [zoom_core::principal::Scope::WebhookRead],
    );
    assert_code(s.run_as(&reader, WebhookCommand::Ping, t0()), "insufficient_scope");
    assert_code(
        s.run_as(&reader, patch(None, None, Some(true)), t0()),
        "insufficient_scope",
    );
}

/// A user token's subscription belongs to the token's app: every user of that app sees and
/// changes it, a user of another app or acting directly does not.
#[test]
fn a_user_tokens_subscription_belongs_to_its_app() {
    use zoom_core::id::Name;
    use zoom_core::principal::Scope;
    let user = |id: &str, app: Option<&str>| {
        let p = Principal::user(
            admin_app().account_id,
            Name::parse(id).unwrap(),
            [Scope::WebhookRead, Scope::WebhookWrite],
        );
        match app {
            Some(a) => p.through(Name::parse(a).unwrap()),
            None => p,
        }
    };
    let mut s = Stream::new();
    let subscribe = WebhookCommand::Subscribe {
        url: "https://hooks.example.com/a".into(),
        events: vec!["meeting.started".into()],
        url_validation: false,
    };
    assert_eq!(s.run_as(&user("carol", Some("app_calendar")), subscribe, t0()), Ok(1));
    assert_eq!(s.sub().owner.as_str(), "app_calendar");
    assert!(webhook::visible(&s.sub(), &user("dave", Some("app_calendar"))));
    assert!(!webhook::visible(&s.sub(), &user("carol", Some("app_other"))));
    assert!(!webhook::visible(&s.sub(), &user("carol", None)));
    assert!(webhook::visible(&s.sub(), &admin_app()), "an admin sees the account's");
}

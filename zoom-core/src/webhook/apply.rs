//! The fold of a subscription, total and panic-free.

use super::event::WebhookEvent;
use super::state::{Health, Subscription};

/// Applies one event. Total and panic-free, like every fold.
pub fn apply(state: &mut Option<Subscription>, event: &WebhookEvent, version: u64) {
    if let WebhookEvent::Subscribed(e) = event
        && state.is_none()
    {
        {
            *state = Some(Subscription {
                id: e.webhook_id.clone(),
                account_id: e.account_id.clone(),
                owner: e.owner.clone(),
                url: e.url.clone(),
                events: e.events.clone(),
                active: true,
                state: Health::Healthy,
                created_at: e.created_at,
                secret: e.secret.clone(),
                previous_secret: None,
                version,
            });
        }
    }
    let Some(s) = state.as_mut() else { return };
    s.version = version;
    match event {
        WebhookEvent::Subscribed(_) => {}
        WebhookEvent::SecretRotated(e) => {
            let old = std::mem::replace(&mut s.secret, e.secret.clone());
            s.previous_secret = Some((old, e.previous_valid_until));
        }
        WebhookEvent::Unsubscribed(_) => s.active = false,
        WebhookEvent::HealthChanged(e) => s.state = e.state,
    }
}

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
                url_validation: e.url_validation,
                validated: !e.url_validation,
                secret: e.secret.clone(),
                previous_secrets: Vec::new(),
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
            // Each rotated-out secret keeps its own 24 hours; one already past them at this
            // rotation will never sign again, so the list stays as short as the rotations of
            // the last day.
            s.previous_secrets.retain(|(_, until)| *until > e.rotated_at);
            s.previous_secrets.push((old, e.previous_valid_until));
        }
        WebhookEvent::Unsubscribed(_) => s.active = false,
        WebhookEvent::HealthChanged(e) => s.state = e.state,
        WebhookEvent::Updated(e) => {
            if let Some(url) = &e.url
                && *url != s.url
            {
                s.url.clone_from(url);
                // A validation holds for the URL that answered, not for the next one.
                s.validated = !s.url_validation;
            }
            if let Some(events) = &e.events {
                s.events.clone_from(events);
            }
        }
        WebhookEvent::UrlValidated(e) => {
            if e.url == s.url {
                s.validated = true;
            }
        }
        WebhookEvent::Pinged(_) => {}
    }
}

//! The authorization server's HTML pages: login, consent, signed out, and the error pages,
//! server-rendered with `maud` (compiled into the binary, every interpolation escaped).
//!
//! The pages need no JavaScript and load nothing: the style sheet is inline, so the
//! `Content-Security-Policy` of [`html`] allows no source but inline styles. Every field has a
//! `<label>`, focus is always visible (`:focus-visible`), and the colours keep a contrast ratio
//! above 7:1 (WCAG AAA for text). Forms post to relative URLs (`login`, `authorize`, `logout`),
//! so the pages work behind a proxy that serves the server under a path prefix.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html as markup};
use zoom_core::principal::Scope;

/// The words a consent page uses for a scope: what the app may do once allowed.
pub fn scope_sentence(scope: Scope) -> &'static str {
    match scope {
        Scope::MeetingRead => "See your meetings and who takes part in them",
        Scope::MeetingWrite => "Schedule, change, cancel and end meetings, and manage their participants",
        Scope::MeetingJoin => "Create the links that let people join meetings",
        Scope::RecordingRead => "See and download recordings",
        Scope::RecordingWrite => "Start and stop recordings",
        Scope::WebhookRead => "See webhook subscriptions and their deliveries",
        Scope::WebhookWrite => "Create and remove webhook subscriptions and change their secrets",
        Scope::Media => "Act as a media server: let people into meetings and report recordings",
        Scope::Admin => "Do everything an administrator can do, for your whole account",
        Scope::UserRead => "See the people in your account",
        Scope::Platform => "Manage every account on this server (the operator's power)",
    }
}

const STYLE: &str = "\
:root{color-scheme:light;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
line-height:1.5;color:#1a1a1a;background:#f4f5f7}\
body{margin:0;padding:2rem 1rem}\
main{max-width:28rem;margin:0 auto;background:#fff;border:1px solid #c8ccd2;border-radius:8px;\
padding:1.5rem 2rem}\
h1{font-size:1.4rem;margin:0 0 1rem}\
p{margin:0 0 1rem}\
label{display:block;font-weight:600;margin:1rem 0 .25rem}\
input[type=email],input[type=password]{box-sizing:border-box;width:100%;padding:.5rem;\
font-size:1rem;border:1px solid #5c6370;border-radius:4px;color:#1a1a1a;background:#fff}\
button{font-size:1rem;padding:.55rem 1.2rem;border-radius:4px;border:2px solid #0b3d91;\
cursor:pointer;margin:1.25rem .5rem 0 0}\
button.primary{background:#0b3d91;color:#fff}\
button.secondary{background:#fff;color:#0b3d91}\
button.link{border:0;background:none;color:#0b3d91;text-decoration:underline;padding:0;margin:0}\
:focus-visible{outline:3px solid #b35900;outline-offset:2px}\
.alert{border-left:4px solid #a40000;background:#fdecec;color:#5c0000;padding:.5rem .75rem}\
ul.scopes{padding-left:1.25rem}ul.scopes li{margin:.35rem 0}\
code{font-size:.85em;color:#3d434d}\
.muted{color:#3d434d;font-size:.9rem}\
form.inline{display:inline}";

/// A whole page: `lang`, a `<title>`, the inline style sheet and `body` inside `<main>`.
fn page(title: &str, body: Markup) -> Markup {
    markup! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · Zoom" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                main { (body) }
            }
        }
    }
}

/// Hidden `<input>`s carrying `fields` (the authorization request, the CSRF token).
fn hidden(fields: &[(&'static str, String)]) -> Markup {
    markup! {
        @for (name, value) in fields {
            input type="hidden" name=(name) value=(value);
        }
    }
}

/// What the login page shows.
#[derive(Debug, Default)]
pub struct LoginPage<'a> {
    /// The app being authorized, when the login interrupts an authorization request.
    pub app_name: Option<&'a str>,
    /// The email typed last time, to type it once only.
    pub email: &'a str,
    /// The message after a failed attempt.
    pub message: Option<&'a str>,
    /// The hidden fields: the authorization request and the CSRF token.
    pub hidden: Vec<(&'static str, String)>,
}

/// The login form.
pub fn login(p: &LoginPage<'_>) -> Markup {
    page(
        "Sign in",
        markup! {
            h1 { "Sign in" }
            @if let Some(app) = p.app_name {
                p { "Sign in to continue to " strong { (app) } "." }
            }
            @if let Some(message) = p.message {
                p.alert role="alert" id="login-error" { (message) }
            }
            form method="post" action="login" {
                (hidden(&p.hidden))
                label for="email" { "Email" }
                input #email type="email" name="email" value=(p.email) autocomplete="username"
                    required autofocus[p.email.is_empty()]
                    aria-describedby=[p.message.map(|_| "login-error")];
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password"
                    required autofocus[!p.email.is_empty()];
                div { button.primary type="submit" { "Sign in" } }
            }
        },
    )
}

/// What the consent page shows.
#[derive(Debug)]
pub struct ConsentPage<'a> {
    /// The app's name.
    pub app_name: &'a str,
    /// The name of the account the app belongs to.
    pub app_account: &'a str,
    /// Who is signed in (their email).
    pub user: &'a str,
    /// What the app asks for.
    pub scopes: &'a [Scope],
    /// The hidden fields of the consent form: the request and the CSRF token.
    pub hidden: Vec<(&'static str, String)>,
    /// The CSRF token, for the sign-out form.
    pub csrf: &'a str,
}

/// The consent form: Allow or Deny.
pub fn consent(p: &ConsentPage<'_>) -> Markup {
    page(
        "Allow access",
        markup! {
            h1 { "Allow " (p.app_name) " to use your account?" }
            p.muted { (p.app_name) " is an app of " strong { (p.app_account) } "." }
            p { "If you allow it, " (p.app_name) " will be able to:" }
            ul.scopes {
                @for scope in p.scopes {
                    li { (scope_sentence(*scope)) " " code { "(" (scope.as_str()) ")" } }
                }
            }
            form method="post" action="authorize" {
                (hidden(&p.hidden))
                button.primary type="submit" name="decision" value="allow" { "Allow" }
                button.secondary type="submit" name="decision" value="deny" { "Deny" }
            }
            div.muted style="margin-top:1.5rem" {
                "Signed in as " strong { (p.user) } ". "
                form.inline method="post" action="logout" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    button.link type="submit" { "Sign out" }
                }
            }
        },
    )
}

/// A page that says what happened, in a heading and a sentence.
pub fn message(title: &str, text: &str) -> Markup {
    page(
        title,
        markup! {
            h1 { (title) }
            p { (text) }
        },
    )
}

/// The `Content-Security-Policy` of every page: nothing but inline styles, forms only to this
/// server and to `form_origins` (a consent form's answer redirects to the app, and browsers
/// apply `form-action` to that redirect too), never in a frame.
fn policy(form_origins: &[String]) -> String {
    let mut form_action = String::from("'self'");
    for origin in form_origins {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    format!("default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'")
}

/// An HTML answer with the headers every page carries: its CSP, `X-Frame-Options: DENY`,
/// `Cache-Control: no-store`, `Referrer-Policy: no-referrer` and `X-Content-Type-Options`.
pub fn html(status: StatusCode, body: Markup, form_origins: &[String]) -> Response {
    let mut response = (status, body.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(headers);
    if let Ok(csp) = HeaderValue::from_str(&policy(form_origins)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// The headers of every answer of the browser endpoints, redirects included.
pub fn security_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
}

/// An error page: `status`, a title and a sentence.
pub fn error(status: StatusCode, title: &str, text: &str) -> Response {
    html(status, message(title, text), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text from the request is escaped, never markup.
    #[test]
    fn user_text_is_escaped() {
        let page = login(&LoginPage {
            app_name: Some("<script>x</script>"),
            email: "\"><b>",
            message: None,
            hidden: vec![("state", "\"/><img src=x>".into())],
        })
        .into_string();
        assert!(!page.contains("<script>x"), "{page}");
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"), "{page}");
        assert!(!page.contains("\"><b>"), "{page}");
        assert!(!page.contains("<img"), "{page}");
    }

    /// Every scope has a sentence of its own.
    #[test]
    fn every_scope_has_words() {
        let sentences: std::collections::BTreeSet<&str> = Scope::ALL.iter().map(|s| scope_sentence(*s)).collect();
        assert_eq!(sentences.len(), Scope::ALL.len());
    }

    /// The policy lists the app's origin for the consent form's redirect.
    #[test]
    fn consent_policy_allows_the_redirect_origin() {
        assert_eq!(
            policy(&["https://app.example".into()]),
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https://app.example; frame-ancestors 'none'"
        );
    }
}

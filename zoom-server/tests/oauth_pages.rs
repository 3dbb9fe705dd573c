#![allow(clippy::unwrap_used)]
//! The browser half of the authorization server over real sockets: the RFC 8414 metadata, the
//! authorization endpoint's checks, login with its cookie, CSRF, throttling and consent.
//!
//! Cookies are kept by hand (a small jar below) so the tests can read their attributes;
//! redirects are never followed, so every `Location` is checked.

mod common;

use common::fresh_schema;

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use clap::Parser;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap, StoreSpec};

const ALICE: &str = "alice@acme.example";
const PASSWORD: &str = "correct horse battery";
/// A PKCE verifier and its S256 challenge.
const VERIFIER: &str = "pages-test-verifier-0123456789-abcdefghijklmnop";
const CHALLENGE: &str = "w8or3alDqZfq8dkPMdbJkOgsFBA5hZOXoiVFtq0op6s";

struct Running {
    base: String,
    client_id: String,
    server_app: String,
    redirect: String,
    admin: String,
    directory: zoom_auth::Directory,
}

/// A server on a free port of 127.0.0.1 with SQLite, a user `ALICE` and a user app whose
/// redirect URI is `{base}/cb`; `tune` adjusts the server before its router is built.
async fn start(public_https: bool, tune: impl FnOnce(&mut Server)) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zoom.db");
    let public = public_https.then_some("https://zoom.example");
    let (base, server) = instance(&format!("sqlite://{}", db.display()), public, tune).await;
    assert_eq!(server.store_spec, StoreSpec::Sqlite(db));
    (provision(base, server.directory.clone()).await, dir)
}

/// Serves a server of `store` on a free port of 127.0.0.1, with `public` as its public URL (its
/// own address when `None`); `tune` adjusts it before its router is built.
async fn instance(store: &str, public: Option<&str>, tune: impl FnOnce(&mut Server)) -> (String, Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let args = Args::try_parse_from([
        "zoom-server",
        "--listen",
        &addr.to_string(),
        "--store",
        store,
        "--public-url",
        public.unwrap_or(&base),
    ])
    .unwrap();
    let bootstrap = Bootstrap::from_values(Some("admin".into()), Some("s3cret-admin".into()), None).unwrap();
    let mut server = Server::start(&args, &bootstrap).await.unwrap();
    tune(&mut server);
    let app = server.router();
    let limits = server.connections;
    tokio::spawn(async move {
        zoom_server::serve::serve(listener, app, limits, std::future::pending())
            .await
            .unwrap()
    });
    (base, server)
}

/// Creates `ALICE`, a user app (redirect URI `{base}/cb`) and a server app through the API.
async fn provision(base: String, directory: zoom_auth::Directory) -> Running {
    let http = plain_client(None);
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("admin", Some("s3cret-admin"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = token["access_token"].as_str().unwrap().to_owned();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let user = post(
        "/v1/users",
        json!({"email": ALICE, "display_name": "Alice", "password": PASSWORD}),
    )
    .await
    .unwrap();
    assert_eq!(user.status(), StatusCode::CREATED, "{}", user.text().await.unwrap());
    let redirect = format!("{base}/cb");
    let app: Value = post(
        "/v1/apps",
        json!({"name": "Calendar <Sync>", "kind": "user", "redirect_uris": [redirect],
               "scopes": ["meeting.read", "meeting.write"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let server_app: Value = post(
        "/v1/apps",
        json!({"name": "Back office", "kind": "server", "scopes": ["meeting.read"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    Running {
        base,
        client_id: app["client_id"].as_str().unwrap().to_owned(),
        server_app: server_app["client_id"].as_str().unwrap().to_owned(),
        redirect,
        admin,
        directory,
    }
}

fn plain_client(local: Option<&str>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(ip) = local {
        builder = builder.local_address(ip.parse::<std::net::IpAddr>().unwrap());
    }
    builder.build().unwrap()
}

/// A browser: a client that keeps the cookies it is given and never follows redirects.
struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
    /// The `Set-Cookie` lines of the last answer.
    set_cookies: Vec<String>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> Option<url::Url> {
        self.headers
            .get(header::LOCATION)
            .map(|l| url::Url::parse(l.to_str().unwrap()).unwrap())
    }
    /// The value of the hidden field `name` of the page's first form that has it.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end]
            .replace("&amp;", "&")
            .replace("&quot;", "\"")
    }
}

impl Browser {
    fn new(local: Option<&str>) -> Self {
        Self {
            http: plain_client(local),
            jar: BTreeMap::new(),
            set_cookies: Vec::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let request = if cookies.is_empty() {
            request
        } else {
            request.header(header::COOKIE, cookies.join("; "))
        };
        let response = request.send().await.unwrap();
        self.set_cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for line in &self.set_cookies {
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let request = self.http.get(url);
        self.send(request).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(url).form(form);
        self.send(request).await
    }
}

fn authorize_url(r: &Running, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/oauth/authorize", r.base)).unwrap();
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &r.client_id),
        ("redirect_uri", &r.redirect),
        ("scope", "meeting.read"),
        ("state", "st-42"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        params.retain(|(p, _)| p != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

fn query(url: &url::Url) -> BTreeMap<String, String> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[track_caller]
fn assert_page_headers(page: &Page) {
    let h = |name: header::HeaderName| page.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(h(header::CONTENT_TYPE).as_deref(), Some("text/html; charset=utf-8"));
    let csp = h(header::CONTENT_SECURITY_POLICY).unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
        "{csp}"
    );
    assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h(header::X_FRAME_OPTIONS).as_deref(), Some("DENY"));
    assert_eq!(h(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    assert_eq!(h(header::REFERRER_POLICY).as_deref(), Some("no-referrer"));
    assert!(
        page.body.starts_with("<!DOCTYPE html><html lang=\"en\">"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<title>"));
}

/// Logs `ALICE` in through the login page of an authorization request; returns the consent page.
async fn sign_in(r: &Running, browser: &mut Browser) -> Page {
    sign_in_as(r, browser, ALICE, PASSWORD).await
}

/// Logs `email` in through the login page of an authorization request; returns what the
/// authorization endpoint then answers.
async fn sign_in_as(r: &Running, browser: &mut Browser, email: &str, password: &str) -> Page {
    let login = browser.get(&authorize_url(r, &[])).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let mut form: Vec<(String, String)> = ["response_type", "client_id", "redirect_uri", "scope", "state"]
        .iter()
        .chain(&["code_challenge", "code_challenge_method", "csrf"])
        .map(|n| ((*n).to_owned(), login.field(n)))
        .collect();
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let back = browser.post(&format!("{}/oauth/login", r.base), &form).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let location = back.headers.get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
    assert!(location.starts_with("authorize?"), "{location}");
    browser.get(&format!("{}/oauth/{location}", r.base)).await
}

/// The consent form's fields, with `decision`.
fn consent_form(page: &Page, decision: &'static str) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "csrf",
    ]
    .iter()
    .map(|n| ((*n).to_owned(), page.field(n)))
    .collect();
    form.push(("decision".into(), decision.into()));
    form
}

fn as_pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The metadata names this server's endpoints, every scope and only S256, and `/oauth/jwks`
/// holds the key that signed an access token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_describes_the_server() {
    let (r, _dir) = start(false, |_| {}).await;
    let http = plain_client(None);
    let meta: Value = http
        .get(format!("{}/.well-known/oauth-authorization-server", r.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b = &r.base;
    assert_eq!(meta["issuer"], *b);
    assert_eq!(meta["authorization_endpoint"], format!("{b}/oauth/authorize"));
    assert_eq!(meta["token_endpoint"], format!("{b}/oauth/token"));
    assert_eq!(meta["revocation_endpoint"], format!("{b}/oauth/revoke"));
    assert_eq!(meta["introspection_endpoint"], format!("{b}/oauth/introspect"));
    assert_eq!(meta["jwks_uri"], format!("{b}/oauth/jwks"));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(
        meta["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    let scopes: Vec<&str> = meta["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let all: Vec<&str> = zoom_core::principal::Scope::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(scopes, all);

    let jwks: Value = http
        .get(format!("{b}/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = r.admin.split('.').next().unwrap();
    let header: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    let kids: Vec<&Value> = jwks["keys"].as_array().unwrap().iter().map(|k| &k["kid"]).collect();
    assert!(kids.contains(&&header["kid"]), "{jwks} lacks {header}");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part: {jwks}");
}

/// An unknown client, a redirect URI that is not registered exactly, a server app or a missing
/// client: an HTML error page (400), never a redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_or_redirect_uri_gets_a_page_not_a_redirect() {
    let (r, _dir) = start(false, |_| {}).await;
    let mut browser = Browser::new(None);
    let other = format!("{}/cb/", r.redirect);
    let cases: [&[(&str, &str)]; 5] = [
        &[("client_id", "app_nobody")],
        &[("redirect_uri", "https://evil.example/cb")],
        &[("redirect_uri", &other)],
        &[("client_id", &r.server_app)],
        &[("client_id", "")],
    ];
    for extra in cases {
        let page = browser.get(&authorize_url(&r, extra)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{extra:?}: {}", page.body);
        assert!(page.location().is_none(), "{extra:?}");
        assert_page_headers(&page);
        assert!(page.body.contains("This app cannot sign you in"), "{}", page.body);
    }
}

/// Errors after the client checks redirect back with `error`, `state` and `iss`: `plain` PKCE,
/// no challenge, another response type, an unknown or unheld scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_errors_redirect_with_the_error_and_state() {
    let (r, _dir) = start(false, |_| {}).await;
    let mut browser = Browser::new(None);
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("code_challenge_method", "")], "invalid_request"),
        (&[("code_challenge", "")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("scope", "meeting.read teleport")], "invalid_scope"),
        (&[("scope", "recording.write")], "invalid_scope"),
    ];
    for (extra, error) in cases {
        let page = browser.get(&authorize_url(&r, extra)).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{extra:?}: {}", page.body);
        let to = page.location().unwrap();
        assert!(to.as_str().starts_with(&r.redirect), "{to}");
        let q = query(&to);
        assert_eq!(q.get("error").map(String::as_str), Some(error), "{extra:?}: {to}");
        assert_eq!(q.get("state").map(String::as_str), Some("st-42"));
        assert_eq!(q.get("iss"), Some(&r.base));
        assert!(q.contains_key("error_description"));
        assert!(!q.contains_key("code"));
    }
}

/// Not signed in: the login page carries the request; a wrong password and an unknown email
/// get the same single message (401); the right one sets the session cookie (`HttpOnly`,
/// `SameSite=Lax`, `Path=/`, not `Secure` over http) and returns to the request, which now
/// shows the consent page with the app, its account and the scopes in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_consent() {
    let (r, _dir) = start(false, |_| {}).await;
    let mut browser = Browser::new(None);
    let login = browser.get(&authorize_url(&r, &[])).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_page_headers(&login);
    assert!(login.body.contains("<label for=\"email\">"), "{}", login.body);
    assert!(login.body.contains("<label for=\"password\">"));
    assert!(login.body.contains("Calendar &lt;Sync&gt;"), "the app's name, escaped");
    assert!(browser.set_cookies.iter().any(|c| c.starts_with("zoom_login_csrf=")));
    assert_eq!(login.field("state"), "st-42");
    let csrf = login.field("csrf");
    let url = format!("{}/oauth/login", r.base);
    let mut messages = Vec::new();
    for (email, password) in [(ALICE, "wrong"), ("nobody@acme.example", PASSWORD)] {
        let form = [
            ("client_id", r.client_id.as_str()),
            ("redirect_uri", &r.redirect),
            ("response_type", "code"),
            ("scope", "meeting.read"),
            ("state", "st-42"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("csrf", &csrf),
            ("email", email),
            ("password", password),
        ];
        let page = browser.post(&url, &form).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
        assert!(
            page.headers
                .get(header::SET_COOKIE)
                .is_none_or(|c| !c.to_str().unwrap().starts_with("zoom_session"))
        );
        assert_eq!(page.body.matches("role=\"alert\"").count(), 1, "{}", page.body);
        let start = page.body.find("role=\"alert\"").unwrap();
        messages.push(page.body[start..start + 120].to_owned());
        assert!(page.body.contains(&format!("value=\"{email}\"")), "the email is kept");
    }
    assert_eq!(messages[0], messages[1], "one message whichever part was wrong");
    assert!(messages[0].contains("The email or password is not correct."));

    let mut browser = Browser::new(None);
    let consent = sign_in(&r, &mut browser).await;
    let session = browser.set_cookies.iter().find(|c| c.starts_with("zoom_session="));
    assert!(session.is_none(), "the consent page sets no cookie");
    assert!(browser.jar.contains_key("zoom_session"));
    assert!(!browser.jar.contains_key("zoom_login_csrf"), "the login cookie is gone");
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert_page_headers(&consent);
    let csp = consent.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains(&format!("form-action 'self' {}", r.base)), "{csp}");
    assert!(consent.body.contains("Calendar &lt;Sync&gt;"));
    assert!(consent.body.contains("Platform"), "the app's account: {}", consent.body);
    assert!(consent.body.contains("See your meetings and who takes part in them"));
    assert!(!consent.body.contains("Schedule, change"), "only the scope asked for");
    assert!(consent.body.contains("value=\"allow\"") && consent.body.contains("value=\"deny\""));
    assert!(consent.body.contains(ALICE));
}

/// The session cookie's attributes, over http and (by the public URL) https.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_http_only_lax_and_secure_over_https() {
    for https in [false, true] {
        let (r, _dir) = start(https, |_| {}).await;
        let mut browser = Browser::new(None);
        let login = browser.get(&authorize_url(&r, &[])).await;
        let form = [
            ("csrf", login.field("csrf")),
            ("email", ALICE.to_owned()),
            ("password", PASSWORD.to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = browser.post(&format!("{}/oauth/login", r.base), &form).await;
        assert_eq!(page.status, StatusCode::OK, "a login without a request: {}", page.body);
        let cookie = browser
            .set_cookies
            .iter()
            .find(|c| c.contains("zoom_session="))
            .unwrap()
            .clone();
        let attributes: Vec<&str> = cookie.split("; ").skip(1).collect();
        for a in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=28800"] {
            assert!(attributes.contains(&a), "{cookie}");
        }
        assert_eq!(attributes.contains(&"Secure"), https, "{cookie}");
        assert_eq!(cookie.starts_with("__Host-zoom_session="), https, "{cookie}");
    }
}

/// A form without its CSRF token, with another's, or from another site is a 403 page; the
/// token of the login form does not work for consent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_their_csrf_token_are_refused() {
    let (r, _dir) = start(false, |_| {}).await;
    let mut browser = Browser::new(None);
    let login = browser.get(&authorize_url(&r, &[])).await;
    let login_csrf = login.field("csrf");
    let url = format!("{}/oauth/login", r.base);
    for form in [
        vec![("email", ALICE), ("password", PASSWORD)],
        vec![("email", ALICE), ("password", PASSWORD), ("csrf", "forged")],
    ] {
        let page = browser.post(&url, &form).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        assert_page_headers(&page);
        assert!(!browser.jar.contains_key("zoom_session"));
    }
    let cross = browser
        .send(
            browser
                .http
                .post(&url)
                .header(header::ORIGIN, "https://evil.example")
                .form(&[("email", ALICE), ("password", PASSWORD), ("csrf", &login_csrf)]),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    // Without the login cookie (another browser) the token is worthless.
    let mut stranger = Browser::new(None);
    let page = stranger
        .post(&url, &[("email", ALICE), ("password", PASSWORD), ("csrf", &login_csrf)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let consent = sign_in(&r, &mut browser).await;
    let mut form = consent_form(&consent, "allow");
    form.retain(|(k, _)| k != "csrf");
    let page = browser
        .post(&format!("{}/oauth/authorize", r.base), &as_pairs(&form))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.location().is_none());
    form.push(("csrf".into(), login_csrf.clone()));
    let page = browser
        .post(&format!("{}/oauth/authorize", r.base), &as_pairs(&form))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = browser.post(&format!("{}/oauth/logout", r.base), &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(browser.jar.contains_key("zoom_session"), "still signed in");
}

/// Allow redirects with a code, the state and `iss`; the code is the directory's, bound to the
/// client, the redirect URI and the PKCE verifier, for the scope asked for; it works once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_returns_a_code() {
    let (r, _dir) = start(false, |_| {}).await;
    let mut browser = Browser::new(None);
    let consent = sign_in(&r, &mut browser).await;
    let form = consent_form(&consent, "allow");
    let page = browser
        .post(&format!("{}/oauth/authorize", r.base), &as_pairs(&form))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = page.location().unwrap();
    assert_eq!(to.path(), "/cb");
    let q = query(&to);
    assert_eq!(q.get("state").map(String::as_str), Some("st-42"));
    assert_eq!(q.get("iss"), Some(&r.base));
    assert!(!q.contains_key("error"), "{to}");
    let code = q.get("code").unwrap();
    let client = zoom_core::id::Name::parse(&r.client_id).unwrap();
    let verifier = VERIFIER;
    let wrong = r
        .directory
        .redeem_code(&client, code, &format!("{}x", r.redirect), verifier)
        .await;
    assert!(
        matches!(wrong, Err(zoom_auth::GrantError::InvalidGrant(_))),
        "{wrong:?}"
    );
    let page = browser
        .post(
            &format!("{}/oauth/authorize", r.base),
            &as_pairs(&consent_form(&consent, "allow")),
        )
        .await;
    let code = query(&page.location().unwrap()).remove("code").unwrap();
    let tokens = r
        .directory
        .redeem_code(&client, &code, &r.redirect, verifier)
        .await
        .unwrap();
    assert_eq!(tokens.grant.scopes, [zoom_core::principal::Scope::MeetingRead]);
    let again = r.directory.redeem_code(&client, &code, &r.redirect, verifier).await;
    assert!(
        matches!(again, Err(zoom_auth::GrantError::InvalidGrant(_))),
        "{again:?}"
    );
}

/// Deny redirects with `access_denied` and the state; signing out clears the cookie, and the
/// authorization request shows the login page again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_and_sign_out() {
    let (r, _dir) = start(false, |_| {}).await;
    let mut browser = Browser::new(None);
    let consent = sign_in(&r, &mut browser).await;
    let form = consent_form(&consent, "deny");
    let page = browser
        .post(&format!("{}/oauth/authorize", r.base), &as_pairs(&form))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = page.location().unwrap();
    let q = query(&to);
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(q.get("state").map(String::as_str), Some("st-42"));
    assert!(!q.contains_key("code"));
    assert_eq!(to.path(), "/cb");

    // The hidden fields are the browser's: a changed redirect URI is caught again.
    let mut forged = consent_form(&consent, "allow");
    for (k, v) in &mut forged {
        if k == "redirect_uri" {
            *v = "https://evil.example/cb".into();
        }
    }
    let page = browser
        .post(&format!("{}/oauth/authorize", r.base), &as_pairs(&forged))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location().is_none());

    let csrf = consent.field("csrf");
    let out = browser
        .post(&format!("{}/oauth/logout", r.base), &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(out.body.contains("Signed out"));
    assert!(!browser.jar.contains_key("zoom_session"));
    let again = browser.get(&authorize_url(&r, &[])).await;
    assert!(again.body.contains("action=\"login\""), "{}", again.body);
}

/// Failed logins from one address run out (429 with `Retry-After`, the password no longer
/// checked); the same user from an address that has not failed signs in at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_throttled_and_others_are_not() {
    let tight = zoom_http::limits::Rate {
        per_second: 0.01,
        burst: 3.0,
    };
    let (r, _dir) = start(false, |s| {
        s.login_throttle = Arc::new(zoom_server::throttle::FailureThrottle::new(tight, tight));
    })
    .await;
    let mut attacker = Browser::new(Some("127.0.0.1"));
    let url = format!("{}/oauth/login", r.base);
    let login = attacker.get(&authorize_url(&r, &[])).await;
    let csrf = login.field("csrf");
    let mut statuses = Vec::new();
    for i in 0..5 {
        let guess = format!("guess-{i}");
        let page = attacker
            .post(&url, &[("csrf", &csrf), ("email", ALICE), ("password", &guess)])
            .await;
        statuses.push(page.status);
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            assert_page_headers(&page);
            let wait: u64 = page.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
            assert!(wait >= 1, "{wait}");
        }
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429].map(|s| StatusCode::from_u16(s).unwrap())
    );
    // Even the right password is refused from the failing address...
    let page = attacker
        .post(&url, &[("csrf", &csrf), ("email", ALICE), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // ...but not from another one.
    let mut alice = Browser::new(Some("127.0.0.2"));
    let consent = sign_in(&r, &mut alice).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
}

/// A user app that is not published may be authorized by its own account's users only: a user
/// of another account is sent back with `access_denied`, before and after the consent form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpublished_app_is_for_its_own_account_only() {
    let (r, _dir) = start(false, |_| {}).await;
    let http = plain_client(None);
    let account: Value = http
        .post(format!("{}/v1/accounts", r.base))
        .bearer_auth(&r.admin)
        .json(&json!({"name": "Globex"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        account["admin_app"]["client_id"].as_str().unwrap(),
        account["admin_app"]["client_secret"].as_str().unwrap(),
    );
    let token: Value = http
        .post(format!("{}/oauth/token", r.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let globex = token["access_token"].as_str().unwrap();
    let globex_app: Value = http
        .post(format!("{}/v1/apps", r.base))
        .bearer_auth(globex)
        .json(
            &json!({"name": "Globex notes", "kind": "user", "redirect_uris": [r.redirect],
                      "scopes": ["meeting.read"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = http
        .post(format!("{}/v1/users", r.base))
        .bearer_auth(globex)
        .json(&json!({"email": "bob@globex.example", "display_name": "Bob", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let mut bob = Browser::new(None);
    let page = sign_in_as(&r, &mut bob, "bob@globex.example", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = page.location().unwrap();
    assert!(to.as_str().starts_with(&r.redirect), "{to}");
    assert_eq!(query(&to).get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(query(&to).get("state").map(String::as_str), Some("st-42"));
    // Alice's consent form, replayed with Bob's session and his token, is refused the same way.
    let mut alice = Browser::new(None);
    let consent = sign_in(&r, &mut alice).await;
    let mut form = consent_form(&consent, "allow");
    // Bob's own session-bound token, from the consent page of his account's app.
    let own = Running {
        client_id: globex_app["client_id"].as_str().unwrap().to_owned(),
        base: r.base.clone(),
        server_app: r.server_app.clone(),
        redirect: r.redirect.clone(),
        admin: r.admin.clone(),
        directory: r.directory.clone(),
    };
    let his = bob.get(&authorize_url(&own, &[])).await;
    assert_eq!(his.status, StatusCode::OK, "{}", his.body);
    let csrf = his.field("csrf");
    for (k, v) in &mut form {
        if k == "csrf" {
            v.clone_from(&csrf);
        }
    }
    let page = bob.post(&format!("{}/oauth/authorize", r.base), &as_pairs(&form)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        query(&page.location().unwrap()).get("error").map(String::as_str),
        Some("access_denied")
    );
}

/// Two instances on one PostgreSQL with one public URL: a session started on one is accepted by
/// the other, which shows the consent page and issues the code; a code the other can redeem.
/// Skipped, saying so, when `ZOOM_TEST_POSTGRES_URL` is unset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_works_on_every_instance_of_one_database() {
    let Ok(url) = std::env::var("ZOOM_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ZOOM_TEST_POSTGRES_URL is unset");
        return;
    };
    let (_guard, store) = fresh_schema(&url, "pages");
    let public = "http://zoom.test";
    let (a, server_a) = instance(&store, Some(public), |_| {}).await;
    let (b, server_b) = instance(&store, Some(public), |_| {}).await;
    let mut r = provision(a.clone(), server_a.directory.clone()).await;
    let mut browser = Browser::new(None);
    let consent = sign_in(&r, &mut browser).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    // The same browser, its requests now answered by the other instance.
    r.base = b;
    r.directory = server_b.directory.clone();
    let consent = browser.get(&authorize_url(&r, &[])).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert!(consent.body.contains("value=\"allow\""), "{}", consent.body);
    let page = browser
        .post(
            &format!("{}/oauth/authorize", r.base),
            &as_pairs(&consent_form(&consent, "allow")),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = page.location().unwrap();
    assert_eq!(query(&to).get("iss").map(String::as_str), Some(public));
    let code = query(&to).remove("code").unwrap();
    let client = zoom_core::id::Name::parse(&r.client_id).unwrap();
    server_a
        .directory
        .redeem_code(&client, &code, &r.redirect, VERIFIER)
        .await
        .unwrap();
}

/// An embedder's identity provider: one login name and secret of its own, naming a user of
/// the directory (`ALICE`, known once she exists).
struct Corporate {
    user: Arc<std::sync::OnceLock<zoom_auth::UserRef>>,
}

#[async_trait::async_trait]
impl zoom_auth::Login for Corporate {
    async fn login(&self, email: &str, password: &str) -> Result<zoom_auth::UserRef, zoom_auth::LoginError> {
        match self.user.get() {
            Some(user) if email == "alice@corp.example" && password == "corporate secret" => Ok(user.clone()),
            _ => Err(zoom_auth::LoginError::InvalidCredentials),
        }
    }
}

/// `Server::login` replaced by the embedder's provider: its credentials sign in and lead to
/// consent; the directory's own password no longer does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedder_plugs_in_its_own_login() {
    let user = Arc::new(std::sync::OnceLock::new());
    let provider = Corporate { user: user.clone() };
    let (r, _dir) = start(false, |s| s.login = Arc::new(provider)).await;
    let alice = zoom_auth::Login::login(&r.directory, ALICE, PASSWORD).await.unwrap();
    user.set(alice).unwrap();
    let mut browser = Browser::new(None);
    let login = browser.get(&authorize_url(&r, &[])).await;
    let csrf = login.field("csrf");
    let refused = browser
        .post(
            &format!("{}/oauth/login", r.base),
            &[("csrf", csrf.as_str()), ("email", ALICE), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    let consent = sign_in_as(&r, &mut browser, "alice@corp.example", "corporate secret").await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert!(consent.body.contains("value=\"allow\""), "{}", consent.body);
    assert!(consent.body.contains("alice@corp.example"), "who signed in");
}

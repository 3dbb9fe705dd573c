"""The OAuth 2 flows of zoom-server, driven by authlib (a real client library) against a running
server at $BASE whose bootstrap admin app is admin / change-me-please ($TOKEN holds its token).

The browser part of the authorization code flow (the login and consent forms) is done with
requests, reading the forms the pages serve, as a browser without JavaScript would."""

import os
import sys
import uuid
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.common.security import generate_token

BASE = os.environ["BASE"]
ADMIN = {"Authorization": f"Bearer {os.environ['TOKEN']}"}
REDIRECT = "http://127.0.0.1:9/callback"
CHECKS = []


def check(what, ok, detail=""):
    CHECKS.append(what)
    if not ok:
        sys.exit(f"FAILED: {what} {detail}")
    print(f"ok: {what}")


class Forms(HTMLParser):
    """Every <form> of a page: its action, method and inputs (buttons included)."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "inputs": []})
        elif tag in ("input", "button") and self.forms and a.get("name"):
            self.forms[-1]["inputs"].append((a["name"], a.get("value", ""), a.get("type", "text")))


def forms_of(html):
    parser = Forms()
    parser.feed(html)
    return parser.forms


def submit(browser, page_url, html, fields, button=None):
    """Posts the page's form that has the given fields, as a browser would (hidden inputs kept,
    one submit button's value sent)."""
    for form in forms_of(html):
        names = {name for name, _, _ in form["inputs"]}
        if not set(fields) <= names and not (button and button[0] in names):
            continue
        data = {}
        for name, value, kind in form["inputs"]:
            if kind in ("submit",) or (kind == "text" and name == "decision"):
                continue
            data[name] = value
        data.update(fields)
        if button:
            data[button[0]] = button[1]
        return browser.post(urljoin(page_url, form["action"]), data=data, allow_redirects=False)
    sys.exit(f"FAILED: no form with {fields} on {page_url}:\n{html[:2000]}")


def api(method, path, **kw):
    r = requests.request(method, BASE + path, headers={**ADMIN, **kw.pop("headers", {})}, timeout=10, **kw)
    if r.status_code >= 400:
        sys.exit(f"FAILED: {method} {path}: {r.status_code} {r.text}")
    return r.json() if r.content else None


def authorize(session, metadata, email, password, **extra):
    """Runs the browser half: returns the redirect URL with `code` (or an error) and the verifier."""
    verifier = generate_token(64)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, **extra
    )
    browser = requests.Session()
    page = browser.get(url, allow_redirects=False, timeout=10)
    if page.status_code == 200 and 'type="password"' in page.text:
        answer = submit(browser, page.url, page.text, {"email": email, "password": password})
        check("the login form accepts the user", answer.status_code in (302, 303), answer.text[:500])
        page = browser.get(urljoin(page.url, answer.headers["location"]), allow_redirects=False, timeout=10)
    check("the consent page is shown", page.status_code == 200 and "decision" in page.text, page.text[:500])
    answer = submit(browser, page.url, page.text, {}, button=("decision", "allow"))
    check("consent redirects", answer.status_code in (302, 303), answer.text[:500])
    location = answer.headers["location"]
    check("the redirect keeps the state", parse_qs(urlparse(location).query).get("state") == [state], location)
    return location, verifier


def main():
    metadata = requests.get(f"{BASE}/.well-known/oauth-authorization-server", timeout=10).json()
    check("metadata: issuer is the public URL", metadata["issuer"] == BASE, metadata)
    check("metadata: PKCE S256 only", metadata["code_challenge_methods_supported"] == ["S256"])
    for field in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri"):
        check(f"metadata: {field}", metadata[field].startswith(BASE))
    jwks = requests.get(metadata["jwks_uri"], timeout=10).json()
    check("the jwks_uri serves keys", len(jwks["keys"]) >= 1)
    token_url = metadata["token_endpoint"]

    # Client credentials, with both client authentication methods.
    for method in ("client_secret_basic", "client_secret_post"):
        client = OAuth2Session("admin", "change-me-please", token_endpoint_auth_method=method)
        token = client.fetch_token(token_url, grant_type="client_credentials", scope="meeting.read")
        check(f"client_credentials ({method})", token["token_type"].lower() == "bearer" and token["scope"] == "meeting.read")

    # A second account, made through the API: its admin app, and account_credentials.
    tag = uuid.uuid4().hex[:8]
    account = api("POST", "/v1/accounts", json={"name": f"Globex {tag}"})
    b_app = account["admin_app"]
    client = OAuth2Session(b_app["client_id"], b_app["client_secret"])
    token = client.fetch_token(token_url, grant_type="account_credentials", account_id=account["id"])
    check("account_credentials for the app's own account", "access_token" in token)
    b_admin = {"Authorization": f"Bearer {token['access_token']}"}

    # A user of account B, and a confidential user app of the platform account, published.
    email = f"carol-{tag}@example.com"
    password = "correct horse battery staple"
    r = requests.post(f"{BASE}/v1/users", headers=b_admin, timeout=30,
                      json={"email": email, "display_name": "Carol", "password": password, "role": "member"})
    check("a user of account B", r.status_code == 201, r.text)
    carol = r.json()
    app = api("POST", "/v1/apps", json={"name": "Calendar Sync", "kind": "user", "redirect_uris": [REDIRECT],
                                         "scopes": ["meeting.read", "meeting.write", "user.read"], "published": True})
    session = OAuth2Session(app["client_id"], app["client_secret"], scope="meeting.read meeting.write",
                            redirect_uri=REDIRECT, code_challenge_method="S256")
    location, verifier = authorize(session, metadata, email, password)
    token = session.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
    check("authorization_code with PKCE returns a refresh token", "refresh_token" in token and "access_token" in token)
    user = {"Authorization": f"Bearer {token['access_token']}"}
    me = requests.get(f"{BASE}/v1/users/me", headers=user, timeout=10)
    check("the user token names the user, in their account (B)", me.status_code == 200 and me.json()["id"] == carol["id"]
          and me.json()["account_id"] == account["id"], me.text)
    r = requests.post(f"{BASE}/v1/meetings", headers=user, timeout=10,
                      json={"topic": "1:1", "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30})
    check("the user token schedules as the user", r.status_code == 201 and r.json()["host_id"] == carol["id"], r.text)

    # The same code twice: refused, and it revokes what the first use issued.
    code = parse_qs(urlparse(location).query)["code"][0]
    again = requests.post(token_url, timeout=10, auth=(app["client_id"], app["client_secret"]), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    check("a reused code is invalid_grant", again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text)
    r = requests.post(token_url, timeout=10, auth=(app["client_id"], app["client_secret"]), data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
    check("the reused code's refresh token is revoked", r.status_code == 400, r.text)

    # A new authorization; refresh rotates, and a reused refresh token revokes the grant.
    location, verifier = authorize(session, metadata, email, password)
    first = session.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
    second = session.refresh_token(token_url, refresh_token=first["refresh_token"])
    check("refresh rotates the refresh token", second["refresh_token"] != first["refresh_token"])
    introspection = metadata["introspection_endpoint"]
    info = session.introspect_token(introspection, token=second["access_token"]).json()
    check("introspection: the new access token is active", info["active"] and info["sub"] == carol["id"]
          and info["acct"] == account["id"] and info["client_id"] == app["client_id"], info)
    reuse = requests.post(token_url, timeout=10, auth=(app["client_id"], app["client_secret"]), data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    check("a reused refresh token is invalid_grant", reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant", reuse.text)
    r = requests.post(token_url, timeout=10, auth=(app["client_id"], app["client_secret"]), data={
        "grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    check("the reuse revoked the whole family", r.status_code == 400, r.text)
    info = session.introspect_token(introspection, token=second["refresh_token"]).json()
    check("introspection: a revoked refresh token is inactive", info == {"active": False}, info)

    # Revocation (RFC 7009) of a live refresh token.
    location, verifier = authorize(session, metadata, email, password)
    third = session.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
    r = session.revoke_token(metadata["revocation_endpoint"], token=third["refresh_token"], token_type_hint="refresh_token")
    check("revocation answers 200", r.status_code == 200, r.text)
    info = session.introspect_token(introspection, token=third["refresh_token"]).json()
    check("introspection: the revoked refresh token is inactive", info == {"active": False}, info)
    r = requests.post(token_url, timeout=10, auth=(app["client_id"], app["client_secret"]), data={
        "grant_type": "refresh_token", "refresh_token": third["refresh_token"]})
    check("a revoked refresh token is refused", r.status_code == 400, r.text)
    r = session.revoke_token(metadata["revocation_endpoint"], token="not-a-token")
    check("revoking an unknown token answers 200 too", r.status_code == 200, r.text)

    # A public client: no secret, PKCE only.
    public = api("POST", "/v1/apps", json={"name": "Desktop", "kind": "user", "public": True,
                                            "redirect_uris": [REDIRECT], "scopes": ["meeting.read"], "published": True})
    check("a public app has no secret", public.get("client_secret") is None, public)
    session = OAuth2Session(public["client_id"], None, scope="meeting.read", redirect_uri=REDIRECT,
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    location, verifier = authorize(session, metadata, email, password)
    token = session.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
    check("a public client's code exchange", "access_token" in token and "refresh_token" in token)
    r = requests.get(f"{BASE}/v1/meetings", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    check("the public client's token reads meetings", r.status_code == 200, r.text)

    print(f"authlib flows: {len(CHECKS)} checks passed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The authorization server's pages in a real browser: headless Chromium driven by Selenium.

Starts the zoom-server binary on a free 127.0.0.1 port with a temporary SQLite store and known
bootstrap credentials, creates a user and a user app through the REST API, then in the browser:
a wrong password shows the one message; the right one leads to the consent page; Deny returns
to the app with error=access_denied; Allow returns with a code and the state; a redirect URI
that is not registered gets the error page, not a redirect. Screenshots of the login, consent
and error pages go to docs/screenshots/ (or --screenshots DIR).

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) and
`pip install selenium==4.51.0`. Run after `cargo build -p zoom-server`:

    python3 scripts/oauth-pages.py [--server target/debug/zoom-server] [--screenshots DIR]

Exits non-zero when a check fails; the last line says how many checks passed.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ADMIN_ID = "admin"
ADMIN_SECRET = "browser-test-secret"
EMAIL = "alice@acme.example"
PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Checks:
    """Counts checks; a failed one is reported and counted, and the run goes on."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}")
        return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None, form=None, basic=None):
    """A JSON (or form) request to the server; returns (status, parsed body)."""
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if basic:
        pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def start_server(binary, work):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ZOOM_BOOTSTRAP_CLIENT_ID=ADMIN_ID, ZOOM_BOOTSTRAP_CLIENT_SECRET=ADMIN_SECRET)
    log = open(os.path.join(work, "server.log"), "wb")
    server = subprocess.Popen(
        [binary, "--listen", f"127.0.0.1:{port}", "--store", f"sqlite://{work}/zoom.db", "--public-url", base],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(150):
        if server.poll() is not None:
            raise SystemExit(f"the server exited; see {work}/server.log")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return server, base
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("the server did not start")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=820,640", "--force-device-scale-factor=1", "--lang=en-US"]:
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def authorize_url(base, client_id, redirect_uri, state, challenge, scope="meeting.read meeting.write recording.read"):
    query = urllib.parse.urlencode({
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    })
    return f"{base}/oauth/authorize?{query}"


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def click(driver, selector):
    """Clicks the button and waits until the next page has replaced this one."""
    button = driver.find_element(By.CSS_SELECTOR, selector)
    button.click()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(button))
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def sign_in(driver, password):
    driver.find_element(By.ID, "email").clear()
    driver.find_element(By.ID, "email").send_keys(EMAIL)
    driver.find_element(By.ID, "password").send_keys(password)
    click(driver, "button[type=submit]")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="target/debug/zoom-server")
    parser.add_argument("--screenshots", default="docs/screenshots")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    checks = Checks()
    with tempfile.TemporaryDirectory() as work:
        server, base = start_server(os.path.abspath(args.server), work)
        driver = None
        try:
            status, token = call(base, "POST", "/oauth/token", form={"grant_type": "client_credentials"},
                                 basic=(ADMIN_ID, ADMIN_SECRET))
            assert status == 200, token
            admin = token["access_token"]
            status, user = call(base, "POST", "/v1/users", token=admin,
                                body={"email": EMAIL, "display_name": "Alice", "password": PASSWORD})
            assert status == 201, user
            redirect = f"{base}/cb"
            status, app = call(base, "POST", "/v1/apps", token=admin, body={
                "name": "Calendar Sync", "kind": "user", "redirect_uris": [redirect],
                "scopes": ["meeting.read", "meeting.write", "recording.read"]})
            assert status == 201, app
            client_id = app["client_id"]
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

            driver = browser()
            driver.get(authorize_url(base, client_id, redirect, "st-deny", challenge))
            checks.check(driver.title == "Sign in · Zoom", f"the login page: {driver.title!r}")
            checks.check(driver.switch_to.active_element.get_attribute("id") == "email",
                         "the email field has the focus")
            driver.save_screenshot(os.path.join(args.screenshots, "login.png"))

            sign_in(driver, "not the password")
            alerts = driver.find_elements(By.CSS_SELECTOR, "[role=alert]")
            checks.check(len(alerts) == 1 and alerts[0].text == "The email or password is not correct.",
                         f"a wrong password: one message {[a.text for a in alerts]}")
            checks.check(driver.find_element(By.ID, "email").get_attribute("value") == EMAIL,
                         "the email is kept")

            sign_in(driver, PASSWORD)
            body = driver.find_element(By.TAG_NAME, "body").text
            checks.check(driver.title == "Allow access · Zoom", f"the consent page: {driver.title!r}")
            checks.check("Calendar Sync" in body and "Platform" in body, "the app and its account are named")
            checks.check("See and download recordings" in body and "See your meetings" in body,
                         "the scopes are in words")
            session = driver.get_cookie("zoom_session")
            checks.check(session is not None and session.get("httpOnly") and session.get("sameSite") == "Lax",
                         f"the session cookie is HttpOnly and SameSite=Lax: {session and {k: session.get(k) for k in ('httpOnly', 'sameSite', 'path')}}")
            driver.save_screenshot(os.path.join(args.screenshots, "consent.png"))

            click(driver, "button[value=deny]")
            answer = query_of(driver.current_url)
            checks.check(driver.current_url.startswith(redirect) and answer.get("error") == "access_denied"
                         and answer.get("state") == "st-deny", f"Deny: {driver.current_url}")

            driver.get(authorize_url(base, client_id, redirect, "st-allow", challenge))
            checks.check(driver.title == "Allow access · Zoom", "signed in, the consent page comes at once")
            click(driver, "button[value=allow]")
            answer = query_of(driver.current_url)
            checks.check(driver.current_url.startswith(redirect) and answer.get("code")
                         and answer.get("state") == "st-allow" and answer.get("iss") == base,
                         f"Allow: {driver.current_url}")
            if answer.get("code"):
                status, tokens = call(base, "POST", "/oauth/token", basic=(client_id, app["client_secret"]), form={
                    "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": redirect,
                    "code_verifier": verifier})
                checks.check(status == 200 and tokens.get("access_token"), f"the code buys a token: {status} {tokens}")

            driver.get(authorize_url(base, client_id, "https://evil.example/cb", "st-evil", challenge))
            checks.check(driver.current_url.startswith(base + "/oauth/authorize"), "a bad redirect URI: no redirect")
            heading = driver.find_element(By.TAG_NAME, "h1").text
            checks.check(heading == "This app cannot sign you in", f"a bad redirect URI: the error page {heading!r}")
            driver.save_screenshot(os.path.join(args.screenshots, "error.png"))
        finally:
            if driver is not None:
                driver.quit()
            server.terminate()
            server.wait(timeout=10)
    print(f"oauth-pages: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())

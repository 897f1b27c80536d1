"""The sign-in tests' identity provider works: discovery, keys, and one sign-in by the authorization
code flow with the claims a test sets -- the steps the browser test follows, here over plain HTTP."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

from authlib.jose import JsonWebKey, jwt


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_discovery_document_and_keys(oidc_provider):
    doc = oidc_provider.get_json(oidc_provider.discovery_url)
    assert doc["issuer"] == oidc_provider.url
    assert doc["authorization_endpoint"].startswith(oidc_provider.url)
    assert "email" in doc.get("scopes_supported", ["email"])
    keys = oidc_provider.get_json(doc["jwks_uri"])["keys"]
    assert keys and all(k["kty"] for k in keys)


def test_sign_in_with_the_claims_a_test_sets(oidc_provider):
    doc = oidc_provider.get_json(oidc_provider.discovery_url)
    oidc_provider.set_user("ana", {"email": "Ana@Bank.Example", "email_verified": True})
    redirect = "http://127.0.0.1:1/oauth2callback"  # never called: the code is read from the redirect
    query = urllib.parse.urlencode({"response_type": "code", "client_id": "crm", "redirect_uri": redirect,
                                    "scope": "openid profile email", "state": "s1", "nonce": "n1"})
    form_url = f"{doc['authorization_endpoint']}?{query}"
    page = urllib.request.urlopen(form_url, timeout=10).read().decode()
    assert re.search(r'<input[^>]*name="sub"', page) and "Authorize" in page  # the form the browser fills
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(urllib.request.Request(form_url, data=b"sub=ana", method="POST"), timeout=10)
        raise AssertionError("the provider should redirect back to the app")
    except urllib.error.HTTPError as e:
        assert e.code in (302, 303), e.code
        location = e.headers["Location"]
    params = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    assert location.startswith(redirect) and params["state"] == ["s1"]
    body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": params["code"][0],
                                   "redirect_uri": redirect, "client_id": "crm",
                                   "client_secret": "any"}).encode()
    tokens = json.loads(urllib.request.urlopen(doc["token_endpoint"], data=body, timeout=10).read())
    keys = JsonWebKey.import_key_set(oidc_provider.get_json(doc["jwks_uri"]))
    claims = jwt.decode(tokens["id_token"], keys)
    claims.validate()
    assert claims["sub"] == "ana" and claims["iss"] == oidc_provider.url
    assert claims["email"] == "Ana@Bank.Example" and claims["email_verified"] is True

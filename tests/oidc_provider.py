"""A real OpenID Connect provider for the sign-in tests: ``oidc-provider-mock`` (it needs Python >= 3.12,
the project's venv may be older), run as its own process from its own venv, ``.venv-oidc/`` in the
project folder (git-ignored; created once, reused afterwards).

How a test signs someone in through it (the provider accepts any client id and secret):

* claims first: ``provider.set_user("ana", {"email": "Ana@Bank.Example", "email_verified": True})``
  (``PUT /users/<sub>`` with the claims as JSON). A subject never set gets only
  ``{"email": <sub>}`` -- no ``email_verified``, i.e. an unverified address.
* then, on the provider's authorization page (``/oauth2/authorize``, where the app's "Sign in"
  leads): fill the text field ``name="sub"`` (id ``subject-input``, aria-label "Subject") with the
  subject and press the button "Authorize". Subjects used before appear as buttons
  "Authorize as <sub>"; the form has a "Deny" action as well.
* scopes decide what reaches the app: ``email`` releases ``email`` and ``email_verified``
  (Streamlit asks for ``openid profile email``).

Run ``python tests/oidc_provider.py`` to create the venv ahead of the tests (.ci/run does).
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-oidc"
PACKAGE = "oidc-provider-mock==0.4.8"
MIN_PYTHON = (3, 12)


class NoPython(Exception):
    """No Python >= 3.12 on this machine: the provider cannot run."""


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                             capture_output=True, text=True, timeout=30)
        major, minor = out.stdout.split()
        return int(major), int(minor)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def find_python() -> str:
    """A Python >= 3.12: env CRM_OIDC_PYTHON, this interpreter, python3.12/3.13/3.14 on PATH, or
    pyenv's versions."""
    candidates = [os.environ.get("CRM_OIDC_PYTHON", ""), sys.executable]
    candidates += [shutil.which(f"python3.{m}") or "" for m in (12, 13, 14)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(str(pyenv / "versions" / "3.1[2-9]*" / "bin" / "python")))
    for c in candidates:
        if c and (v := _version(c)) is not None and v >= MIN_PYTHON:
            return c
    raise NoPython(f"oidc-provider-mock needs Python >= {MIN_PYTHON[0]}.{MIN_PYTHON[1]} and none was found "
                   f"(tried this interpreter, python3.12-3.14 on PATH and pyenv's versions; "
                   f"set CRM_OIDC_PYTHON to one)")


def ensure_venv() -> Path:
    """The venv's python, with oidc-provider-mock installed; created once (a lock keeps parallel
    test processes from building it twice)."""
    python = VENV / "bin" / "python"
    marker = VENV / f".installed-{PACKAGE}"
    if marker.exists():
        return python
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(ROOT / ".venv-oidc.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            base = find_python()
            if VENV.exists():
                shutil.rmtree(VENV)  # a half-built one
            subprocess.run([base, "-m", "venv", str(VENV)], check=True, timeout=300)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", PACKAGE], check=True, timeout=900)
            marker.touch()
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Provider:
    url: str  # the issuer, e.g. http://127.0.0.1:PORT
    process: subprocess.Popen

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def get_json(self, url: str) -> Any:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """The claims the provider gives ``sub`` when it signs in next (e.g. email, email_verified)."""
        req = urllib.request.Request(f"{self.url}/users/{urllib.parse.quote(sub, safe='')}",
                                     data=json.dumps(claims).encode(), method="PUT",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 204, r.status


@contextlib.contextmanager
def run_provider(timeout: float = 60.0) -> Iterator[Provider]:
    """Start the provider on 127.0.0.1 and a free port, wait until its discovery document answers,
    stop it afterwards."""
    python = ensure_venv()
    port = _free_port()
    log = open(VENV / f"provider-{port}.log", "w")
    proc = subprocess.Popen([str(python), "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=VENV)
    provider = Provider(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the OIDC provider exited with {proc.returncode}: "
                                   + (VENV / f"provider-{port}.log").read_text()[-2000:])
            try:
                provider.get_json(provider.discovery_url)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the OIDC provider did not answer within {timeout:.0f} s") from None
                time.sleep(0.2)
        yield provider
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


if __name__ == "__main__":
    try:
        print(f"OIDC provider venv ready: {ensure_venv()}")
    except NoPython as e:
        print(f"OIDC provider venv not created: {e}", file=sys.stderr)
        sys.exit(1)

"""Issue 18, findings 1 and 7 (deployment): sign-in's packages are installed by requirements.txt, and
the shipped Streamlit configuration keeps tracebacks from browsers, binds open mode to this
machine, bounds uploads and keeps secrets out of git."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def requirement_lines() -> list[str]:
    return [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]


# -- finding 1: sign-in needs Streamlit's auth extra -------------------------------------------------
def test_requirements_install_streamlits_auth_extra_pinned():
    lines = requirement_lines()
    assert "streamlit[auth]==1.67.0" in lines
    pins = dict(ln.split("==") for ln in lines if "==" in ln)
    assert "Authlib" in pins and "httpx" in pins, "the auth extra's packages are pinned"


def test_streamlits_own_check_finds_authlib():
    """The check behind StreamlitMissingAuthlibError, and the module st.login imports to talk to
    the identity provider (it needs httpx)."""
    from streamlit.auth_util import is_authlib_installed

    assert is_authlib_installed()
    import authlib
    from authlib.integrations import starlette_client  # noqa: F401  (imports httpx)

    pins = dict(ln.split("==") for ln in requirement_lines() if "==" in ln)
    assert authlib.__version__ == pins["Authlib"]


# -- finding 7: the shipped configuration ---------------------------------------------------------------
def config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def test_config_keeps_tracebacks_from_browsers_binds_to_this_machine_and_bounds_uploads():
    from streamlit.config import ShowErrorDetailsConfigOptions

    from crm_metrics.data.ingest import DEFAULT_MAX_UPLOAD_MB

    c = config()
    # "type": the error's type only; "full" (Streamlit's default) would send message and traceback
    assert c["client"]["showErrorDetails"] == "type"
    assert c["client"]["showErrorDetails"] in {o.value for o in ShowErrorDetailsConfigOptions}
    assert c["server"]["address"] == "127.0.0.1"
    # Streamlit's upload limit and the load's limit agree (a bigger file would be refused anyway)
    assert c["server"]["maxUploadSize"] == DEFAULT_MAX_UPLOAD_MB


def test_streamlit_reads_the_config_as_shipped():
    """Streamlit itself, in a child process from the project folder: what it will run with."""
    import os
    import subprocess
    import sys

    code = ("from streamlit import config; config.get_config_options(); "
            "print(config.get_option('client.showErrorDetails'), config.get_option('server.address'), "
            "config.get_option('server.maxUploadSize'))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["type", "127.0.0.1", "1024"]


def test_make_run_passes_an_address_only_when_given():
    import subprocess

    def dry(*extra: str) -> str:
        return subprocess.run(["make", "-n", "run", "VENV=.venv-dry", *extra], cwd=ROOT, capture_output=True,
                              text=True, timeout=60).stdout

    assert "--server.address" not in dry()
    assert "--server.address 0.0.0.0" in dry("ADDRESS=0.0.0.0")


def test_secrets_are_ignored_by_git():
    import subprocess

    p = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=ROOT, timeout=30)
    assert p.returncode == 0, ".streamlit/secrets.toml must be in .gitignore"
    assert re.search(r"^\.streamlit/secrets\.toml$", (ROOT / ".gitignore").read_text(), re.M)

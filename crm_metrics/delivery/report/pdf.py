"""Printing the HTML report to PDF with headless Chromium, and writing either file."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from crm_metrics.data.store import Store
from crm_metrics.delivery.report.base import (
    CHROMIUM_ARGS,
    CHROMIUM_FALLBACKS,
    EXTENSIONS,
    INSTALL_CHROMIUM,
    TITLE,
    ReportError,
)
from crm_metrics.delivery.report.data import collect
from crm_metrics.delivery.report.html import build_html
from crm_metrics.delivery.report.text import esc

WAIT_JS = """() => {
  const plots = Array.from(document.querySelectorAll('.plotly-graph-div'));
  return plots.every(d => d._fullLayout && d.querySelector('svg.main-svg'));
}"""


# -- PDF -------------------------------------------------------------------------------------------------
def chromium_path() -> str:
    """The Chromium executable (env CRM_CHROMIUM, else chromium on PATH, else /usr/bin/chromium)."""
    for cand in (os.environ.get("CRM_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                 *CHROMIUM_FALLBACKS):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise ReportError(f"a PDF report needs Chromium, which is not installed: {INSTALL_CHROMIUM}. "
                      "Or write the report as .html.")


def html_to_pdf(html_text: str, out_path: str | os.PathLike[str], *, footer: str = "", browser: Any = None) -> Path:
    """Print the HTML to an A4 PDF with headless Chromium: network blocked, every chart drawn first.

    ``browser``: an already launched playwright Browser to reuse (several reports in one run); by
    default Chromium is launched for this one PDF and closed. A script error while the charts are
    drawn is a ReportError (a PDF with missing charts is not written)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as e:  # pragma: no cover - a dependency of the project
        raise ReportError("a PDF report needs the playwright Python package: pip install playwright") from e
    out = Path(out_path)
    footer_html = ("<div style='font-size:8px;color:#666;width:100%;padding:0 13mm;display:flex;"
                   f"justify-content:space-between'><span>{esc(footer)}</span><span>page "
                   "<span class='pageNumber'></span> of <span class='totalPages'></span></span></div>")
    errors: list[str] = []

    def render(b: Any) -> None:
        context = b.new_context(offline=True)
        try:
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", lambda route: route.abort())  # offline: nothing is fetched
            page.set_content(html_text, wait_until="load", timeout=180_000)
            page.wait_for_function(WAIT_JS, timeout=180_000, polling=100)
            if errors:
                raise ReportError(f"the report's charts failed in Chromium: {errors[0]}")
            page.pdf(path=str(out), format="A4", print_background=True, prefer_css_page_size=True,
                     display_header_footer=True, header_template="<span></span>", footer_template=footer_html)
        finally:
            context.close()

    exe = "the given browser"
    try:
        if browser is not None:
            render(browser)
        else:
            exe = chromium_path()
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
                try:
                    render(b)
                finally:
                    b.close()
    except PlaywrightError as e:
        raise ReportError(f"Chromium could not print the report ({exe}): {str(e).splitlines()[0]}. "
                          f"If Chromium is broken or missing: {INSTALL_CHROMIUM}.") from e
    return out


def check_extension(out_path: str | os.PathLike[str]) -> str:
    ext = Path(out_path).suffix.lower()
    if ext not in EXTENSIONS:
        raise ReportError(f"cannot write the report to {str(out_path)!r}: the file name must end in .html "
                          f"(a web page that works offline) or .pdf (for print), got "
                          f"{repr(ext) if ext else 'no extension'}.")
    return ext


def write_report(store: Store, out_path: str | os.PathLike[str], start: Any = None, end: Any = None, *,
                 browser: Any = None) -> Path:
    """Write the report as HTML or PDF, chosen by the extension (.html / .pdf; anything else: ValueError).

    The file is written next to its final name and moved into place, so a failure leaves no partial file.
    ``browser``: a launched playwright Browser to print with (default: launch Chromium for this PDF)."""
    ext = check_extension(out_path)
    if ext == ".pdf" and browser is None:
        chromium_path()  # refuse before computing anything
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    d = collect(store, start, end)
    text = build_html(d)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=ext, dir=str(out.parent))
    os.close(fd)
    try:
        if ext == ".html":
            Path(tmp).write_text(text, encoding="utf-8")
        else:
            window = f"{d.start} – {d.end}" if d.start else "no data"
            html_to_pdf(text, tmp, footer=f"{TITLE} · {window}", browser=browser)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out

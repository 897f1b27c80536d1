"""Only sessions that may load data can make the server hold uploaded bytes.

Streamlit's upload endpoint (``PUT /_stcore/upload_file/<session_id>/<file_id>``, Streamlit 1.67)
accepts a file for any *live* session and any file id: it checks ``Runtime.is_active_session`` and
then keeps the whole file in memory (``MemoryUploadedFileManager.add_file``) until the session ends
-- whether or not the session shows an uploader. A visitor who only sees the sign-in page, or a
viewer, could fill the server's memory.

The guard wraps those two calls on the running Runtime, once per process:

* ``is_active_session`` (called by the upload endpoint only, before it reads any of the body) is
  true only for a session whose last script run found it may load data (an analyst, or everyone
  in open mode). Everyone else gets HTTP 400 before a byte of the file is read.
* ``add_file`` keeps at most ``CRM_UPLOAD_FILES_PER_SESSION`` files (default 20) and
  ``CRM_UPLOAD_MB_PER_SESSION`` MB (default 2048) per session; over that: HTTP 413.

Every page registers its session's permission in :func:`register` (``ui.page.page_setup``, after
the sign-in gate). Without a running server (AppTest, bare mode) there is nothing to guard.
"""
from __future__ import annotations

import os
import threading
from typing import Any

_LOCK = threading.Lock()
_MAY_UPLOAD: dict[str, bool] = {}
_MARK = "_crm_upload_guard"


def _limits() -> tuple[int, int]:
    files = int(os.environ.get("CRM_UPLOAD_FILES_PER_SESSION", "20"))
    mb = int(os.environ.get("CRM_UPLOAD_MB_PER_SESSION", "2048"))
    return files, mb * 1024 * 1024


def may_upload(session_id: str) -> bool:
    with _LOCK:
        return _MAY_UPLOAD.get(session_id, False)


def _install(runtime: Any) -> None:
    """Wrap the runtime's session check and upload store (instance attributes, once)."""
    if getattr(runtime, _MARK, False):
        return
    is_active = runtime.is_active_session
    mgr = runtime.uploaded_file_mgr

    def guarded_is_active_session(session_id: str) -> bool:
        return is_active(session_id) and may_upload(session_id)

    runtime.is_active_session = guarded_is_active_session

    add_file = getattr(mgr, "add_file", None)
    storage = getattr(mgr, "file_storage", None)
    if add_file is not None and storage is not None:
        def guarded_add_file(session_id: str, file: Any) -> None:
            from starlette.exceptions import HTTPException

            if not may_upload(session_id):
                raise HTTPException(status_code=403, detail="This session may not upload files")
            max_files, max_bytes = _limits()
            held = {k: v for k, v in storage.get(session_id, {}).items() if k != file.file_id}
            if len(held) + 1 > max_files:
                raise HTTPException(status_code=413, detail=f"At most {max_files} files per session")
            if sum(len(v.data) for v in held.values()) + len(file.data) > max_bytes:
                raise HTTPException(status_code=413, detail="Uploads of this session over the limit")
            add_file(session_id, file)

        mgr.add_file = guarded_add_file
    setattr(runtime, _MARK, True)


def register(session_id: str | None, may: bool) -> None:
    """Record whether ``session_id`` may upload (called on every script run); forget ended sessions."""
    from streamlit.runtime import Runtime

    if session_id is None or not Runtime.exists():
        return
    runtime = Runtime.instance()
    with _LOCK:
        _install(runtime)
        _MAY_UPLOAD[session_id] = may
        if len(_MAY_UPLOAD) > 64:
            session_mgr = runtime._session_mgr  # the real check, not the guarded one
            for sid in [s for s in _MAY_UPLOAD if not session_mgr.is_active_session(s)]:
                del _MAY_UPLOAD[sid]
    if not may:
        # files a session held while it could upload (an analyst who signed out) go too
        runtime.uploaded_file_mgr.remove_session_files(session_id)


def release(files: list[Any]) -> None:
    """Let go of uploads the app is done with (loaded or refused): Streamlit would keep their bytes
    in memory until the session ends."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return
    mgr = Runtime.instance().uploaded_file_mgr
    for f in files:
        file_id = getattr(f, "file_id", None)
        if file_id:
            mgr.remove_file(ctx.session_id, file_id)

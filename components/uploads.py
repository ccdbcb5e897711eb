"""File uploads that survive a page change and, where the server still has them, a reload.

Streamlit forgets an uploader's file when its page is left, so a user who opens another page while a job on their
file runs would come back to the default file. `kept_upload` keeps the last file (name and bytes, as the widget
gave them) until the user removes it or uploads another; the page says which file it is using.

A reload starts a new session, and a browser never refills a file input by itself. So the kept file also goes into
the server's one bounded result store (`services.jobs.runner().store`, quick results' share, for the store's time
to live), keyed by its SHA-256, and the link names it as UPLOADER:SHA256 (`components.query_state.UPLOADS`). After
a reload the page finds the bytes by that hash: a link never holds a path or the file. When the store has let the
file go (time, memory, a restarted server, another replica), the page says so and falls back to the default.
Anyone who opens the link on the same server while the file is kept gets the same file.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from bertlens.jobs import QUICK
from bertlens.text import md_escape
from components.query_state import UPLOADS, publish_globals

_KEPT = "_kept_upload_"
_GONE = "_upload_gone_"


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def _store():
    from services.jobs import runner

    return runner().store


def _store_key(digest: str) -> tuple[str, str]:
    return ("upload", digest)


def _linked(key: str) -> str | None:
    """The SHA-256 the link names for the uploader `key`, if any."""
    for ref in st.session_state.get(UPLOADS.key) or []:
        name, _, digest = ref.partition(":")
        if name == key:
            return digest
    return None


def _set_link(key: str, digest: str | None) -> None:
    refs = [r for r in st.session_state.get(UPLOADS.key) or [] if r.partition(":")[0] != key]
    st.session_state[UPLOADS.key] = refs + ([f"{key}:{digest}"] if digest else [])
    publish_globals()


def _changed(key: str) -> None:
    """The user picked another file or removed this one: the widget's new value is the truth."""
    st.session_state.pop(_KEPT + key, None)
    refs = [r for r in st.session_state.get(UPLOADS.key) or [] if r.partition(":")[0] != key]
    st.session_state[UPLOADS.key] = refs
    publish_globals()


def _remember(key: str, upload: Upload) -> None:
    st.session_state[_KEPT + key] = upload
    digest = hashlib.sha256(upload.data).hexdigest()
    if _linked(key) != digest:
        _store().put(_store_key(digest), upload, kind=QUICK)
        _set_link(key, digest)


def _from_link(key: str) -> Upload | None:
    """The file the link names for `key`, from the server's store; None (and a note, once) when it is gone."""
    digest = _linked(key)
    if digest is None:
        return None
    kept = _store().get(_store_key(digest))
    if isinstance(kept, Upload):
        st.session_state[_KEPT + key] = kept
        return kept
    _set_link(key, None)
    st.session_state[_GONE + key] = True
    return None


def kept_upload(label: str, key: str, types: list[str], help: str | None = None) -> Upload | None:
    """The file in the uploader `key`, or the one kept from before a page change or a reload; None when there is
    none."""
    current = st.file_uploader(md_escape(label), type=types, key=key, help=md_escape(help) if help else None,
                               on_change=_changed, args=(key,))
    if current is not None:
        kept = Upload(current.name, current.getvalue())
        _remember(key, kept)
        return kept
    kept = st.session_state.get(_KEPT + key) or _from_link(key)
    if st.session_state.pop(_GONE + key, False):
        st.caption(":material/cloud_off: The file uploaded before the reload is no longer kept on the server; "
                   "upload it again.")
    if kept is not None:
        st.caption(f":material/attach_file: Still using **{md_escape(kept.name)}**, uploaded before you left or "
                   "reloaded the page; upload another file to replace it.")
        if st.button("Forget this file", key=f"{key}_forget"):
            _changed(key)
            st.rerun()
    return kept

"""Masking of database URLs and known secrets in any text (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
# Shorter secrets would mask ordinary words; URLs are still masked by shape.
_MIN_SECRET_LENGTH = 4
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|pass|pwd)=)[^&\s'\"]*")


def mask_url(raw: str) -> str:
    """Return ``raw`` with the password of a URL masked, even if it does not parse.

    The userinfo ends at the *last* ``@`` before whitespace, so passwords
    holding raw ``@ : / # ?`` are masked whole rather than cut at the first one.
    """
    match = _SCHEME.search(raw)
    if match is None:
        return _QUERY_SECRET.sub(r"\1" + MASK, raw)
    start = match.end()
    end_of_token = _token_end(raw, start, quotes_end=False)
    at = raw.rfind("@", start, end_of_token)
    masked = raw
    if at != -1:
        userinfo = raw[start:at]
        user, sep, _password = userinfo.partition(":")
        if sep:
            masked = raw[:start] + user + ":" + MASK + raw[at:]
    return _QUERY_SECRET.sub(r"\1" + MASK, masked)


def _token_end(text: str, start: int, quotes_end: bool = True) -> int:
    """Where a URL starting at ``start`` ends: whitespace, or a quote in running text."""
    for index in range(start, len(text)):
        if text[index].isspace() or (quotes_end and text[index] in "'\""):
            return index
    return len(text)


def secret_forms(password: str) -> list[str]:
    """Every spelling of ``password`` that may appear in output, longest first."""
    forms: set[str] = set()
    for spelling in (password, unquote(password)):
        forms |= {
            spelling,
            quote(spelling, safe=""),
            quote_plus(spelling, safe=""),
            spelling.replace("\\", "\\\\"),
            repr(spelling)[1:-1],
        }
    return sorted((f for f in forms if len(f) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


class Redactor:
    """Masks URLs by shape and every form of the known secrets in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        merged = set(self._secrets) | set(secret_forms(secret))
        self._secrets = sorted(merged, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _mask_all_urls(text)


def _mask_all_urls(text: str) -> str:
    if "://" not in text and "=" not in text:  # neither a URL nor a query secret: most log values
        return text
    pieces: list[str] = []
    position = 0
    for match in _SCHEME.finditer(text):
        if match.start() < position:
            continue
        end = _token_end(text, match.end())
        pieces.append(text[position : match.start()])
        pieces.append(mask_url(text[match.start() : end]))
        position = end
    pieces.append(text[position:])
    return _QUERY_SECRET.sub(r"\1" + MASK, "".join(pieces))


def password_of(raw: str | None) -> str | None:
    """The password in a URL's userinfo, as written (possibly percent-encoded); parse-free."""
    if not raw:
        return None
    match = _SCHEME.search(raw)
    if match is None:
        return None
    start = match.end()
    at = raw.rfind("@", start, _token_end(raw, start, quotes_end=False))
    if at == -1:
        return None
    _user, sep, password = raw[start:at].partition(":")
    return password if sep and password else None


def repr_without(record: Any, *secret: str) -> str:
    """A NamedTuple's repr with the ``secret`` fields masked (a URL's password, settings' URL)."""
    fields: tuple[str, ...] = record._fields
    shown = (f"{name}={MASK if name in secret else repr(value)}" for name, value in zip(fields, record, strict=True))
    return f"{type(record).__name__}({', '.join(shown)})"

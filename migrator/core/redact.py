"""Masking of connection strings and known secrets in any text (pure, linear in the text).

Every line migrator writes passes through a Redactor, so it must stay cheap on any input: a
100 KB literal in a failing statement or a DATABASE_URL_FILE holding something else entirely.
Each step is one pass: ``str.replace`` per spelling of a known secret (worst-case linear in
CPython, where a regex alternation of long literals can backtrack), one ``str.find`` walk over
the ``://`` of URLs, and one compiled regex over the ``key=`` forms of secret parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from migrator.core import urls
from migrator.core.errors import ConfigError

MASK = urls.MASK
# Shorter secrets would mask ordinary words; URLs are still masked by shape.
_MIN_SECRET_LENGTH = 4
_SECRET_KEYS = "|".join(urls.SECRET_KEYWORDS)
# In a URL's query (older drivers' pass= and pwd= too), and libpq's key=value, quoted or not.
_SECRET_PARAMETER = re.compile(
    rf"(?P<query>[?&](?:{_SECRET_KEYS}|pass|pwd)=)[^&\s'\"#]*"
    rf"|(?P<conninfo>(?<![\w.\-])(?:{_SECRET_KEYS})=)(?:'(?:[^'\\]|\\.)*'?|(?:[^\s'\"\\]|\\.?)*)",
    re.IGNORECASE | re.DOTALL,
)
_LIBPQ_PASSWORD = re.compile(r"(?<![\w.\-])password\s*=\s*('(?:[^'\\]|\\.)*'?|(?:[^\s\\]|\\.?)*)", re.DOTALL)
_WHITESPACE = re.compile(r"\s")
_WHITESPACE_OR_QUOTE = re.compile(r"[\s'\"]")


def mask_url(raw: str) -> str:
    """``raw``, one connection string given whole, with its secrets masked, even if it does not parse.

    The userinfo ends at the *last* ``@`` before whitespace, so passwords holding raw
    ``@ : / # ?`` or quotes are masked whole rather than cut at the first one.
    """
    return _mask_parameters(_mask_userinfo(raw, _WHITESPACE))


def _mask_all(text: str) -> str:
    """Every connection string in running text, where a quote also ends a URL."""
    if "=" not in text and "://" not in text:  # neither a URL nor a key=value: most log values
        return text
    return _mask_parameters(_mask_userinfo(text, _WHITESPACE_OR_QUOTE))


def _mask_userinfo(text: str, token_end: re.Pattern[str]) -> str:
    """The password between ``user:`` and the last ``@`` of each ``scheme://`` token, in one pass."""
    pieces: list[str] = []
    position = 0
    start = text.find("://")
    while start != -1:
        begin = start + 3
        found = token_end.search(text, begin)
        end = found.start() if found is not None else len(text)
        at = text.rfind("@", begin, end)
        colon = text.find(":", begin, at) if at != -1 else -1
        if colon != -1:
            pieces += [text[position : colon + 1], MASK]
            position = at
        start = text.find("://", end)
    pieces.append(text[position:])
    return "".join(pieces)


def _mask_parameters(text: str) -> str:
    if "=" not in text:
        return text
    return _SECRET_PARAMETER.sub(lambda match: (match.group("query") or match.group("conninfo")) + MASK, text)


def secret_forms(password: str) -> list[str]:
    """Every spelling of ``password`` that may appear in output, longest first."""
    forms: set[str] = set()
    for spelling in (password, unquote(password), unquote_plus(password)):
        forms |= {
            spelling,
            quote(spelling, safe=""),
            quote_plus(spelling, safe=""),
            spelling.replace("\\", "\\\\"),  # repr() and libpq's quoting double a backslash
            spelling.replace("\\", "\\\\").replace("'", "\\'"),  # libpq's quoted value
            repr(spelling)[1:-1],
            json.dumps(spelling)[1:-1],
        }
    return sorted((f for f in forms if len(f) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


class Redactor:
    """Masks connection strings by shape and every spelling of the known secrets in text."""

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
        for secret in self._secrets:  # longest first: a shorter form inside a longer one is gone with it
            text = text.replace(secret, MASK)
        return _mask_all(text)


def password_of(raw: str | None) -> str | None:
    """The password in a connection string, as written (a URL's possibly percent-encoded); parse-free
    for URLs, so a URL that does not parse still yields it. None when there is none."""
    return next(iter(secrets_in(raw)), None)


def secrets_in(raw: str | None) -> list[str]:
    """Every secret in a connection string (the password first), as password_of() spells them."""
    if not raw:
        return []
    start = raw.find("://")
    if start != -1:
        return _url_secrets(raw, start + 3)
    try:
        return urls.parse(raw).secrets()
    except ConfigError:  # a libpq string that does not parse: its password= by shape
        found = _LIBPQ_PASSWORD.search(raw)
        value = found.group(1).strip("'") if found is not None else ""
        return [value] if value else []


def _url_secrets(raw: str, begin: int) -> list[str]:
    found = _WHITESPACE.search(raw, begin)
    end = found.start() if found is not None else len(raw)
    at = raw.rfind("@", begin, end)
    _user, colon, password = raw[begin:at].partition(":") if at != -1 else ("", "", "")
    in_query = (m.group(0).partition("=")[2] for m in _SECRET_PARAMETER.finditer(raw, begin, end) if m.group("query"))
    return [secret for secret in (password if colon else "", *in_query) if secret]


def repr_without(record: Any, *secret: str) -> str:
    """A NamedTuple's repr with the ``secret`` fields masked (settings' URL and environment)."""
    fields: tuple[str, ...] = record._fields
    shown = (f"{name}={MASK if name in secret else repr(value)}" for name, value in zip(fields, record, strict=True))
    return f"{type(record).__name__}({', '.join(shown)})"

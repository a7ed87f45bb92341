"""Database URLs: the one set of rules, and what libpq and SQLAlchemy are given (pure, stdlib only).

Every command validates the URL here before anything connects, so a URL is either refused
at once (exit 2, password masked) or reaches libpq as keyword parameters, never as a string
libpq would parse again. The password must be percent-encoded: a raw ``@ / ? # % \\ $`` or
space in it is refused, because each of them makes some parser (libpq, SQLAlchemy, a shell)
take part of the password for the host, the database or a comment.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote

from migrator.core.errors import ConfigError
from migrator.core.redact import MASK, mask_url, repr_without

SCHEMES = ("postgres", "postgresql", "postgresql+psycopg2")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# RFC 3986 userinfo without '$' (a shell expands it in a URL that was not quoted).
_USERINFO = re.compile(r"^(?:[A-Za-z0-9\-._~!&'()*+,;=:]|%[0-9A-Fa-f]{2})*$")
_HOST = re.compile(r"^(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})*$")
_PATH = re.compile(r"^(?:[^%?#\s\\]|%[0-9A-Fa-f]{2})*$")
_ENCODE_HINT = (
    "percent-encode special characters in the user and password "
    "('@' as %40, ':' as %3A, '/' as %2F, '?' as %3F, '#' as %23, '%' as %25, '$' as %24, '\\' as %5C, ' ' as %20)"
)
_SHAPE_HINT = "use postgresql://user:password@host:5432/dbname, percent-encoding special characters"


class DatabaseUrl(NamedTuple):
    """A validated PostgreSQL URL, decoded into its parts."""

    user: str | None
    password: str | None  # masked in repr()
    host: str | None
    port: int | None
    database: str
    query: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        return repr_without(self, "password")

    def libpq_params(self) -> dict[str, str]:
        """Keyword parameters for psycopg2.connect (libpq quotes them; nothing is parsed twice)."""
        params = {
            "host": self.host,
            "port": str(self.port) if self.port is not None else None,
            "user": self.user,
            "password": self.password,
            "dbname": self.database,
        }
        found = {key: value for key, value in params.items() if value}
        found.update(dict(self.query))
        return found

    def display(self) -> str:
        """The URL for logs and messages, password masked."""
        user = self.user or ""
        secret = f":{MASK}" if self.password else ""
        at = "@" if user or secret else ""
        host = f"[{self.host}]" if self.host and ":" in self.host else (self.host or "")
        port = f":{self.port}" if self.port is not None else ""
        query = "&".join(f"{key}={value}" for key, value in self.query)
        return mask_url(f"postgresql://{user}{secret}{at}{host}{port}/{self.database}" + (f"?{query}" if query else ""))


def parse(raw: str | None) -> DatabaseUrl:
    """Validate ``raw``; ConfigError (exit 2) naming the problem, never the password."""
    if not raw or not raw.strip():
        raise ConfigError("no database URL given", hint="set --database-url, DATABASE_URL or DATABASE_URL_FILE")
    raw = raw.strip()
    shown = _shown(raw)
    scheme = _SCHEME.match(raw)
    if scheme is None:
        raise ConfigError(f"malformed database URL {shown}", hint=_SHAPE_HINT)
    if scheme.group(1).lower() not in SCHEMES:
        raise ConfigError(
            f"unsupported database URL scheme {scheme.group(1)!r} in {shown}",
            hint="migrator drives PostgreSQL through psycopg2: use postgresql://",
        )
    rest = raw[scheme.end() :]
    userinfo, at, location = rest.rpartition("@")
    user, password = _userinfo(userinfo, shown) if at else (None, None)
    hostport, path, query = _split_location(location, shown)
    host, port = _host_port(hostport, shown)
    if not _PATH.match(path):
        raise ConfigError(f"malformed database name in database URL {shown}", hint=_SHAPE_HINT)
    database = unquote(path)
    if not database:
        raise ConfigError(f"database URL {shown} names no database", hint="append /dbname")
    return DatabaseUrl(user, password, host, port, database, _query(query, shown))


def _shown(raw: str) -> str:
    """``raw`` for messages: everything before the last '@' but the user name is masked, spaces and all."""
    scheme = _SCHEME.match(raw)
    if scheme is None:
        return mask_url(raw)
    userinfo, at, location = raw[scheme.end() :].rpartition("@")
    if not at:
        return mask_url(raw)
    user, colon, _ = userinfo.partition(":")
    return f"{scheme.group(0)}{user}{':' + MASK if colon else ''}@{location}"


def _userinfo(userinfo: str, shown: str) -> tuple[str | None, str | None]:
    if not _USERINFO.match(userinfo):
        raise ConfigError(
            f"the user or password in database URL {shown} holds a character that must be percent-encoded",
            hint=_ENCODE_HINT,
        )
    user, _, password = userinfo.partition(":")
    return unquote(user) or None, unquote(password) or None


def _split_location(location: str, shown: str) -> tuple[str, str, str]:
    """host[:port] / database ? query"""
    before_query, _, query = location.partition("?")
    hostport, _, path = before_query.partition("/")
    if "#" in location:
        raise ConfigError(f"malformed database URL {shown}: a raw '#' in it", hint=_ENCODE_HINT)
    return hostport, path, query


def _host_port(hostport: str, shown: str) -> tuple[str | None, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end == -1:
            raise ConfigError(f"malformed database URL {shown}: '[' without ']' around an IPv6 host", hint=_SHAPE_HINT)
        host, after = hostport[1:end], hostport[end + 1 :]
        if after and not after.startswith(":"):
            raise ConfigError(f"malformed database URL {shown}: text after the IPv6 host", hint=_SHAPE_HINT)
        port_text = after[1:] if after else None
    else:
        if "," in hostport:
            raise ConfigError(
                f"database URL {shown} names several hosts",
                hint="name one host; for failover put the hosts in the query: ?host=h1,h2&port=5432,5432",
            )
        host, colon, port_text_raw = hostport.partition(":")
        port_text = port_text_raw if colon else None
        if not _HOST.match(host):
            raise ConfigError(f"malformed host in database URL {shown}", hint=_SHAPE_HINT)
    return unquote(host) or None, _port(port_text, shown)


def _port(text: str | None, shown: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(
            f"malformed database URL {shown}: the port must be a number from 1 to 65535", hint=_SHAPE_HINT
        )
    return int(text)


def _query(text: str, shown: str) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ConfigError(f"malformed query in database URL {shown}", hint="use ?key=value&key=value") from None
    return tuple(pairs)

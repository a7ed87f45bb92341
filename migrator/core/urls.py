"""Connection strings: the one set of rules, parsed once into a DatabaseUrl (pure, stdlib only).

Two spellings give the same value: a URL (``postgresql://user:password@host:5432/dbname?k=v``)
and libpq's ``key=value`` string (``dbname=x user=u password='it''s' host=h``, single quotes
and backslash escapes as libpq reads them). As in libpq, a parameter in the query (``?dbname=``,
``?host=``, ``?port=``) wins over the same part in the URL's authority or path, and a later
parameter over an earlier one, so each parameter reaches libpq exactly once.

A string that does not parse is described, never echoed: the message names the part that is
wrong (no scheme, bad port, unknown parameter ...), because a connection string that went wrong
is most often a password in the wrong place. Every rendering of a value (``display()``,
``repr()``) masks the password and every other secret-bearing parameter.

The URL's password must be percent-encoded: a raw ``@ / ? # % \\ $`` or space in it is refused,
because each of them makes some parser (libpq, SQLAlchemy, a shell) take part of the password
for the host, the database or a comment.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import quote, unquote

from migrator.core.errors import ConfigError

MASK = "***"
SCHEMES = ("postgres", "postgresql", "postgresql+psycopg2")
# libpq's connection parameters and the environment variable each one defaults from (None: it has
# none), as PQconndefaults() lists them for libpq 17 plus the ones PostgreSQL 18 adds.
LIBPQ_KEYWORDS: dict[str, str | None] = {
    "service": "PGSERVICE",
    "servicefile": "PGSERVICEFILE",  # 18
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "channel_binding": "PGCHANNELBINDING",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "dbname": "PGDATABASE",
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "client_encoding": "PGCLIENTENCODING",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "fallback_application_name": None,
    "keepalives": None,
    "keepalives_idle": None,
    "keepalives_interval": None,
    "keepalives_count": None,
    "tcp_user_timeout": None,
    "sslmode": "PGSSLMODE",
    "sslnegotiation": "PGSSLNEGOTIATION",
    "sslcompression": "PGSSLCOMPRESSION",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcertmode": "PGSSLCERTMODE",
    "sslpassword": None,
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "sslcrldir": "PGSSLCRLDIR",
    "sslsni": "PGSSLSNI",
    "sslkeylogfile": None,  # 18
    "requirepeer": "PGREQUIREPEER",
    "require_auth": "PGREQUIREAUTH",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "min_protocol_version": "PGMINPROTOCOLVERSION",  # 18
    "max_protocol_version": "PGMAXPROTOCOLVERSION",  # 18
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "gsslib": "PGGSSLIB",
    "gssdelegation": "PGGSSDELEGATION",
    "replication": None,
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS",
    "oauth_issuer": None,  # 18
    "oauth_client_id": None,  # 18
    "oauth_client_secret": None,  # 18
    "oauth_scope": None,  # 18
}
# The parameters whose value is a secret: masked in every rendering (libpq marks the first two "*").
SECRET_KEYWORDS = ("password", "sslpassword", "oauth_client_secret")

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")
_SCHEME_WITHOUT_SLASHES = re.compile(r"(postgres|postgresql|postgresql\+psycopg2):(?!//)", re.IGNORECASE)
# libpq's key=value syntax; whitespace is C's isspace(), as in libpq.
_CONNINFO = re.compile(r"[^=\s]+\s*=", re.ASCII)
_CONNINFO_KEY = re.compile(r"([^=\s]*)\s*", re.ASCII)
_SPACES = re.compile(r"\s*", re.ASCII)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'", re.DOTALL)
_UNQUOTED = re.compile(r"(?:[^\s\\]|\\.?)*", re.ASCII | re.DOTALL)
_ESCAPED = re.compile(r"\\(.?)", re.DOTALL)
# RFC 3986 userinfo without '$' (a shell expands it in a URL that was not quoted).
_USERINFO = re.compile(r"(?:[A-Za-z0-9\-._~!&'()*+,;=:]|%[0-9A-Fa-f]{2})*")
_HOST = re.compile(r"(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})*")
_PATH = re.compile(r"(?:[^%?#\s\\]|%[0-9A-Fa-f]{2})*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# What a URL's authority spells as it is: one host name, IPv4 or IPv6 address.
_PLAIN_HOST = re.compile(r"[A-Za-z0-9\-._~]+|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*")
_PORTS = re.compile(r"[0-9]*(?:,[0-9]*)*")
# A key or scheme is named in a message only when it reads as a name, not as a piece of a secret.
_NAMEABLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_NAMEABLE_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]{0,19}")
# What libpq cannot take: NUL, and lone surrogates (undecodable bytes in the environment).
_UNUSABLE = re.compile(r"[\x00\ud800-\udfff]")
_PARTS = {"user": "the user", "password": "the password", "dbname": "the database name"}
_ENCODE_HINT = (
    "percent-encode special characters in the user and password "
    "('@' as %40, ':' as %3A, '/' as %2F, '?' as %3F, '#' as %23, '%' as %25, '$' as %24, '\\' as %5C, ' ' as %20)"
)
_SHAPE_HINT = "use postgresql://user:password@host:5432/dbname, percent-encoding special characters"
_CONNINFO_HINT = (
    "write key=value pairs separated by spaces; quote a value holding spaces as 'value', "
    "with \\' for a quote and \\\\ for a backslash in it"
)
_KEYWORDS_HINT = "use libpq's connection parameters: https://www.postgresql.org/docs/current/libpq-connect.html"
_URL, _CONNINFO_STRING = "the database URL", "the connection string"


class DatabaseUrl(NamedTuple):
    """A validated connection string, decoded into its parts: each libpq parameter in one place.

    ``host`` and ``port`` hold what a URL's authority spells (one host name or address, one
    port); a socket directory or a list of hosts or ports stays in ``query`` as libpq's ``host=``
    and ``port=``. ``query`` holds every other parameter, once each, in the order given.
    """

    user: str | None
    password: str | None  # masked in repr()
    host: str | None
    port: int | None
    database: str
    query: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        query = tuple((key, MASK if key in SECRET_KEYWORDS else value) for key, value in self.query)
        shown = {**self._asdict(), "query": query}
        fields = (f"{name}={MASK if name == 'password' and value else repr(value)}" for name, value in shown.items())
        return f"DatabaseUrl({', '.join(fields)})"

    def libpq_params(self) -> dict[str, str]:
        """Keyword parameters for psycopg2.connect, each once (libpq quotes them)."""
        params = {
            "host": self.host,
            "port": str(self.port) if self.port is not None else None,
            "user": self.user,
            "password": self.password,
            "dbname": self.database,
        }
        found = {key: value for key, value in params.items() if value}
        found.update(self.query)
        return found

    def secrets(self) -> list[str]:
        """The values to keep out of every output: the password, sslpassword ..."""
        found = [self.password] if self.password else []
        return found + [value for key, value in self.query if key in SECRET_KEYWORDS and value]

    def display(self) -> str:
        """The URL for logs and messages, every secret masked."""
        return self.render()

    def render(self, reveal_secrets: bool = False) -> str:
        """The value as a postgresql:// URL that parses back to it; secrets masked unless revealed."""

        def spelled(value: str, secret: bool) -> str:
            return MASK if secret and not reveal_secrets else quote(value, safe="")

        user = spelled(self.user or "", False)
        password = f":{spelled(self.password, True)}" if self.password else ""
        at = "@" if user or password else ""
        host = f"[{self.host}]" if self.host and ":" in self.host else (self.host or "")
        port = f":{self.port}" if self.port is not None else ""
        query = "&".join(f"{key}={spelled(value, key in SECRET_KEYWORDS)}" for key, value in self.query)
        database = spelled(self.database, False)
        return f"postgresql://{user}{password}{at}{host}{port}/{database}" + (f"?{query}" if query else "")


def parse(raw: str | None) -> DatabaseUrl:
    """Validate ``raw``, a URL or a libpq string; ConfigError (exit 2) naming the problem, never the text."""
    if not raw or not raw.strip():
        raise ConfigError("no database URL given", hint="set --database-url, DATABASE_URL or DATABASE_URL_FILE")
    text = raw.strip()
    scheme = _SCHEME.match(text)
    if scheme is not None:
        return _value(_url_params(text, scheme), _URL)
    if _CONNINFO.match(text):
        return _value(_conninfo_params(text), _CONNINFO_STRING)
    without_slashes = _SCHEME_WITHOUT_SLASHES.match(text)
    if without_slashes is not None:
        scheme_name = without_slashes.group(1).lower()
        raise ConfigError(f"malformed database URL: {scheme_name}: without // after it", hint=_SHAPE_HINT)
    raise ConfigError(
        "malformed database URL: no scheme (postgresql://), and not a libpq key=value connection string",
        hint=_SHAPE_HINT,
    )


# --- the URL ------------------------------------------------------------------------------------


def _url_params(text: str, scheme: re.Match[str]) -> dict[str, str]:
    """The URL's parts as libpq's parameters; the query's win over the authority's and the path's."""
    name = scheme.group(1)
    if name.lower() not in SCHEMES:
        shown = f" {name!r}" if _NAMEABLE_SCHEME.fullmatch(name) else ""
        raise ConfigError(
            f"unsupported database URL scheme{shown}",
            hint="migrator drives PostgreSQL through psycopg2: use postgresql://",
        )
    userinfo, at, location = text[scheme.end() :].rpartition("@")
    hostport, path, query = _split_location(location)
    parts = [*(_userinfo(userinfo) if at else ()), *_host_port(hostport), ("dbname", _path(path))]
    params = {key: value for key, value in parts if value}
    params.update(_query(query))
    return params


def _split_location(location: str) -> tuple[str, str, str]:
    """host[:port] / database ? query"""
    if "#" in location:
        raise ConfigError("malformed database URL: a raw '#' in it", hint=_ENCODE_HINT)
    before_query, _, query = location.partition("?")
    hostport, _, path = before_query.partition("/")
    return hostport, path, query


def _userinfo(userinfo: str) -> list[tuple[str, str]]:
    if not _USERINFO.fullmatch(userinfo):
        raise ConfigError(
            "the user or password in the database URL holds a character that must be percent-encoded",
            hint=_ENCODE_HINT,
        )
    user, _, password = userinfo.partition(":")
    return [("user", _decoded(user, "the user")), ("password", _decoded(password, "the password"))]


def _host_port(hostport: str) -> list[tuple[str, str]]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end == -1:
            raise ConfigError("malformed database URL: '[' without ']' around an IPv6 host", hint=_SHAPE_HINT)
        host, after = hostport[1:end], hostport[end + 1 :]
        if after and not after.startswith(":"):
            raise ConfigError("malformed database URL: text after the IPv6 host", hint=_SHAPE_HINT)
        port = after[1:]
    else:
        if "," in hostport:
            raise ConfigError(
                "the database URL names several hosts",
                hint="name one host; for failover put the hosts in the query: ?host=h1,h2&port=5432,5432",
            )
        host, _, port = hostport.partition(":")
        if not _HOST.fullmatch(host):
            raise ConfigError(
                "malformed database URL: the host holds a character that must be percent-encoded", hint=_SHAPE_HINT
            )
    if port and not _is_port(port):
        raise ConfigError("malformed database URL: the port must be a number from 1 to 65535", hint=_SHAPE_HINT)
    return [("host", _decoded(host, "the host")), ("port", port)]


def _path(path: str) -> str:
    if not _PATH.fullmatch(path):
        raise ConfigError(
            "malformed database URL: the database name holds a character that must be percent-encoded",
            hint=_SHAPE_HINT,
        )
    return _decoded(path, "the database name")


def _query(text: str) -> list[tuple[str, str]]:
    """libpq's reading of a URI query: key=value&..., percent-decoded ('+' stays a plus, as in libpq)."""
    pairs: list[tuple[str, str]] = []
    for piece in text.split("&"):
        if not piece:
            continue
        key, eq, value = piece.partition("=")
        if not eq or not key or _BAD_PERCENT.search(piece):
            raise ConfigError(
                "malformed database URL: the query is not key=value&key=value, percent-encoded",
                hint="use ?key=value&key=value; percent-encode '&', '=', '%' and '#' in a value",
            )
        key = _decoded(key, "a query parameter's name")
        if key == "ssl" and value == "true":  # libpq's alias, for JDBC-style URLs
            key, value = "sslmode", "require"
        _check_keyword(key, pairs, _URL)
        pairs.append((key, _decoded(value, f"the value of {key}")))
    return pairs


def _decoded(text: str, part: str) -> str:
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise ConfigError(f"malformed database URL: {part} is not UTF-8 once percent-decoded") from None


# --- libpq's key=value string -------------------------------------------------------------------


def _conninfo_params(text: str) -> dict[str, str]:
    """libpq's conninfo_parse: ``key = value`` pairs, a value quoted in '...' or up to whitespace,
    a backslash escaping the next character in either; a later pair wins over an earlier one."""
    pairs: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        key_match = _match(_CONNINFO_KEY, text, position)
        key, position = key_match.group(1), key_match.end()
        if not key:
            raise ConfigError("malformed connection string: '=' without a parameter name", hint=_CONNINFO_HINT)
        if not text.startswith("=", position):
            after = f" after the value of {pairs[-1][0]}" if pairs else ""
            raise ConfigError(f"malformed connection string: a word without '='{after}", hint=_CONNINFO_HINT)
        _check_keyword(key, pairs, _CONNINFO_STRING)
        value, position = _conninfo_value(text, _match(_SPACES, text, position + 1).end(), key)
        pairs.append((key, value))
        position = _match(_SPACES, text, position).end()
    return dict(pairs)


def _conninfo_value(text: str, position: int, key: str) -> tuple[str, int]:
    """The value at ``position`` and where it ends."""
    if text.startswith("'", position):
        quoted = _QUOTED.match(text, position)
        if quoted is None:
            raise ConfigError(
                f"malformed connection string: the quoted value of {key} has no closing quote", hint=_CONNINFO_HINT
            )
        return _ESCAPED.sub(r"\1", quoted.group(1)), quoted.end()
    unquoted = _match(_UNQUOTED, text, position)
    return _ESCAPED.sub(r"\1", unquoted.group(0)), unquoted.end()


def _match(pattern: re.Pattern[str], text: str, position: int) -> re.Match[str]:
    """A pattern that matches anywhere (it may match nothing)."""
    found = pattern.match(text, position)
    assert found is not None
    return found


# --- the rules both spellings share -------------------------------------------------------------


def _check_keyword(key: str, before: list[tuple[str, str]], where: str) -> None:
    """Refuse a key that is not libpq's, naming it only when it cannot be a piece of a secret."""
    if key in LIBPQ_KEYWORDS:
        return
    # A word after a secret is most likely the rest of it (a space or '&' not quoted or encoded),
    # and the first word of a string that names no known parameter may be a bare password.
    nameable = (
        _NAMEABLE_KEY.fullmatch(key) is not None
        and not (before and before[-1][0] in SECRET_KEYWORDS)
        and (where == _URL or bool(before))
    )
    lower_case = nameable and key.lower() in LIBPQ_KEYWORDS
    shown = f" {key!r}" if nameable else ""
    raise ConfigError(
        f"{where} names an unknown parameter{shown}, not one of libpq's connection parameters",
        hint=f"libpq's parameter names are lower case: {key.lower()}" if lower_case else _KEYWORDS_HINT,
    )


def _value(params: dict[str, str], where: str) -> DatabaseUrl:
    """The parameters, each in its one place (see DatabaseUrl)."""
    for key, value in params.items():
        unusable = _UNUSABLE.search(value)
        if unusable is not None:
            what = "a NUL character" if unusable.group(0) == "\x00" else "bytes that are not UTF-8"
            raise ConfigError(f"{where} holds {what} in {_PARTS.get(key, key)}", hint="libpq cannot take them")
    user, password = params.pop("user", "") or None, params.pop("password", "") or None
    database = params.pop("dbname", "")
    if not database:
        raise ConfigError(f"{where} names no database", hint="append /dbname (or dbname=NAME)")
    host, port = params.get("host", ""), params.get("port", "")
    if not _PORTS.fullmatch(port) or not all(_is_port(one) for one in port.split(",") if one):
        raise ConfigError(f"malformed port in {where}: a port must be a number from 1 to 65535", hint=_SHAPE_HINT)
    plain_host = not host or _PLAIN_HOST.fullmatch(host) is not None
    if plain_host:
        params.pop("host", None)
    if not port or _is_port(port):
        params.pop("port", None)
    return DatabaseUrl(
        user,
        password,
        host if plain_host and host else None,
        int(port) if _is_port(port) else None,
        database,
        tuple(params.items()),
    )


def _is_port(text: str) -> bool:
    return 0 < len(text) <= 5 and text.isascii() and text.isdigit() and 0 < int(text) < 65536

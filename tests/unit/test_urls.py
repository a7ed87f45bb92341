"""Connection strings: one set of rules and one value for every command (core/urls.py)."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator.core.errors import ConfigError, ExitCode
from migrator.core.urls import LIBPQ_KEYWORDS, SECRET_KEYWORDS, DatabaseUrl, parse

SECRET = "s3cr#t?pw"
# Any character but NUL and lone surrogates (refused, see below): what a password may hold.
CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
PASSWORDS = st.text(CHARACTERS, min_size=1)


def refusal(raw: str | None) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        parse(raw)
    assert raised.value.exit_code == ExitCode.USAGE
    return raised.value


def libpq_quoted(value: str) -> str:
    """A value in libpq's key=value syntax: single quotes, backslash escapes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.parametrize(
    "raw",
    [
        "postgres://app:s3cret@db.internal:5433/orders",
        "postgresql://app:s3cret@db.internal:5433/orders",
        "postgresql+psycopg2://app:s3cret@db.internal:5433/orders",
        "dbname=orders user=app password=s3cret host=db.internal port=5433",
        "  host = db.internal port=5433\tdbname='orders' user=app password = 's3cret'  ",
        "postgresql:///ignored?dbname=orders&user=app&password=s3cret&host=db.internal&port=5433",
    ],
)
def test_every_spelling_of_a_connection_gives_the_same_value(raw: str) -> None:
    """URLs of each scheme, libpq key=value strings and query parameters all name the same thing."""
    assert parse(raw) == DatabaseUrl("app", "s3cret", "db.internal", 5433, "orders")
    assert parse(raw).libpq_params() == {
        "host": "db.internal",
        "port": "5433",
        "user": "app",
        "password": "s3cret",
        "dbname": "orders",
    }


def test_a_libpq_string_follows_libpqs_quoting_rules() -> None:
    """Single quotes hold spaces; a backslash escapes a quote, a backslash or a space; '' is empty."""
    url = parse(r"dbname='my db' user=a\ b password='it\'s \\ x' application_name=''  options='-c x=1'")
    assert url == DatabaseUrl(
        "a b", "it's \\ x", None, None, "my db", (("application_name", ""), ("options", "-c x=1"))
    )


def test_a_percent_encoded_password_reaches_libpq_decoded() -> None:
    """Reserved characters, percent-encoded, arrive as the characters themselves; '+' stays a plus."""
    assert parse("postgresql://app:p%40ss%3Aw%2Frd%25%24%5C+@db/orders").password == "p@ss:w/rd%$\\+"


def test_query_parameters_pass_through_to_libpq_once_each() -> None:
    """Options reach libpq as written; the query's dbname, host and port win over the URL's (libpq's rule)."""
    url = parse(
        "postgresql://app:pw@db:5432/orders?sslmode=require&connect_timeout=5&dbname=other"
        "&options=-c%20lock_timeout%3D1s&port=6432&target_session_attrs=read-write&sslmode=verify-full"
    )
    assert url.libpq_params() == {
        "host": "db",
        "port": "6432",
        "user": "app",
        "password": "pw",
        "dbname": "other",
        "sslmode": "verify-full",
        "connect_timeout": "5",
        "options": "-c lock_timeout=1s",
        "target_session_attrs": "read-write",
    }


def test_a_socket_directory_or_several_hosts_stay_libpqs_host_parameter() -> None:
    """What a URL's authority cannot spell (a socket path, host and port lists) is passed as host= and port=."""
    for raw in ("postgresql://u@%2Fvar%2Frun%2Fpostgresql/db", "postgresql://u@/db?host=/var/run/postgresql"):
        url = parse(raw)
        assert (url.host, url.libpq_params()["host"]) == (None, "/var/run/postgresql")
        assert url.display() == "postgresql://u@/db?host=%2Fvar%2Frun%2Fpostgresql"
    several = parse("postgresql://u@/db?host=h1,h2&port=5432,")
    assert (several.host, several.port, several.query) == (None, None, (("host", "h1,h2"), ("port", "5432,")))
    assert parse("host=127.0.0.1 dbname=db").host == "127.0.0.1"


def test_an_ipv6_host_is_understood() -> None:
    """[::1]:5433 is a host and a port, and is displayed the same way."""
    url = parse("postgresql://u:pw@[::1]:5433/db")
    assert (url.host, url.port, url.display()) == ("::1", 5433, "postgresql://u:***@[::1]:5433/db")


def test_display_and_repr_mask_every_secret_whole() -> None:
    """The password, sslpassword and a query password holding encoded spaces and '&' are masked whole."""
    url = parse(
        "postgresql://app:s3cret@db:5432/orders?sslmode=require&password=ab%20cdSECRET%26x&sslpassword=KEYSECRET"
    )
    assert url.display() == "postgresql://app:***@db:5432/orders?sslmode=require&sslpassword=***"
    assert repr(url) == (
        "DatabaseUrl(user='app', password=***, host='db', port=5432, database='orders', "
        "query=(('sslmode', 'require'), ('sslpassword', '***')))"
    )
    assert url.password == "ab cdSECRET&x"


def test_every_secret_bearing_keyword_is_a_libpq_keyword() -> None:
    """The masked keys are libpq's; each PG* variable belongs to one keyword."""
    assert set(SECRET_KEYWORDS) <= set(LIBPQ_KEYWORDS)
    variables = [name for name in LIBPQ_KEYWORDS.values() if name]
    assert len(variables) == len(set(variables))


def test_libpq_accepts_every_keyword_in_the_list() -> None:
    """The list is libpq's own (those PostgreSQL 18 adds aside, when the linked libpq is older)."""
    import psycopg2.extensions  # type: ignore[import-untyped]

    newer = {"servicefile", "sslkeylogfile", "min_protocol_version", "max_protocol_version"}
    newer |= {key for key in LIBPQ_KEYWORDS if key.startswith("oauth_")}
    for key in set(LIBPQ_KEYWORDS) - newer:
        assert psycopg2.extensions.parse_dsn(f"{key}=1") == {key: "1"}


UNKNOWN = "names an unknown parameter 'sslmod', not one of libpq's connection parameters"
BAD_QUERY = "malformed database URL: the query is not key=value&key=value, percent-encoded"
BAD_PORT = "the port must be a number from 1 to 65535"
NO_SCHEME = "malformed database URL: no scheme (postgresql://), and not a libpq key=value connection string"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "no database URL given"),
        ("", "no database URL given"),
        ("mysql://app:s3cret@db/orders", "unsupported database URL scheme 'mysql'"),
        ("postgresql://app:s3cret@db", "the database URL names no database"),
        ("postgresql://app:s3cret@db:5432/", "the database URL names no database"),
        ("host=db user=app password=s3cret", "the connection string names no database"),
        ("postgresql://app:s3cret@db:five/orders", f"malformed database URL: {BAD_PORT}"),
        ("postgresql://app:s3cret@db:99999/orders", f"malformed database URL: {BAD_PORT}"),
        (
            "postgresql://u:s3cret@/db?port=5432,x",
            "malformed port in the database URL: a port must be a number from 1 to 65535",
        ),
        ("postgresql://[::1", "malformed database URL: '[' without ']' around an IPv6 host"),
        ("postgresql://app:s3cret@[::1/orders", "malformed database URL: '[' without ']' around an IPv6 host"),
        ("db.internal:5432", NO_SCHEME),
        ("postgres:s3cret@db/orders", "malformed database URL: postgres: without // after it"),
        ("postgresql://u:s3cret@db/orders?sslmod=require", f"the database URL {UNKNOWN}"),
        ("dbname=orders sslmod=require", f"the connection string {UNKNOWN}"),
        (
            "dbname=orders password='s3cret",
            "malformed connection string: the quoted value of password has no closing quote",
        ),
        (
            "dbname=orders password=s3 cret",
            "malformed connection string: a word without '=' after the value of password",
        ),
        ("dbname=orders =s3cret", "malformed connection string: '=' without a parameter name"),
        ("postgresql://u:s3cret@db/orders?sslmode", BAD_QUERY),
        ("postgresql://u:s3cret@db/orders?application_name=%zz", BAD_QUERY),
        (
            "postgresql://u:s3cret%FF@db/orders",
            "malformed database URL: the password is not UTF-8 once percent-decoded",
        ),
    ],
)
def test_unusable_connection_strings_are_usage_errors_that_describe_the_part(raw: str | None, message: str) -> None:
    """Exit 2 at once; the message names the problem and shows nothing of the input but a known name."""
    error = refusal(raw)
    assert error.message == message
    assert "s3cret" not in error.message + (error.hint or "")


@pytest.mark.parametrize(
    ("raw", "part"),
    [
        ("postgresql://u:pa%00ss@db/orders", "the password"),
        ("postgresql://u%00x:pass@db/orders", "the user"),
        ("postgresql://u:pass@db/ord%00ers", "the database name"),
        ("postgresql://u:pass@db/ord\x00ers", "the database name"),
        ("postgresql://u:pass@db/orders?application_name=a%00b", "application_name"),
        ("postgresql://u:pass@db/orders?application_name=a\x00b", "application_name"),
        ("dbname=orders password='pa\x00ss'", "the password"),
        ("postgresql://u:pass@db/ord\udcffers", "the database name"),
    ],
)
def test_a_nul_anywhere_is_refused_naming_the_part(raw: str, part: str) -> None:
    """libpq cannot take a NUL: exit 2 naming where it is, not a crash."""
    where = "the connection string" if raw.startswith("dbname") else "the database URL"
    what = "bytes that are not UTF-8" if "\udcff" in raw else "a NUL character"
    assert refusal(raw).message == f"{where} holds {what} in {part}"


@pytest.mark.parametrize(
    "raw",
    [
        "hunter2-secret",  # a DATABASE_URL_FILE holding only the password
        "hunter2-secret=",  # ... a base64 one
        '{"username": "app", "password": "hunter2-secret", "host": "db"}',  # a JSON secret
        "postgres:hunter2-secret@db/orders",
        "postgresql://app:hunter2-secret@db:port/orders",
        "postgresql://app:hunter2 secret@db/orders",
        "postgresql://app@db/orders?password=hunter2&secret=x",
        "dbname=orders password=hunter2 secret=x",
        "dbname=orders password=hunter2 secret",
        "host=db password='hunter2 secret",
        "dbname=x hunter2secret",
        "Hunter2Secret://x",
        "x" * 100 + "://hunter2secret",
    ],
)
def test_a_refusal_never_echoes_the_input(raw: str) -> None:
    """Whatever went wrong, nothing of the secret shows in the message or the hint."""
    error = refusal(raw)
    for fragment in ("hunter2", "secret"):
        assert fragment not in error.message.lower() + (error.hint or "").lower()


def test_a_huge_input_is_refused_quickly_in_a_short_message() -> None:
    """223 KB of a secret (a file of something else) is described in one short line."""
    started = time.monotonic()
    error = refusal("A" * 223_000 + "=")
    assert time.monotonic() - started < 5  # generous: linear work, milliseconds in practice
    assert len(error.message) < 200


@pytest.mark.parametrize("char", ["@", "?", "#", "\\", "$", "%", "/", " ", "[", "]"])
def test_a_raw_special_character_in_the_password_is_refused_without_showing_any_of_it(char: str) -> None:
    """The password must be percent-encoded; the refusal names what to do, and nothing of the password."""
    password = f"Pa{char}ssw0rd-long"
    error = refusal(f"postgresql://app:{password}@127.0.0.1:5432/orders")
    assert "percent-encode" in (error.hint or "")
    for fragment in ("Pa", "ssw0rd", password):
        assert fragment not in error.message + (error.hint or "")


def test_an_upper_case_keyword_is_refused_with_a_hint() -> None:
    """libpq's names are case-sensitive; the hint says which one was meant."""
    error = refusal("postgresql://u@db/orders?SSLMODE=require")
    assert (error.message, error.hint) == (
        "the database URL names an unknown parameter 'SSLMODE', not one of libpq's connection parameters",
        "libpq's parameter names are lower case: sslmode",
    )


# --- properties: any password, any characters -----------------------------------------------


@given(password=PASSWORDS, sslpassword=PASSWORDS)
def test_no_rendering_of_a_url_depends_on_its_secrets(password: str, sslpassword: str) -> None:
    """display() and repr() are the same whatever the secrets, so no spelling of them can show."""
    url = parse(f"postgresql://app:{quote(password, safe='')}@db:5432/orders?sslpassword={quote(sslpassword)}")
    other = parse("postgresql://app:other@db:5432/orders?sslpassword=other")
    assert (url.password, url.query) == (password, (("sslpassword", sslpassword),))
    assert (url.display(), repr(url)) == (other.display(), repr(other))


@given(password=PASSWORDS)
def test_a_password_quoted_into_a_libpq_string_is_read_back_and_never_shown(password: str) -> None:
    """libpq's quoting carries any password; the value renders the same as with any other."""
    url = parse(f"host=db port=5432 dbname=orders user=app password={libpq_quoted(password)}")
    assert url == DatabaseUrl("app", password, "db", 5432, "orders")
    assert (url.display(), repr(url)) == ("postgresql://app:***@db:5432/orders", repr(url._replace(password="x")))


@given(
    user=st.text(CHARACTERS, max_size=8),
    password=PASSWORDS,
    host=st.sampled_from(["db", "10.0.0.1", "::1", None]),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    database=st.text(CHARACTERS, min_size=1, max_size=8),
    options=st.lists(st.tuples(st.sampled_from(["sslmode", "options", "sslpassword", "host"]), PASSWORDS), max_size=3),
)
def test_parse_render_parse_is_stable(
    user: str, password: str, host: str | None, port: int | None, database: str, options: list[tuple[str, str]]
) -> None:
    """A value rendered with its secrets parses back to itself."""
    first = parse(DatabaseUrl(user or None, password, host, port, database, tuple(options)).render(reveal_secrets=True))
    assert parse(first.render(reveal_secrets=True)) == first


@given(password=PASSWORDS, broken=st.sampled_from(["db:port/orders", "db/orders?sslmod=x", "db", "[::1/x", "db/a%00"]))
def test_a_refusal_does_not_depend_on_the_password(password: str, broken: str) -> None:
    """A URL refused for another part says the same whatever its password."""
    error = refusal(f"postgresql://app:{quote(password, safe='')}@{broken}")
    other = refusal(f"postgresql://app:other@{broken}")
    assert (error.message, error.hint) == (other.message, other.hint)


@given(password=PASSWORDS)
def test_a_nul_in_the_password_is_refused_without_showing_it(password: str) -> None:
    """%00 or a raw NUL inside any password: the same one-line refusal, whatever the rest of it."""
    by_url = refusal(f"postgresql://app:{quote(password, safe='')}%00@db/orders")
    by_libpq = refusal(f"dbname=orders password={libpq_quoted(password + chr(0))}")
    assert (by_url.message, by_libpq.message) == (
        "the database URL holds a NUL character in the password",
        "the connection string holds a NUL character in the password",
    )

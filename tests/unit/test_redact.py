"""Masking of connection strings and known secrets in text (core/redact.py), in linear time."""

from __future__ import annotations

import time
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from migrator.core.redact import MASK, Redactor, mask_url, password_of, secret_forms, secrets_in


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("postgresql://user:pass@host/db", "postgresql://user:***@host/db"),
        ("postgresql://user:p%40ss%2Fw%3Ard@host:5432/db", "postgresql://user:***@host:5432/db"),
        ("postgresql://u:p@ss:w/rd@host:5432/db", "postgresql://u:***@host:5432/db"),
        ("postgresql://u:p%ss#w?rd@host/db", "postgresql://u:***@host/db"),
        ("postgresql://u:pa\\ss$word@host/db", "postgresql://u:***@host/db"),
        ("postgresql://:pw@host/db", "postgresql://:***@host/db"),
        ("postgresql://u:@host/db", "postgresql://u:***@host/db"),
    ],
)
def test_mask_url_hides_everything_between_the_user_and_the_last_at(raw: str, masked: str) -> None:
    """The password is masked whole, even when it holds raw @ : / % # ? \\ $ characters."""
    assert mask_url(raw) == masked


@pytest.mark.parametrize(
    "raw",
    ["postgresql://user@host/db", "postgresql://host:5432/db", "postgresql:///db", "not a url at all", ""],
)
def test_mask_url_leaves_a_url_without_a_password_unchanged(raw: str) -> None:
    """Without a password in the userinfo there is nothing to mask."""
    assert mask_url(raw) == raw


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        (
            "postgresql://host/db?sslmode=require&password=hunter2",
            "postgresql://host/db?sslmode=require&password=***",
        ),
        ("postgresql://u:pw@host/db?PASSWORD=hunter2&x=1", "postgresql://u:***@host/db?PASSWORD=***&x=1"),
        ("host/db?pwd=hunter2", "host/db?pwd=***"),
        ("?pass=hunter2", "?pass=***"),
    ],
)
def test_mask_url_hides_a_password_in_the_query(raw: str, masked: str) -> None:
    """A password passed as a query parameter is masked, with or without a scheme."""
    assert mask_url(raw) == masked


def test_mask_url_masks_a_url_inside_a_sentence_up_to_the_closing_quote() -> None:
    """The URL ends at whitespace or a quote, so the text around it survives."""
    assert mask_url("connecting to 'postgresql://u:secret@db/app' failed") == (
        "connecting to 'postgresql://u:***@db/app' failed"
    )


def test_mask_url_hides_a_password_holding_a_quote() -> None:
    """A quote inside the password does not cut the URL short and leak the password."""
    assert mask_url("postgresql://u:it's@host:5432/db") == "postgresql://u:***@host:5432/db"


@pytest.mark.parametrize(
    ("raw", "password"),
    [
        ("postgresql://user:pass@host/db", "pass"),
        ("postgresql://user:p%40ss@host/db", "p%40ss"),
        ("postgresql://u:p@ss:w/rd@host:5432/db", "p@ss:w/rd"),
        ("postgresql://u:pa\\ss$word@host/db", "pa\\ss$word"),
        ("DATABASE_URL=postgresql://u:pw@host/db is set", "pw"),
        ("postgresql://user@host/db", None),
        ("postgresql://u:@host/db", None),
        ("postgresql://host/db", None),
        ("user:pass@host", None),
        ("", None),
        (None, None),
    ],
)
def test_password_of_returns_the_password_as_written(raw: str | None, password: str | None) -> None:
    """The userinfo password up to the last @, not decoded; None when there is none."""
    assert password_of(raw) == password


def test_password_of_finds_a_password_holding_a_quote() -> None:
    """A quote inside the password does not hide it from the redactor."""
    assert password_of("postgresql://u:it's@host/db") == "it's"


def test_secret_forms_lists_every_spelling_longest_first() -> None:
    """Raw, percent-decoded, percent-encoded (both ways) and repr-escaped forms, longest first."""
    assert secret_forms("p@ss w\\rd") == ["p%40ss%20w%5Crd", "p%40ss+w%5Crd", "p@ss w\\\\rd", "p@ss w\\rd"]


def test_secret_forms_decodes_a_percent_encoded_password() -> None:
    """A password taken from a URL as written also yields the decoded form a driver would print."""
    assert secret_forms("p%40ss") == ["p%2540ss", "p%40ss", "p@ss"]


@pytest.mark.parametrize("password", ["", "abc"])
def test_secret_forms_drops_forms_shorter_than_four_characters(password: str) -> None:
    """Forms under four characters would mask ordinary words, so there are none."""
    assert secret_forms(password) == []


def test_redactor_masks_the_secret_in_a_traceback_line() -> None:
    """A known secret is masked wherever it appears, not only inside URLs."""
    redact = Redactor(["hunter22"])
    assert redact('  File "x.py", line 3: FATAL: bad password "hunter22" for user app') == (
        '  File "x.py", line 3: FATAL: bad password "***" for user app'
    )


def test_redactor_masks_the_secret_with_its_backslash_doubled_by_repr() -> None:
    """repr() doubles backslashes; that spelling is masked too."""
    secret = "pa\\ss$word"
    redact = Redactor([secret])
    assert redact(repr({"password": secret})) == "{'password': '***'}"
    assert redact(f"OperationalError({secret!r})") == "OperationalError('***')"


def test_redactor_masks_the_decoded_and_encoded_forms_of_a_url_password() -> None:
    """The password as written in the URL and its decoded form are both masked."""
    redact = Redactor(["p%40ss%2Fword"])
    assert redact("sent p@ss/word; url had p%40ss%2Fword") == "sent ***; url had ***"


def test_redactor_masks_the_repr_of_a_decoded_url_password() -> None:
    """A backslash written %5C in the URL is masked after decoding and repr() doubling."""
    redact = Redactor(["p%5Cssword"])
    assert redact(repr("p\\ssword")) == "'***'"


def test_redactor_masks_every_url_by_shape_without_knowing_the_secret() -> None:
    """URLs with a password are masked even when the secret was never added."""
    redact = Redactor()
    assert redact("tried postgresql://u:hunter2@db/app then 'mysql://a:b@c/d' and https://example.com/x") == (
        "tried postgresql://u:***@db/app then 'mysql://a:***@c/d' and https://example.com/x"
    )


def test_redactor_masks_a_query_password_in_free_text() -> None:
    """A password query parameter is masked wherever it appears."""
    assert Redactor()("dsn=db?sslmode=require&password=hunter2 failed") == "dsn=db?sslmode=require&password=*** failed"


def test_redactor_masks_a_quoted_password_learnt_from_the_url_in_running_text() -> None:
    """In quoted text a URL ends at the quote, so a password holding one is masked as a known secret."""
    url = "postgresql://u:it's-secret@db/app"
    redact = Redactor([password_of(url) or ""])
    assert redact(f"dsn='{url}' refused") == "dsn='postgresql://u:***@db/app' refused"


def test_redactor_with_a_short_secret_leaves_ordinary_text_alone() -> None:
    """A secret under four characters masks nothing but URLs, so ordinary words survive."""
    redact = Redactor(["abc", "pw"])
    assert redact("abc def abcdef pwd postgresql://u:pw@h/db") == "abc def abcdef pwd postgresql://u:***@h/db"


def test_redactor_ignores_a_missing_secret() -> None:
    """add(None) and add('') are no-ops, so callers can pass password_of() directly."""
    redact = Redactor()
    redact.add(None)
    redact.add("")
    assert redact("nothing secret here") == "nothing secret here"


def test_redactor_masks_secrets_added_later() -> None:
    """Secrets learnt after construction are masked from then on."""
    redact = Redactor(["first-secret"])
    redact.add("second-secret")
    assert redact("first-secret second-secret") == f"{MASK} {MASK}"


# --- every secret-bearing parameter, whole -----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("postgresql://u@h/db?password=ab%20cdSECRET%26x&a=1", "postgresql://u@h/db?password=***&a=1"),
        ("postgresql://u@h/db?sslmode=require&sslpassword=KEYSECRET", "postgresql://u@h/db?sslmode=require&sslpassword=***"),
        ("postgresql://u@h/db?oauth_client_secret=TOKEN", "postgresql://u@h/db?oauth_client_secret=***"),
        ("host=h password=SECRET user=u", "host=h password=*** user=u"),
        ("host=h password='SE CR\\'ET' user=u", "host=h password=*** user=u"),
        ("host=h sslpassword=SE\\ CRET user=u", "host=h sslpassword=*** user=u"),
        ("host=h password='unterminated SECRET", "host=h password=***"),
    ],
)  # fmt: skip
def test_mask_url_hides_every_secret_parameter_whole(raw: str, masked: str) -> None:
    """password, sslpassword and oauth_client_secret, in a URL's query or libpq's key=value, quoted or not."""
    assert mask_url(raw) == masked
    assert Redactor()(raw) == masked


@pytest.mark.parametrize(
    ("raw", "secrets"),
    [
        ("postgresql://u:pw%40x@h/db?sslpassword=KEY%20PW", ["pw%40x", "KEY%20PW"]),
        ("postgresql://u@h/db?password=QUERYPW", ["QUERYPW"]),
        ("host=h password='it\\'s' sslpassword=key dbname=d", ["it's", "key"]),
        ("host=h password=broken 'quote", ["broken"]),
        ("not a connection string", []),
    ],
)
def test_secrets_in_finds_every_secret_as_written(raw: str, secrets: list[str]) -> None:
    """The password first, then the other secret parameters; a libpq string's values decoded."""
    assert secrets_in(raw) == secrets
    assert password_of(raw) == (secrets[0] if secrets else None)


def test_secret_forms_include_libpqs_and_jsons_spellings() -> None:
    """A quote escaped by libpq's quoting, a non-ASCII character escaped by JSON."""
    forms = secret_forms("it's-é")
    assert "it\\'s-é" in forms and "it's-\\u00e9" in forms


# --- linear time, never an exception -----------------------------------------------------------

BIG = 1_000_000


@pytest.mark.parametrize(
    "text",
    [
        "x" * BIG,  # a scheme-shaped run with no ://, which the old scheme regex rescanned from every letter
        "a://" * (BIG // 4),
        "postgresql://u:" + "p" * BIG + "@h/db",
        "password=" * (BIG // 9),
        "?password='" * (BIG // 11),
        "password='" + "\\" * BIG,
        "@:" * (BIG // 2),
    ],
    ids=["letters", "schemes", "long-password", "keys", "quotes", "backslashes", "at-colon"],
)
def test_redaction_of_a_megabyte_is_linear(text: str) -> None:
    """A megabyte of the worst shapes is masked in well under a second (the bound here is generous)."""
    redact = Redactor(["p" * 100_000, "x" * 50_000 + "y", "secret-word"])
    started = time.monotonic()
    redact(text)
    mask_url(text)
    password_of(text)
    assert time.monotonic() - started < 10


@given(st.text())
def test_the_masker_never_raises_and_masks_every_known_secret(text: str) -> None:
    """Any text at all; a known secret put into it never comes out."""
    redact = Redactor(["hunter2-secret"])
    assert "hunter2-secret" not in redact(text + "hunter2-secret" + text)
    mask_url(text)
    password_of(text)


def assume_absent(forms: set[str], *texts: str) -> None:
    """A form of the password that is also an ordinary part of the text cannot be told apart."""
    assume(not any(form in text for form in forms for text in texts))


@given(password=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1))
def test_no_spelling_of_any_password_survives_the_redactor(password: str) -> None:
    """Text holding the URL, the raw password and its spellings: none of them comes out, as cli.py seeds it."""
    url = f"postgresql://app:{quote(password, safe='')}@db:5432/orders?sslmode=require"
    forms = {password, quote(password, safe=""), quote_plus(password, safe="")}
    text = f"connecting to {url} failed: FATAL: password {password!r} refused (sent {quote_plus(password)})"
    around = text.replace(url, "").replace(repr(password), "").replace(quote_plus(password), "")
    assume_absent(forms, around, "postgresql://app:***@db:5432/orders?sslmode=require")
    redact = Redactor([password_of(url) or ""])
    masked = redact(text)
    assert "postgresql://app:***@db:5432/orders?sslmode=require" in masked
    if len(password) >= 4:  # shorter secrets are masked in URLs only (see secret_forms)
        assert not any(form in masked for form in forms)

"""Short-lived passwords: a command run before every connection attempt (RDS IAM, Cloud SQL tokens).

``MIGRATOR_PASSWORD_COMMAND`` (or ``--password-command``) runs with ``sh -c``, as the backup command
does, with migrator's environment; the first line it prints is the
password for that one attempt. What it prints is a secret from the moment it is read: added to the
run's Redactor before anything can show it, never logged. A command that cannot run is exit 2
(retrying cannot fix it); one that fails or times out is exit 3 (the token service may come back).
"""

from __future__ import annotations

from collections.abc import Callable

from migrator.core import redact, settings, signals, urls
from migrator.core.errors import ConfigError, DatabaseUnavailable

COMMAND_TIMEOUT = 30.0  # seconds: a token is minted in well under one
_STDERR_SHOWN = 500  # characters of the command's stderr in the error, masked

Password = Callable[[], str]  # a fresh password for one connection attempt


def command_password(command: str, add_secret: Callable[[str], None]) -> Password:
    """A Password that runs ``command`` each time; every password it yields is passed to ``add_secret`` first."""
    if not command.strip():
        raise ConfigError("MIGRATOR_PASSWORD_COMMAND is empty", hint="name the command that prints the password")

    def fetch() -> str:
        return _run(command, add_secret)

    return fetch


_CANNOT_RUN = (126, 127)  # the shell's codes for "found but not executable" and "not found"


def _run(command: str, add_secret: Callable[[str], None]) -> str:
    import subprocess  # only a run with a password command pays for it

    name = command.split(maxsplit=1)[0]
    try:
        done = subprocess.run(
            command,
            shell=True,  # as the backup command: pipes and quotes as people write them
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
            preexec_fn=signals.unblocked_child_signals,  # SIGTERM/SIGINT are blocked in migrator; not in the child
        )
    except subprocess.TimeoutExpired:
        raise DatabaseUnavailable(
            f"the password command {name!r} did not finish within {COMMAND_TIMEOUT:g}s",
            hint="check what it calls (the token service, its credentials); the run may be retried",
        ) from None
    password = done.stdout.split("\n", 1)[0].strip("\r")
    if password:
        add_secret(password)  # before any error below can quote the output
    if done.returncode in _CANNOT_RUN:
        raise ConfigError(
            f"the password command {name!r} cannot be run: {_stderr(done.stderr, password)}",
            hint="install it or fix MIGRATOR_PASSWORD_COMMAND (run with sh -c, as the backup command)",
        )
    if done.returncode != 0:
        raise DatabaseUnavailable(
            f"the password command {name!r} exited with {done.returncode}: {_stderr(done.stderr, password)}",
            hint="check what it calls (the token service, its credentials); the run may be retried",
        )
    if not password:
        raise ConfigError(
            f"the password command {name!r} printed no password on its first line",
            hint="make it print the password (and only that) on its first line",
        )
    return password


def _stderr(text: str, password: str) -> str:
    """The command's stderr for the error, its own password removed (the run's Redactor masks the rest)."""
    shown = " ".join(text.split())[:_STDERR_SHOWN]
    if password:
        shown = shown.replace(password, redact.MASK)
    return shown or "(nothing on stderr)"


class Source:
    """The password for each connection attempt: the command's fresh one, or the one in a
    DATABASE_URL_FILE read again (a rotated secret), or None for the URL's own."""

    def __init__(
        self, password: Password | None, url_file: tuple[str, str, str] | None, add_secret: Callable[[str], None]
    ) -> None:
        self.password, self.url_file, self.add_secret = password, url_file, add_secret

    @property
    def changes(self) -> bool:
        """Whether an attempt may get another password than the URL's."""
        return self.password is not None or self.url_file is not None

    def now(self) -> str | None:
        if self.password is not None:
            return self.password()
        if self.url_file is None:
            return None
        raw = settings.read_url_file(*self.url_file)
        for secret in redact.secrets_in(raw):
            self.add_secret(secret)
        return urls.parse(raw).password

    def for_attempt(self, url: urls.DatabaseUrl) -> urls.DatabaseUrl:
        password = self.now()
        return url if password is None else url._replace(password=password)


NO_SOURCE = Source(None, None, lambda _secret: None)

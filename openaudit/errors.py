"""Error vocabulary and exit codes (DESIGN §7).

Sources raise these typed errors; the API turns per-model errors into skipped/incomplete subjects
and the CLI turns the rest into exit codes. Messages never carry tokens.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # audit complete, policy passed or none
    POLICY_FAILED = 1  # audit complete, policy failed
    USAGE = 2  # bad flag, invalid repo id, invalid criteria/policy/store file
    INCOMPLETE = 3  # network, rate limit, not found, gated without access; --strict: any skipped


class OpenAuditError(Exception):
    """Base class. `exit_code` is what the CLI exits with when this ends a run."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(OpenAuditError):
    """The user asked for something invalid (exit 2)."""


class InvalidRepoId(UsageError):
    pass


class ConfigFileError(UsageError):
    """A criteria, policy, store or baseline file is invalid. The message names the file and line."""

    def __init__(self, path: str, message: str, line: int | None = None, field: str | None = None):
        self.path = path
        self.line = line
        self.field = field
        where = f"{path}:{line}" if line else path
        what = f" (field '{field}')" if field else ""
        super().__init__(f"{where}: {message}{what}")


class FetchError(OpenAuditError):
    """A repo could not be fetched. `status` is the subject status it leads to, `kind` the reason code."""

    exit_code = ExitCode.INCOMPLETE
    kind = "error"
    status = "incomplete"

    def __init__(self, repo_id: str, message: str):
        self.repo_id = repo_id
        super().__init__(message)


class RepoNotFound(FetchError):
    kind = "not-found"
    status = "skipped"


class NotRecorded(RepoNotFound):
    """A snapshot store has no entry for the repo. That says nothing of the Hub: a base or dataset a
    replayed model links to is then "not checked", never "not found" (only the store's record that
    the Hub answered 404 when it was taken, or the Hub itself, says that)."""

    kind = "not-recorded"


class RevisionNotFound(FetchError):
    kind = "revision-not-found"
    status = "skipped"


class AccessDenied(FetchError):
    """Private, disabled, or gated without access to the metadata itself."""

    kind = "access-denied"
    status = "skipped"


class RateLimited(FetchError):
    kind = "rate-limited"


class NetworkError(FetchError):
    kind = "network"


class LimitReached(FetchError):
    """A bound of the run stopped the read: an answer over its size cap, a request or the run past its
    deadline (--timeout), the listing's page cap (issue 26). Incomplete: the rest of the run goes on."""

    kind = "limit"


class Refused(FetchError):
    """The server's answer was refused: a redirect loop, a redirect or a next page on another origin
    (the token goes to the configured endpoint only), a listing item that is not a valid id."""

    kind = "refused"


class OfflineMiss(FetchError):
    """--offline and nothing cached or stored for this repo."""

    kind = "offline"
    status = "skipped"

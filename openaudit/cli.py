"""The command line: parse, call openaudit.api, render, exit. No audit logic lives here.

Exit codes (DESIGN §7): 0 complete and policy passed (or none), 1 policy failed, 2 usage or input
error, 3 incomplete. Machine formats go to stdout or --output; progress and logs go to stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand

from openaudit import __version__
from openaudit.errors import ExitCode, OpenAuditError, UsageError
from openaudit.sources.clock import DEFAULT_RUN_TIMEOUT, run_deadline
from openaudit.textsafe import line

if TYPE_CHECKING:  # `--help`, a usage error or `criteria list` need none of the audit machinery (~0.3 s)
    from openaudit.outputs import Output
    from openaudit.report import Report
    from openaudit.run.options import RunOptions
    from openaudit.run.pipeline import RunStats
    from openaudit.snapshot import RepoSnapshot

T = TypeVar("T")

# A crash's pretty traceback never shows local variables: they hold the token (typer >= 0.19 showed it
# three times). Set on every Typer, since a sub-app's settings are its own.
app = typer.Typer(add_completion=True, no_args_is_help=True, rich_markup_mode=None,  # help: _main's docstring
                  pretty_exceptions_show_locals=False)
criteria_app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False,
                           help="The profiles and criteria, from the YAML.")
app.add_typer(criteria_app, name="criteria")

ProfileOpt = Annotated[list[str] | None, typer.Option("--profile", "-p", help="Profile id or YAML file (repeatable). "
                                                      "Default: openaudit plus every framework profile.")]
FormatOpt = Annotated[list[str] | None, typer.Option("--format", "-f", help="Output format (repeatable): terminal "
                                                     "(default), json, html, site (-o DIR), md, badge, sarif, junit, "
                                                     "github, mof-yaml.")]
OutputOpt = Annotated[list[str] | None, typer.Option("--output", "-o", metavar="FILE", help="Where the --format "
                                                     "before it goes (repeatable): a file (replaced atomically, its "
                                                     "mode kept), a device or pipe (written to), '-' (stdout), a "
                                                     "folder for site and badge. Without a --format before it, the "
                                                     "extension names the format (.json .html .md .sarif .xml .svg). "
                                                     "Formats without one go to stdout.")]
DetailsOpt = Annotated[bool, typer.Option("--details", "-v", help="The terminal view with the evidence behind "
                                          "each verdict, the licence, flags and frameworks of each model.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Let --format site (or badge) replace a non-empty folder "
                                        "that openaudit did not write; its contents are deleted.")]
SnapshotsOpt = Annotated[Path | None, typer.Option("--snapshots", help="Read a snapshot store instead of the Hub.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Exit 3 when any model is skipped; MOF strict licences.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
TokenOpt = Annotated[str | None, typer.Option("--token", help="Hub token (default: HF_TOKEN or the stored login). "
                                              "Never printed, but on the command line every user of the machine "
                                              "can read it (ps, /proc): prefer HF_TOKEN or --token-file.",
                                              show_default=False)]
TokenFileOpt = Annotated[str | None, typer.Option("--token-file", help="Read the Hub token from the first line of "
                                                  "this file ('-': standard input).", show_default=False)]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="No request at all: audit from the cache "
                                          "(or --snapshots); models not cached are skipped.")]
CacheDirOpt = Annotated[Path | None, typer.Option("--cache-dir", help="Snapshot cache (a snapshot store), shared "
                                                  "by audit and org. Default: the user cache, openaudit/snapshots.")]
NoExternalOpt = Annotated[bool, typer.Option("--no-external", help="Do not follow the card's links to code, papers "
                                             "and data outside the Hub (GitHub, arXiv, Zenodo); they are "
                                             "judged from what the card says.")]
RefreshOpt = Annotated[bool, typer.Option("--refresh", help="Ignore cached snapshots; fetch again.")]
ProcessesOpt = Annotated[int | None, typer.Option("--processes", help="Audit worker processes (default: one per "
                                                  "core, at most 4, for an organisation or 16 models or more; "
                                                  "0: audit in one thread).")]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Policy file (.openaudit.yaml or pyproject.toml). "
                                                "Default: .openaudit.yaml, .openaudit.yml or [tool.openaudit] "
                                                "in pyproject.toml in the current directory.")]
NoPolicyOpt = Annotated[bool, typer.Option("--no-policy", help="Ignore a policy file in the current directory.")]
BaselineOpt = Annotated[Path | None, typer.Option("--baseline", help="Earlier JSON report: fail only on what is new "
                                                  "or worse (without a policy: on any regression).")]
IncludeOpt = Annotated[list[str] | None, typer.Option("--include", help="Only models whose id or name matches "
                                                      "GLOB (repeatable).")]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude", help="Leave out models matching GLOB "
                                                      "(repeatable).")]
TimeoutOpt = Annotated[float, typer.Option(
    "--timeout", help="Deadline of the whole run, in seconds (0: none); what is not read by then is "
    "reported incomplete. Each request also has its own deadline.")]
MaxRequestsOpt = Annotated[int | None, typer.Option("--max-requests", help="Request budget; models left "
                                                    "unfetched when it is spent are reported incomplete.")]


def _token(token: str | None, token_file: str | None) -> str | None:
    """The token given with --token or read with --token-file (not both); None: HF_TOKEN or the login."""
    if token_file is None:
        return token
    if token is not None:
        raise UsageError("give --token or --token-file, not both")
    from openaudit.userfiles import read_token_file

    return read_token_file(token_file)


def _err(msg: str) -> None:
    # Repository strings are escaped where they are put in a message (openaudit.textsafe.line); here,
    # each line's controls are escaped too, and no line starts with what GitHub Actions reads as a
    # workflow command ('::').
    parts = [line(p) for p in msg.split("\n")]
    text = "\n".join(f"openaudit: {p}" if p.lstrip().startswith("::") else p for p in parts[1:])
    typer.echo(f"openaudit: {parts[0]}" + (f"\n{text}" if len(parts) > 1 else ""), err=True)


def _store_folder(path: Path) -> None:
    """`snapshot -o STORE`: a folder that can be written, checked before the first request."""
    from openaudit.outputs import CannotWrite, check_folder

    if path.exists() and not path.is_dir():
        raise CannotWrite(path, "not a folder (a snapshot store is one)")
    check_folder(path)


def _hub_offline() -> bool:
    """HF_HUB_OFFLINE=1 (huggingface_hub's own switch) means --offline."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _targets(targets: list[str]) -> list[str]:
    """What the user typed, as ids: a Hub address (https://huggingface.co/owner/name, hf.co/...) becomes
    owner/name[@revision]; a bare owner, which `audit` cannot take, gets the command that can."""
    from openaudit.repoid import from_hub_url, shown, validate_owner

    out = []
    for t in targets:
        ref = from_hub_url(t)
        if ref == t and "/" not in t and "@" not in t and t not in (".", "..") and not Path(t).exists():
            try:
                owner = validate_owner(t)
            except UsageError:
                owner = None
            if owner:
                raise UsageError(f"'{shown(t)}' is not a model id (owner/name); to audit every model of "
                                 f"the organisation or user '{shown(t)}': openaudit org {shown(t)}")
        out.append(ref)
    return out


# What each value is, as `--help` shows it (typer would show the Python type, `<list[Path]>`).
METAVARS = {"profile": "PROFILE", "format": "FORMAT", "output": "FILE", "snapshots": "STORE", "token": "TOKEN",
            "cache_dir": "DIR", "processes": "N", "policy": "FILE", "baseline": "REPORT.json", "include": "GLOB",
            "exclude": "GLOB", "max_requests": "N", "jobs": "N", "depth": "[metadata|card|full]", "since": "DATE",
            "limit": "N", "targets": "MODEL", "files": "REPORT.json", "old": "OLD.json", "new": "NEW.json",
            "criterion": "ID", "token_file": "FILE", "timeout": "SECONDS"}


class _Command(TyperCommand):
    """Records the order of --format and --output on the command line (click keeps each list, not how
    they interleave): `-o` binds to the `-f` before it. Gives every value a name a person reads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for p in self.params:
            if getattr(p, "metavar", None) is None and p.name in METAVARS:
                p.metavar = METAVARS[p.name]
            if getattr(p, "param_type_name", "") == "argument" and hasattr(p, "display_type"):
                p.display_type = lambda ctx: ""  # its help says what it is: no "<list[str]>"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        with contextlib.suppress(Exception):  # a bad command line is reported by click's own parse below
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
            ctx.meta["openaudit.order"] = [p.name for p in order if p.name in ("format", "output")]
        return super().parse_args(ctx, args)


def _outputs(ctx: typer.Context, formats: list[str] | None, outputs: list[str] | None, force: bool = False,
             default: str = "terminal") -> list[Output]:
    """Every output checked before the first request (openaudit.outputs): exit 2 naming what is wrong."""
    from openaudit.outputs import pair, plan

    return plan(pair(formats, outputs, ctx.meta.get("openaudit.order"), default), force)


def _prerender(pairs: list[Output]) -> tuple[str, ...]:
    """The formats asked for whose per-model parts the audit workers render (issue 23)."""
    return tuple(f for f in ("html", "md", "mof-yaml", "sarif", "junit", "github", "site")
                 if any(o.fmt == f for o in pairs))


def emit(report: Report, pairs: list[tuple[str, Path | str | None]] | list[Output], details: bool = False) -> Report:
    """Write the report in every format asked for (see openaudit.outputs.write). When a renderer fails,
    the models it fails on alone are made `incomplete` with the reason and every output is rendered
    again (openaudit.render.without_render_failures); the report written is returned."""
    from openaudit.outputs import Output, plan, write
    from openaudit.render import without_render_failures

    planned = [p for p in pairs if isinstance(p, Output)]
    if len(planned) != len(pairs):
        planned = plan([(f, None if o is None else str(o)) for f, o in pairs])  # type: ignore[misc]
    try:
        write(report, planned, details)
        return report
    except OpenAuditError:
        raise
    except Exception:
        fixed = without_render_failures(report, [o.fmt for o in planned])
        if fixed is None:
            raise
    write(fixed, planned, details)
    return fixed


def summarize(report: Report, outputs: list[Output]) -> None:
    """With --format github on GitHub Actions: append the Markdown step summary, also when all passed."""
    if any(o.fmt == "github" for o in outputs) and os.environ.get("GITHUB_STEP_SUMMARY"):
        from openaudit.render.github import append_step_summary

        append_step_summary(Path(os.environ["GITHUB_STEP_SUMMARY"]), report)


def _policy(path: Path | None, no_policy: bool, baseline: Path | None, today: date, quiet: bool) -> tuple[Any, Any]:
    """The policy in force (given, discovered in the working directory, or none) and the baseline."""
    from openaudit import policy as pol

    rules, base = pol.resolve(path, no_policy, baseline, Path.cwd(), today)
    if rules is not None and not quiet:
        _err(f"policy: {rules.file}")
    return rules, base


def _conclude(report: Report, pairs: list[Output], rules: Any, base: Any, today: date,
              strict: bool, details: bool = False) -> Report:
    """Apply the policy, then write every output and the CI step summary: the same for audit and org."""
    from openaudit import policy as pol

    report = pol.evaluate(report, rules, today, base, strict)
    report = emit(report, pairs, details)
    summarize(report, pairs)
    _tell_policy(report, pairs)
    return report


def _tell_policy(report: Report, pairs: list[Output]) -> None:
    """A failed policy names each violation on stderr (a CI log says why it is red), unless a view
    on stdout that names them (terminal, github annotations, Markdown) has just said it."""
    p = report.policy
    if not p or (p.get("passed") and not p.get("strict_failed")):
        return
    if any(o.fmt in ("terminal", "github", "md") and o.kind == "stdout" for o in pairs):
        return
    from openaudit.render.terminal import policy_lines  # only now: rich and the terminal view cost ~10 ms

    said = [text.strip() for text in policy_lines(report, width=1000)]
    _err(said[0])
    for text in said[1:]:  # model ids and flag messages come from repositories: escaped for a log
        typer.echo(f"  {line(text)}", err=True)


@contextlib.contextmanager
def _progress_bar(first: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich bar on stderr (for a terminal only); yields `update(what, done, total)`.

    No refresh thread (auto_refresh=False): an organisation's audit workers are forked only while
    this process has a single thread (openaudit.run.workers); the bar is redrawn as progress comes, at
    most every 0.1 s, and at the end. Thread-safe: rich's Progress holds a lock.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True, auto_refresh=False) as bar:
        task = bar.add_task(first, total=None)
        drawn = [0.0]

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)
            if time.monotonic() - drawn[0] > 0.1 or done == total:
                drawn[0] = time.monotonic()
                bar.refresh()

        yield update


def _selection_note(stats: RunStats, since: str | None, max_requests: int | None) -> str:
    """What `audit` left out, and what many models (or a budget) cost: a filter that drops a model says so."""
    parts = []
    if stats.chosen < stats.given:
        parts.append(f"{stats.chosen} of {stats.given} models chosen by --include/--exclude/--limit")
    if stats.left_out_since:
        names = ", ".join(stats.left_out_since[:5]) + (" …" if len(stats.left_out_since) > 5 else "")
        parts.append(f"not created or modified since {since}, left out: {names}")
    if stats.requests is not None and (stats.given > 1 or max_requests is not None or stats.rate_limited
                                       or stats.external_rate_limited):
        budget = f" (budget {max_requests})" if max_requests is not None else ""
        parts.append(_requests_told(stats, budget))
    return "; ".join(parts)


def _cache_told(stats: RunStats) -> str:
    """The cache entries a run did not believe (openaudit.sources.cache: not sealed with this user's key)."""
    parts = [f"{n} {what}" for n, what in ((stats.cache_refetched, "entries read again from the Hub"),
                                           (stats.cache_unverified, "entries used unverified"),
                                           (stats.external_cache_refetched, "linked repositories read again"),
                                           (stats.external_cache_unverified, "linked repositories used unverified"))
             if n]
    return f" ({', '.join(parts)})" if parts else ""


def _requests_told(stats: RunStats, budget: str = "") -> str:
    """What a run asked of the Hub, and how many answers were 429s (each waited out, then retried)."""
    told = f"{stats.api_requests} API + {stats.file_requests} file requests{budget}"
    if stats.rate_limited:
        told += f", {stats.rate_limited} of them rate-limited (HTTP 429) and retried after the wait"
    if stats.external_requests:
        n = stats.external_requests
        told += f"; {n} request{'' if n == 1 else 's'} to hosts outside the Hub (linked code and papers)"
    return told


def _external_note(stats: RunStats) -> str | None:
    """One line when a host outside the Hub ran out of quota: what it cost and the two ways out."""
    hosts = stats.external_rate_limited
    if not hosts:
        return None
    which = ", ".join({"github": "GitHub", "gitlab": "GitLab", "arxiv": "arXiv", "zenodo": "Zenodo"}.get(h, h)
                      for h in hosts)
    token = ("set GITHUB_TOKEN (GitHub allows 60 requests an hour without one), or " if "github" in hosts
             and not os.environ.get("GITHUB_TOKEN") else "wait for the limit to reset, or ")
    return (f"{which}'s rate limit ran out: models whose links were not read are incomplete, not closed; "
            f"{token}run with --no-external to audit from the cards alone")


def _exit_code(report: Report, strict: bool) -> int:
    from openaudit.outcome import exit_code

    return int(exit_code(report, strict))


def _tell_outcome(report: Report, quiet: bool) -> None:
    from openaudit.outcome import incomplete_summary

    note = incomplete_summary(report) if not quiet else None
    if note:
        _err(note)


def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Every failure as one or two lines and its exit code: no traceback reaches a user (unless
    OPENAUDIT_DEBUG is set, for a bug report)."""
    try:
        return fn(*args, **kwargs)
    except OpenAuditError as e:
        _err(str(e))
        raise typer.Exit(int(e.exit_code)) from None
    except KeyboardInterrupt:
        _err("interrupted; no output was written")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        _stdout_gone()
        raise typer.Exit(141) from None  # the reader went away (`| head`), as a shell's SIGPIPE exit
    except Exception as e:
        if os.environ.get("OPENAUDIT_DEBUG") or type(e).__module__.startswith(("typer", "click")):
            raise  # typer.Exit and click's own errors are how a command ends
        _err(_unexpected(e))
        raise typer.Exit(int(ExitCode.USAGE)) from None


def _unexpected(e: Exception) -> str:
    from openaudit.repoid import shown

    if isinstance(e, OSError) and e.strerror:
        where = f"{shown(str(e.filename), 300)}: " if e.filename else ""
        return f"{where}{e.strerror}"
    return (f"unexpected error: {type(e).__name__}: {shown(str(e), 300)}\n"
            "  This is a bug in openaudit; please report it (OPENAUDIT_DEBUG=1 shows where it happened).")


def _stdout_gone() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@app.command(cls=_Command)
def audit(
    ctx: typer.Context,
    targets: Annotated[list[str], typer.Argument(help="owner/name, owner/name@revision, or a local model folder")],
    profile: ProfileOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    details: DetailsOpt = False,
    snapshots: SnapshotsOpt = None,
    offline: OfflineOpt = False,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    token: TokenOpt = None,
    token_file: TokenFileOpt = None,
    policy: PolicyOpt = None,
    no_policy: NoPolicyOpt = False,
    baseline: BaselineOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Models read and audited at once.")] = 4,
    depth: Annotated[str, typer.Option("--depth", help="metadata (the repository's metadata only), card "
                                       "(+ README), full (+ licence files, datasets, base models).")] = "full",
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    since: Annotated[str | None, typer.Option("--since", help="Only models created or modified after DATE "
                                              "(ISO, e.g. 2024-06-01); costs each one its metadata request.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most N models (in the order given).")] = None,
    max_requests: MaxRequestsOpt = None,
    cache_dir: CacheDirOpt = None,
    refresh: RefreshOpt = False,
    processes: ProcessesOpt = None,
    timeout: TimeoutOpt = DEFAULT_RUN_TIMEOUT,
    no_external: NoExternalOpt = False,
) -> None:
    """Audit models on the Hub (or in a snapshot store, or a local folder: what it declares as its base
    models and datasets is looked up on the Hub, or in the cache with --offline).

    \b
    Example:
      openaudit audit deepseek-ai/DeepSeek-R1 https://huggingface.co/mistralai/Mistral-7B-v0.1 -f html -o compare.html
    """
    from openaudit.run.options import RunOptions

    def go() -> Report:
        ids = _targets(targets)
        pairs = _outputs(ctx, format, output, force)
        today, rules, base = _start(timeout, policy, no_policy, baseline, quiet)
        opts = RunOptions(
            snapshots=snapshots, profiles=profile or (rules.profiles if rules else None),
            token=_token(token, token_file), strict=strict, jobs=jobs, depth=depth, include=include or (),
            exclude=exclude or (), since=since, limit=limit, max_requests=max_requests, cache_dir=cache_dir,
            refresh=refresh, offline=offline or _hub_offline(), processes=processes, external=not no_external,
            prerender=_prerender(pairs) if len(ids) > 1 else ())
        report, stats = _audit_models(ids, opts, len(targets), quiet)
        _tell_notes(_selection_note(stats, since, max_requests), _external_note(stats), quiet=quiet)
        return _finish(report, pairs, rules, base, today, strict, details, quiet)

    report = _run(go)
    raise typer.Exit(int(_exit_code(report, strict)))


def _start(timeout: float, policy: Path | None, no_policy: bool, baseline: Path | None,
           quiet: bool) -> tuple[date, Any, Any]:
    """The steps every audit command takes before reading anything: the run's deadline starts, and the
    policy (and baseline) is read, so that a bad policy file fails before any request."""
    run_deadline(timeout)
    today = date.today()
    rules, base = _policy(policy, no_policy, baseline, today, quiet)
    return today, rules, base


def _finish(report: Report, pairs: list[Output], rules: Any, base: Any, today: date, strict: bool,
            details: bool, quiet: bool) -> Report:
    """The policy applied and the outputs written, then the one-line outcome on stderr."""
    report = _conclude(report, pairs, rules, base, today, strict, details)
    _tell_outcome(report, quiet)
    return report


def _tell_notes(*notes: str | None, quiet: bool) -> None:
    """Each note that is not empty, on stderr, unless --quiet."""
    for note in notes:
        if note and not quiet:
            _err(note)


def _audit_models(ids: list[str], opts: RunOptions, n_targets: int, quiet: bool) -> tuple[Report, RunStats]:
    """api.run_audit with progress: many models on a terminal get one bar; otherwise (a CI log, one
    model) a line per model started."""
    from openaudit import api

    bar = not quiet and n_targets > 1 and sys.stderr.isatty()

    def progress(repo_id: str) -> None:
        if not quiet and not bar:
            typer.echo(f"auditing {line(repo_id)} …", err=True)

    if not bar:
        return api.run_audit(ids, opts, started=progress)
    with _progress_bar(f"auditing {n_targets} models") as update:

        def done(_target: str, n: int, total: int) -> None:
            update(f"auditing {total} models", n, total)

        return api.run_audit(ids, opts, progress=done, started=progress)


@app.command(cls=_Command)
def org(
    ctx: typer.Context,
    organisation: Annotated[str, typer.Argument(metavar="ORG", help="Organisation or user on the Hub "
                                                "(with --snapshots: the store's owner folder)")],
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    since: Annotated[str | None, typer.Option("--since", help="Only models created or modified after DATE "
                                              "(ISO, e.g. 2024-06-01).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most N models (listing order).")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Concurrent requests, fixed (default: adapted "
                                             "to the Hub's rate limit and latency, 8 to start, at most 32).")] = None,
    depth: Annotated[str, typer.Option("--depth", help="metadata (listing only), card (+ README), "
                                       "full (+ licence files, datasets, base models).")] = "full",
    cache_dir: CacheDirOpt = None,
    refresh: RefreshOpt = False,
    offline: OfflineOpt = False,
    max_requests: MaxRequestsOpt = None,
    processes: ProcessesOpt = None,
    profile: ProfileOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    details: DetailsOpt = False,
    snapshots: SnapshotsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    token: TokenOpt = None,
    token_file: TokenFileOpt = None,
    policy: PolicyOpt = None,
    no_policy: NoPolicyOpt = False,
    baseline: BaselineOpt = None,
    timeout: TimeoutOpt = DEFAULT_RUN_TIMEOUT,
    no_external: NoExternalOpt = False,
) -> None:
    """Audit every model of an organisation: one listing, pinned parallel reads, a cache.

    \b
    Example:
      openaudit org deepseek-ai -f json -o deepseek.json
    """
    def go() -> tuple[Report, bool]:
        from openaudit.repoid import owner_from_hub_url

        owner = owner_from_hub_url(organisation)  # https://huggingface.co/NAME as pasted
        pairs = _outputs(ctx, format, output, force)
        today, rules, base = _start(timeout, policy, no_policy, baseline, quiet)
        opts = _org_options(rules, pairs, snapshots=snapshots, profile=profile, token=_token(token, token_file),
                            strict=strict, jobs=jobs, depth=depth, include=include, exclude=exclude, since=since,
                            limit=limit, cache_dir=cache_dir, refresh=refresh, offline=offline or _hub_offline(),
                            max_requests=max_requests, processes=processes, external=not no_external)
        report, stats = _org_models(owner, opts, quiet)
        _tell_notes(_org_told(owner, stats, snapshots), _external_note(stats), quiet=quiet)
        report = _finish(report, pairs, rules, base, today, strict, details, quiet)
        if stats.listed == 0:  # a misspelt vendor in a nightly job must not stay green
            _tell_nothing_listed(owner, snapshots, offline)
        return report, stats.listed == 0

    report, nothing = _run(go)
    raise typer.Exit(int(ExitCode.INCOMPLETE if nothing else _exit_code(report, strict)))


def _org_options(rules: Any, pairs: list[Output], *, profile: list[str] | None, include: list[str] | None,
                 exclude: list[str] | None, since: str | None, **given: Any) -> RunOptions:
    """The org run's options. The policy's scope decides what is audited at all; flags on the command
    line take precedence."""
    from openaudit.run.options import RunOptions

    scope = rules.scope if rules is not None else None
    scope_include = [g for g in scope.include if g != "*"] if scope else []
    scope_since = scope.since.isoformat() if scope and scope.since else None
    return RunOptions(profiles=profile or (rules.profiles if rules else None), include=include or scope_include,
                      exclude=exclude or (scope.exclude if scope else ()), since=since or scope_since,
                      prerender=_prerender(pairs), **given)


def _org_models(owner: str, opts: RunOptions, quiet: bool) -> tuple[Report, RunStats]:
    """api.run_org, with a progress bar on a terminal (none in a CI log or with --quiet)."""
    from openaudit import api

    if not quiet and sys.stderr.isatty():
        with _progress_bar(f"listing {owner}") as progress:
            return api.run_org(owner, opts, progress=progress)
    return api.run_org(owner, opts)


def _org_told(owner: str, stats: RunStats, snapshots: Path | None) -> str | None:
    """The run's one-line account (models, requests, workers, cache) when the Hub was asked."""
    if stats.requests is None or snapshots is not None:
        return None
    return (f"{owner}: {stats.audited} of {stats.listed} listed models; {_requests_told(stats)}; "
            f"audited in {stats.audit_processes or 'no'} worker processes; cache {stats.cache}"
            f"{_cache_told(stats)}")


def _tell_nothing_listed(owner: str, snapshots: Path | None, offline: bool) -> None:
    """Says no model was listed (the run is incomplete, exit 3): the name is most likely misspelt."""
    from openaudit.repoid import shown

    where = ("in the snapshot store" if snapshots is not None else
             "in the cache (offline)" if offline or _hub_offline() else "by the Hub")
    _err(f"no models of '{shown(owner)}' listed {where}: check the name (an organisation "
         "or user, as in https://huggingface.co/NAME)")


@app.command(cls=_Command)
def snapshot(
    targets: Annotated[list[str], typer.Argument(help="owner/name[@revision] ...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Store directory to write.")],
    snapshots: SnapshotsOpt = None,
    token: TokenOpt = None,
    token_file: TokenFileOpt = None,
    quiet: QuietOpt = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Models read at once.")] = 4,
    max_requests: MaxRequestsOpt = None,
    no_external: NoExternalOpt = False,
) -> None:
    """Record what the source served (and the datasets and base models it links to) into a store.

    \b
    Example:
      openaudit snapshot meta-llama/Llama-3.1-8B -o store/
      openaudit audit meta-llama/Llama-3.1-8B --snapshots store/
    """
    from openaudit import api

    def wrote(snap: RepoSnapshot, linked: int) -> None:
        if not quiet:
            typer.echo(f"wrote {line(snap.repo_id)}@{line((snap.revision or '')[:12])} (+{linked} linked)", err=True)

    def go() -> int:
        if snapshots is None and _hub_offline():
            raise UsageError("HF_HUB_OFFLINE is set, and `snapshot` records what the Hub serves: unset it "
                             "(or record from another store with --snapshots)")
        _store_folder(output)
        failed = api.record_snapshots(_targets(targets), output, snapshots=snapshots, token=_token(token, token_file),
                                      jobs=jobs, max_requests=max_requests, done=wrote, external=not no_external)
        for repo_id, why in failed:
            _err(f"{repo_id}: {why}")
        return len(failed)

    failed = _run(go)
    raise typer.Exit(int(ExitCode.INCOMPLETE if failed else ExitCode.OK))


@app.command(cls=_Command)
def demo(
    ctx: typer.Context,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    details: DetailsOpt = False,
) -> None:
    """The flagship audit (Llama 3.1, Mistral 7B, DeepSeek-R1, OLMo 2) on the bundled snapshots, offline.

    \b
    Example:
      openaudit demo -v
    """
    from openaudit import api
    from openaudit.demo import FLAGSHIPS, bundled_store

    def go() -> Report:
        pairs = _outputs(ctx, format, output, force)
        report = api.audit_models(list(FLAGSHIPS), snapshots=bundled_store())  # offline, from the package
        emit(report, pairs, details)
        return report

    _run(go)
    raise typer.Exit(0)


@app.command(cls=_Command)
def report(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Saved JSON reports")],
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    details: DetailsOpt = False,
) -> None:
    """Re-render saved audits (JSON reports) with no network.

    \b
    Example:
      openaudit report a.json b.json -f site -o site/
    """
    from openaudit.report import load_report

    def go() -> None:
        pairs = _outputs(ctx, format, output, force)
        reports = [load_report(f) for f in files]
        merged = reports[0].model_copy(update={"subjects": [s for r in reports for s in r.subjects]})
        emit(merged, pairs, details)

    _run(go)


@app.command(cls=_Command)
def diff(
    old: Annotated[Path, typer.Argument(help="Earlier JSON report")],
    new: Annotated[Path, typer.Argument(help="Later JSON report")],
    format: Annotated[str, typer.Option("--format", "-f", help="terminal, md or json")] = "terminal",
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                              help="Write here instead of stdout ('-': stdout).")] = None,
    fail_on_regression: Annotated[bool, typer.Option("--fail-on-regression",
                                                     help="Exit 1 when any model is less open than before.")] = False,
) -> None:
    """What changed between two saved audits: models, verdicts, classes, flags, licences, revisions.

    \b
    Example:
      openaudit diff last-week.json today.json --fail-on-regression
    """
    from openaudit.diff import DIFF_FORMATS, diff_reports
    from openaudit.report import load_report

    def go() -> int:
        from openaudit.outputs import check, put_text

        if old.is_dir() or new.is_dir():  # two census folders (openaudit census -o DIR)
            from openaudit.census.diff import FORMATS, diff_censuses

            if format not in FORMATS:
                raise UsageError(f"unknown diff format '{format}'; available: {', '.join(FORMATS)}")
            cd = diff_censuses(old, new)
            put_text(check(format, output), FORMATS[format](cd))
            return int(cd["regressions"])
        if format not in DIFF_FORMATS:
            raise UsageError(f"unknown diff format '{format}'; available: {', '.join(DIFF_FORMATS)}")
        target = check(format, output)
        d = diff_reports(load_report(old), load_report(new))
        put_text(target, DIFF_FORMATS[format](d))
        return int(d["regressions"])

    regressions = _run(go)
    raise typer.Exit(int(ExitCode.POLICY_FAILED if fail_on_regression and regressions else ExitCode.OK))


@app.command(cls=_Command)
def census(
    dump: Annotated[str | None, typer.Argument(metavar="DUMP", help="Metadata dump (cfahlgren1/hub-stats "
                                               "models.parquet): a parquet file or folder, or "
                                               "hf://datasets/OWNER/NAME@REV/PATH")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Census folder: results/, summary.json, "
                                                "manifest.json, census.html, census.md. Run again to resume.")] = None,
    cards: Annotated[str | None, typer.Option("--cards", help="Card dump (librarian-bots/model_cards_with_metadata),"
                                              " joined on the model id.")] = None,
    where: Annotated[str | None, typer.Option("--where", help="SQL condition on the dump's columns "
                                              "(DuckDB), e.g. \"downloads > 100\".")] = None,
    read: Annotated[str, typer.Option("--read", help="Files still read from the Hub, pinned and cached: licences "
                                      "(+ cards the card dump lacks), cards, or none (no request at all).")] = "none",
    engine: Annotated[str, typer.Option("--engine", help="local (worker processes) or dask.")] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address (default: a "
                                                  "LocalCluster).")] = None,
    max_requests: MaxRequestsOpt = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes (local) or LocalCluster "
                                                "workers (dask); default one per core, at most 4.")] = None,
    listing: Annotated[bool, typer.Option("--listing", help="Build the metadata table from the Hub's API "
                                          "instead of a dump.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """The whole Hub's openness from its public dumps: every row audited as `audit` would, summarised."""
    from openaudit import census as census_run

    def go() -> Any:
        if output is None:
            raise UsageError("give the census folder with -o OUTDIR")
        if listing and dump is not None:
            raise UsageError("give either a DUMP or --listing, not both")
        try:
            return census_run.run(dump, output, cards=cards, where=where, read=read, engine=engine,
                                  scheduler=scheduler, max_requests=max_requests, workers=workers, listing=listing,
                                  quiet=quiet)
        except KeyboardInterrupt:
            _err("interrupted; the parts written are kept: run the same command again to resume")
            raise typer.Exit(130) from None

    result = _run(go)
    raise typer.Exit(int(result.exit_code))


@criteria_app.command("list", cls=_Command)
def criteria_list(profile: ProfileOpt = None) -> None:
    """List profiles and their criteria.

    \b
    Example:
      openaudit criteria list -p mof
    """
    from openaudit.render.criteria import render_list

    _run(lambda: typer.echo(render_list(profile)))


@criteria_app.command("explain", cls=_Command)
def criteria_explain(criterion: Annotated[str, typer.Argument(
        help="Criterion id (OA-LIC-001) or slug (weights-downloadable), in any case; or a flag id")]) -> None:
    """Explain one criterion: question, outcomes and rules, evidence used, remediation, references.

    \b
    Example:
      openaudit criteria explain MOF-C10   (or its slug, mof-model-parameters-final, in any case)
    """
    from openaudit.render.criteria import render_explain

    _run(lambda: typer.echo(render_explain(criterion)))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"openaudit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour in the terminal view (as NO_COLOR=1).")]
    = False,
) -> None:
    """Audit how open a published AI model really is, with evidence.

    \b
    Start with:  openaudit demo
    One model:   openaudit audit deepseek-ai/DeepSeek-R1
    Exit codes:  0 ok, 1 policy failed, 2 usage or input error, 3 incomplete.
    """
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if no_color:
        os.environ["NO_COLOR"] = "1"


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a run exactly like Ctrl-C: no output written, exit 130


def main() -> None:
    """Console entry point. SIGTERM ends a run like Ctrl-C: exit 130, nothing half-written."""
    import gc
    import signal
    import threading

    from openaudit import gctune

    gctune.tune()  # again, for `python -m openaudit.cli` (see openaudit.gctune)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        app(standalone_mode=True)  # click exits 2 on its own usage errors; commands exit with their codes
    finally:
        try:
            sys.stdout.flush()
        except OSError:  # a full disk or a closed pipe: said already, or nothing was left to say
            _stdout_gone()
        # The outputs are written and closed. What is left is freed as the interpreter exits; frozen,
        # it is not walked by a last full collection first (0.25 s after an organisation's audit).
        gc.freeze()


if __name__ == "__main__":
    main()

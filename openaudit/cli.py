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

from openaudit import __version__
from openaudit.errors import ExitCode, OpenAuditError, UsageError

if TYPE_CHECKING:  # `--help`, a usage error or `criteria list` need none of the audit machinery (~0.3 s)
    from openaudit.report import Report
    from openaudit.snapshot import RepoSnapshot

T = TypeVar("T")

# A crash's pretty traceback never shows local variables: they hold the token (typer >= 0.19 showed it
# three times). Set on every Typer, since a sub-app's settings are its own.
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_show_locals=False,
                  help="Audit how open a published AI model really is, with evidence.")
criteria_app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False,
                           help="The profiles and criteria, from the YAML.")
app.add_typer(criteria_app, name="criteria")

ProfileOpt = Annotated[list[str] | None, typer.Option("--profile", "-p", help="Profile id or YAML file (repeatable). "
                                                      "Default: openaudit plus every framework profile.")]
FormatOpt = Annotated[list[str] | None, typer.Option("--format", "-f", help="Output format (repeatable): terminal, "
                                                     "json, md, html, sarif, junit, github, ...")]
OutputOpt = Annotated[list[Path] | None, typer.Option("--output", "-o", help="File for the format at the same "
                                                      "position (repeatable); formats without one go to stdout.")]
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
    typer.echo(f"openaudit: {msg}", err=True)


def _pair_outputs(formats: list[str] | None, outputs: list[Path] | None, default: str) -> list[tuple[str, Path | None]]:
    fmts = formats or [default]
    outs = list(outputs or [])
    if len(outs) > len(fmts):
        raise UsageError("more --output than --format options")
    pairs: list[tuple[str, Path | None]] = [(f, outs[i] if i < len(outs) else None) for i, f in enumerate(fmts)]
    to_stdout = [f for f, o in pairs if o is None]
    if len(to_stdout) > 1:
        raise UsageError(f"formats {', '.join(to_stdout)} would all go to stdout: give each an --output")
    return pairs


# Formats whose --output is a directory: `site` always, `badge` unless -o names one .svg file.
TREE_FORMATS = {"site": "openaudit.render.site:site_files", "badge": "openaudit.render.badge:badge_files"}


def _tree_files(report: Report, fmt: str, out: Path | None) -> dict[str, str] | None:
    from importlib import import_module

    if fmt == "site" and out is None:
        raise UsageError("--format site writes a directory: give it --output DIR")
    if fmt == "badge" and out is not None and out.suffix.lower() == ".svg" and len(report.subjects) > 1:
        raise UsageError("several models give several badges: pass --output DIR instead of a .svg file")
    if fmt not in TREE_FORMATS or out is None or (fmt == "badge" and out.suffix.lower() == ".svg"):
        return None
    mod, _, fn = TREE_FORMATS[fmt].partition(":")
    files: dict[str, str] = getattr(import_module(mod), fn)(report)
    return files


def emit(report: Report, pairs: list[tuple[str, Path | None]]) -> None:
    """Render every format first, then put each in place: nothing is partially written when a renderer
    fails. Bytes (JSON) are rendered in chunks straight into a temporary file, so an organisation's
    report is never held whole in memory."""
    import shutil
    import tempfile

    from openaudit.render import stream
    from openaudit.sources.store import stage_file

    staged: list[tuple[str | Path | dict[str, str], Path | None]] = []
    try:
        for f, out in pairs:
            tree = _tree_files(report, f, out)
            if tree is not None:
                staged.append((tree, out))
                continue
            data = stream(f)(report)
            if out is None and isinstance(data, str):
                staged.append((data, None))  # text to stdout keeps the terminal's encoding
            else:
                target = out if out is not None else Path(tempfile.gettempdir()) / "openaudit-stdout"
                staged.append((stage_file(target, data), out))
        for item, out in staged:
            if isinstance(item, dict):
                from openaudit.render.site import write_tree

                assert out is not None
                write_tree(out, item)
            elif isinstance(item, str):
                sys.stdout.write(item)
                sys.stdout.flush()
            elif out is None:
                sys.stdout.flush()
                with open(item, "rb") as fh:
                    shutil.copyfileobj(fh, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                os.replace(item, out)
    finally:
        for item, _ in staged:
            if isinstance(item, Path):
                item.unlink(missing_ok=True)


def summarize(report: Report, pairs: list[tuple[str, Path | None]]) -> None:
    """With --format github on GitHub Actions: append the Markdown step summary, also when all passed."""
    if any(f == "github" for f, _ in pairs) and os.environ.get("GITHUB_STEP_SUMMARY"):
        from openaudit.render.github import append_step_summary

        append_step_summary(Path(os.environ["GITHUB_STEP_SUMMARY"]), report)


def _policy(path: Path | None, no_policy: bool, baseline: Path | None, today: date, quiet: bool) -> tuple[Any, Any]:
    """The policy in force (given, discovered in the working directory, or none) and the baseline."""
    from openaudit import policy as pol

    rules, base = pol.resolve(path, no_policy, baseline, Path.cwd(), today)
    if rules is not None and not quiet:
        _err(f"policy: {rules.file}")
    return rules, base


def _conclude(report: Report, pairs: list[tuple[str, Path | None]], rules: Any, base: Any, today: date,
              strict: bool) -> Report:
    """Apply the policy, then write every output and the CI step summary: the same for audit and org."""
    from openaudit import policy as pol

    report = pol.evaluate(report, rules, today, base, strict)
    emit(report, pairs)
    summarize(report, pairs)
    return report


def _fetch_error_kinds() -> set[str]:
    """The kinds a skipped or incomplete subject's reason starts with (`budget: ...`): every FetchError's
    loaded (a kind whose module this run never imported, as the request gate's in a replay, was never
    raised either; importing it would load huggingface_hub)."""
    from openaudit.errors import FetchError

    kinds, todo = set(), [FetchError]
    while todo:
        cls = todo.pop()
        kinds.add(cls.kind)
        todo += cls.__subclasses__()
    return kinds


def outcome_note(report: Report, most: int = 5) -> str | None:
    """What was not fully audited, grouped by why, with a count (a CI log's explanation of exit 3):
    None when every model was audited. A reason of a known kind (`budget: ...`) groups by kind, with
    the first such reason as the example; any other by its text."""
    from openaudit.subjects import summaries

    states = summaries(report.subjects)
    if all(status == "audited" for status, _ in states):
        return None
    kinds = _fetch_error_kinds()
    groups: dict[tuple[str, str], list[str]] = {}
    for status, reason in states:
        if status == "audited":
            continue
        text = reason or "no reason given"
        kind = text.split(":", 1)[0]
        groups.setdefault((status, kind if kind in kinds else text), []).append(text)
    shown = sorted(groups.items(), key=lambda g: -len(g[1]))
    lines = [f"{sum(len(v) for v in groups.values())} of {len(states)} models not fully audited:"]
    for (status, key), reasons in shown[:most]:
        example = reasons[0] if key in kinds else key
        lines.append(f"  {len(reasons)} {status}: " + (f"{example} (and {len(reasons) - 1} more like it)"
                                                        if key in kinds and len(reasons) > 1 else example))
    if len(shown) > most:
        lines.append(f"  {sum(len(v) for _, v in shown[most:])} more, for {len(shown) - most} other reasons "
                     "(see the report)")
    return "\n".join(lines)


def exit_code(report: Report, strict: bool = False) -> ExitCode:
    from openaudit.subjects import summaries

    policy = report.policy or {}
    states = summaries(report.subjects)
    if any(status == "incomplete" for status, _ in states) and policy.get("fail_on_incomplete", True):
        return ExitCode.INCOMPLETE
    skipped = [reason for status, reason in states if status == "skipped"]
    if skipped and (strict or any(not (reason or "").startswith("offline") for reason in skipped)):
        return ExitCode.INCOMPLETE
    if policy and not policy.get("passed", True):
        return ExitCode.POLICY_FAILED
    return ExitCode.OK


@contextlib.contextmanager
def _progress_bar(first: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich bar on stderr (for a terminal only); yields `update(what, done, total)`.

    No refresh thread (auto_refresh=False): an organisation's audit workers are forked only while
    this process has a single thread (openaudit.workers); the bar is redrawn as progress comes, at
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


def _selection_note(stats: dict[str, Any], since: str | None, max_requests: int | None) -> str:
    """What `audit` left out, and what many models (or a budget) cost: a filter that drops a model says so."""
    parts = []
    if stats["chosen"] < stats["given"]:
        parts.append(f"{stats['chosen']} of {stats['given']} models chosen by --include/--exclude/--limit")
    if stats["left_out_since"]:
        names = ", ".join(stats["left_out_since"][:5]) + (" …" if len(stats["left_out_since"]) > 5 else "")
        parts.append(f"not created or modified since {since}, left out: {names}")
    if stats["requests"] is not None and (stats["given"] > 1 or max_requests is not None or stats["rate_limited"]):
        budget = f" (budget {max_requests})" if max_requests is not None else ""
        parts.append(_requests_told(stats, budget))
    return "; ".join(parts)


def _requests_told(stats: dict[str, Any], budget: str = "") -> str:
    """What a run asked of the Hub, and how many answers were 429s (each waited out, then retried)."""
    told = f"{stats['api_requests']} API + {stats['file_requests']} file requests{budget}"
    if stats.get("rate_limited"):
        told += f", {stats['rate_limited']} of them rate-limited (HTTP 429) and retried after the wait"
    return told


def _tell_outcome(report: Report, quiet: bool) -> None:
    note = outcome_note(report) if not quiet else None
    if note:
        _err(note)


def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except OpenAuditError as e:
        _err(str(e))
        raise typer.Exit(int(e.exit_code)) from None
    except KeyboardInterrupt:
        _err("interrupted; no output was written")
        raise typer.Exit(130) from None


@app.command()
def audit(
    targets: Annotated[list[str], typer.Argument(help="owner/name, owner/name@revision, or a local model folder")],
    profile: ProfileOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
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
) -> None:
    """Audit models on the Hub (or in a snapshot store, or a local folder)."""
    from openaudit import api

    # Many models on a terminal: one bar; otherwise (a CI log, one model) a line per model started.
    bar = not quiet and len(targets) > 1 and sys.stderr.isatty()

    def progress(repo_id: str) -> None:
        if not quiet and not bar:
            typer.echo(f"auditing {repo_id} …", err=True)

    def go() -> Report:
        pairs = _pair_outputs(format, output, "terminal")
        today = date.today()
        rules, base = _policy(policy, no_policy, baseline, today, quiet)
        stats: dict[str, Any] = {}
        kwargs: dict[str, Any] = dict(
            snapshots=snapshots, profiles=profile or (rules.profiles if rules else None),
            token=_token(token, token_file), strict=strict,
            jobs=jobs, depth=depth, progress=progress, include=include or (), exclude=exclude or (), since=since,
            limit=limit, max_requests=max_requests, cache_dir=cache_dir, refresh=refresh, offline=offline,
            processes=processes, stats=stats)
        if bar:
            with _progress_bar(f"auditing {len(targets)} models") as update:

                def done(_target: str, n: int, total: int) -> None:
                    update(f"auditing {total} models", n, total)

                report = api.audit_models(targets, done=done, **kwargs)
        else:
            report = api.audit_models(targets, **kwargs)
        note = _selection_note(stats, since, max_requests)
        if note and not quiet:
            _err(note)
        report = _conclude(report, pairs, rules, base, today, strict)
        _tell_outcome(report, quiet)
        return report

    report = _run(go)
    raise typer.Exit(int(exit_code(report, strict)))


@app.command()
def org(
    organisation: Annotated[str, typer.Argument(metavar="ORG", help="Organisation or user on the Hub "
                                                "(with --snapshots: the store's owner folder)")],
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    since: Annotated[str | None, typer.Option("--since", help="Only models created or modified after DATE "
                                              "(ISO, e.g. 2024-06-01).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most N models (listing order).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Concurrent requests.")] = 8,
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
    snapshots: SnapshotsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    token: TokenOpt = None,
    token_file: TokenFileOpt = None,
    policy: PolicyOpt = None,
    no_policy: NoPolicyOpt = False,
    baseline: BaselineOpt = None,
) -> None:
    """Audit every model of an organisation: one listing, pinned parallel reads, a cache."""
    from openaudit import api

    def go() -> Report:
        pairs = _pair_outputs(format, output, "terminal")
        today = date.today()
        rules, base = _policy(policy, no_policy, baseline, today, quiet)
        stats: dict[str, object] = {}
        # The policy's scope decides what is audited at all; flags on the command line take precedence.
        scope = rules.scope if rules is not None else None
        scope_include = [g for g in scope.include if g != "*"] if scope else []
        scope_since = scope.since.isoformat() if scope and scope.since else None
        kwargs = dict(snapshots=snapshots, profiles=profile or (rules.profiles if rules else None),
                      token=_token(token, token_file),
                      strict=strict, jobs=jobs, depth=depth, include=include or scope_include,
                      exclude=exclude or (scope.exclude if scope else ()), since=since or scope_since,
                      limit=limit, cache_dir=cache_dir, refresh=refresh, offline=offline,
                      max_requests=max_requests, processes=processes, stats=stats)
        if not quiet and sys.stderr.isatty():
            with _progress_bar(f"listing {organisation}") as progress:
                report = api.audit_org(organisation, progress=progress, **kwargs)  # type: ignore[arg-type]
        else:
            report = api.audit_org(organisation, **kwargs)  # type: ignore[arg-type]
        if not quiet and stats.get("requests") is not None and snapshots is None:
            _err(f"{organisation}: {stats.get('audited')} of {stats.get('listed')} listed models; "
                 f"{_requests_told(stats)}; "
                 f"audited in {stats.get('audit_processes') or 'no'} worker processes; cache {stats.get('cache')}")
        report = _conclude(report, pairs, rules, base, today, strict)
        _tell_outcome(report, quiet)
        return report

    report = _run(go)
    raise typer.Exit(int(exit_code(report, strict)))


@app.command()
def snapshot(
    targets: Annotated[list[str], typer.Argument(help="owner/name[@revision] ...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Store directory to write.")],
    snapshots: SnapshotsOpt = None,
    token: TokenOpt = None,
    token_file: TokenFileOpt = None,
    quiet: QuietOpt = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Models read at once.")] = 4,
    max_requests: MaxRequestsOpt = None,
) -> None:
    """Record what the source served (and the datasets and base models it links to) into a store."""
    from openaudit import api

    def wrote(snap: RepoSnapshot, linked: int) -> None:
        if not quiet:
            typer.echo(f"wrote {snap.repo_id}@{(snap.revision or '')[:12]} (+{linked} linked)", err=True)

    def go() -> int:
        failed = api.record_snapshots(targets, output, snapshots=snapshots, token=_token(token, token_file),
                                      jobs=jobs,
                                      max_requests=max_requests, done=wrote)
        for repo_id, why in failed:
            _err(f"{repo_id}: {why}")
        return len(failed)

    failed = _run(go)
    raise typer.Exit(int(ExitCode.INCOMPLETE if failed else ExitCode.OK))


FLAGSHIPS = ("meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1", "deepseek-ai/DeepSeek-R1",
             "allenai/OLMo-2-1124-7B")


def bundled_store() -> Path:
    from importlib import resources

    packaged = Path(str(resources.files("openaudit").joinpath("_snapshots")))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "tests" / "store"


@app.command()
def demo(
    format: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The flagship audit (Llama 3.1, Mistral 7B, DeepSeek-R1, OLMo 2) on the bundled snapshots, offline."""
    from openaudit import api

    def go() -> Report:
        pairs = _pair_outputs(format, output, "terminal")
        report = api.audit_models(list(FLAGSHIPS), snapshots=bundled_store())
        emit(report, pairs)
        return report

    _run(go)
    raise typer.Exit(0)


@app.command()
def report(
    files: Annotated[list[Path], typer.Argument(help="Saved JSON reports")],
    format: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Re-render saved audits with no network."""
    from openaudit.report import load_report

    def go() -> None:
        pairs = _pair_outputs(format, output, "terminal")
        reports = [load_report(f) for f in files]
        merged = reports[0].model_copy(update={"subjects": [s for r in reports for s in r.subjects]})
        emit(merged, pairs)

    _run(go)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="Earlier JSON report")],
    new: Annotated[Path, typer.Argument(help="Later JSON report")],
    format: Annotated[str, typer.Option("--format", "-f", help="terminal, md or json")] = "terminal",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    fail_on_regression: Annotated[bool, typer.Option("--fail-on-regression",
                                                     help="Exit 1 when any model is less open than before.")] = False,
) -> None:
    """What changed between two saved audits: models, verdicts, classes, flags, licences, revisions."""
    from openaudit.diff import DIFF_FORMATS, diff_reports
    from openaudit.report import load_report

    def go() -> int:
        if format not in DIFF_FORMATS:
            raise UsageError(f"unknown diff format '{format}'; available: {', '.join(DIFF_FORMATS)}")
        d = diff_reports(load_report(old), load_report(new))
        text = DIFF_FORMATS[format](d)
        if output is None:
            sys.stdout.write(text)
        else:
            from openaudit.sources.store import atomic_write

            atomic_write(output, text)
        return int(d["regressions"])

    regressions = _run(go)
    raise typer.Exit(int(ExitCode.POLICY_FAILED if fail_on_regression and regressions else ExitCode.OK))


@criteria_app.command("list")
def criteria_list(profile: ProfileOpt = None) -> None:
    """List profiles and their criteria."""
    from openaudit.render.criteria import render_list

    _run(lambda: typer.echo(render_list(profile)))


@criteria_app.command("explain")
def criteria_explain(criterion: Annotated[str, typer.Argument(help="Criterion id (OA-LIC-001) or flag id")]) -> None:
    """Explain one criterion: question, outcomes and rules, evidence used, remediation, references."""
    from openaudit.render.criteria import render_explain

    _run(lambda: typer.echo(render_explain(criterion)))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"openaudit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False) -> None:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


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
        # The outputs are written and closed. What is left is freed as the interpreter exits; frozen,
        # it is not walked by a last full collection first (0.25 s after an organisation's audit).
        gc.freeze()


if __name__ == "__main__":
    main()

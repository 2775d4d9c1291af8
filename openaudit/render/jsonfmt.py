"""The JSON report (DESIGN §6), validated by openaudit/schema/report.v1.json."""

from collections.abc import Iterator

from openaudit.report import Report


def render(report: Report) -> bytes:
    """UTF-8 bytes: an organisation's report is written without ever becoming one large str."""
    return report.to_json_bytes()


def render_chunks(report: Report) -> Iterator[bytes]:
    """The same bytes in chunks, one subject at a time: what the CLI writes."""
    return report.iter_json_bytes()

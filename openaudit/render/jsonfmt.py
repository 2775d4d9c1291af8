"""The JSON report (DESIGN §6), validated by openaudit/schema/report.v1.json."""

from openaudit.report import Report


def render(report: Report) -> bytes:
    """UTF-8 bytes: an organisation's report is written without ever becoming one large str."""
    return report.to_json_bytes()

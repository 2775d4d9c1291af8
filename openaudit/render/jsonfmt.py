"""The JSON report (DESIGN §6), validated by openaudit/schema/report.v1.json."""

from openaudit.report import Report


def render(report: Report) -> str:
    return report.to_json()

"""What an audit report concludes, in words, for every front end (CLI and HTTP).

Rule: a report is `tampered` when any event, chain row, snapshot or seal fails
(naming the first), else `unchained` when events were recorded before the chain
was started (nothing is proven), else `ok`. The same wording goes to the CLI's
stderr/stdout and to the API's JSON. Seals given as data (not files) are read
here too, each named by where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from api.audit import SEAL_FORMAT, Report, Seal, masked_url

Status = Literal["ok", "tampered", "unchained"]


@dataclass(frozen=True)
class Verdict:
    status: Status
    vi: str
    en: str


def verdict(report: Report) -> Verdict:
    """The conclusion of `report`, with the first bad event named."""
    if report.first is not None:
        f = report.first
        more_vi = f" (cùng {report.problems - 1} chỗ sai khác)" if report.problems > 1 else ""
        more_en = f" (and {report.problems - 1} more)" if report.problems > 1 else ""
        return Verdict(
            "tampered",
            f"SỔ BỊ SỬA NGOÀI ỨNG DỤNG [{f.kind}]: {f.vi}{more_vi}",
            f"LOG TAMPERED [{f.kind}]: {f.en}{more_en}",
        )
    if report.unchained:
        return Verdict(
            "unchained",
            f"{report.unchained} sự kiện được ghi trước khi có chuỗi băm; lần ghi tiếp theo "
            "sẽ lập chuỗi cho chúng; chưa chứng minh được gì",
            f"{report.unchained} events were recorded before the chain was started; the next "
            "write chains them; nothing is proven yet",
        )
    seals = f"; {len(report.seals)} seal(s) hold" if report.seals else ""
    return Verdict(
        "ok",
        f"OK: {report.events} sự kiện, băm đầu chuỗi {report.head_hash} "
        f"(số {report.head_id}), {report.snapshots} ảnh chụp khớp",
        f"OK: {report.events} events, head hash {report.head_hash} "
        f"(notification {report.head_id}), {report.snapshots} snapshots match{seals}",
    )


def seal_of(data: Mapping[str, Any], source: str) -> Seal:
    """A seal already validated as data (the format, a 64-hex hash, counts >= 0)."""
    assert data["format"] == SEAL_FORMAT
    return Seal(int(data["notification_id"]), str(data["hash"]), int(data["events"]), source)


def database_name(env: Mapping[str, str]) -> str:
    """The ledger's database as a URL without its password (a seal is handed to people)."""
    if env.get("PERSISTENCE_MODULE", "").endswith("sqlite"):
        return f"sqlite:///{env.get('SQLITE_DBNAME', '')}"
    user, password = env.get("POSTGRES_USER", ""), env.get("POSTGRES_PASSWORD", "")
    host, port = env.get("POSTGRES_HOST", "127.0.0.1"), env.get("POSTGRES_PORT", "5432")
    url = f"postgresql://{user}{':' + password if password else ''}@{host}:{port}/"
    url += env.get("POSTGRES_DBNAME", "")
    if env.get("POSTGRES_SCHEMA"):
        url += f"?schema={env['POSTGRES_SCHEMA']}"
    return masked_url(url)

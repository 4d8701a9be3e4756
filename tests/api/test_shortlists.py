"""Shortlists over HTTP: ownership, entries and their order, and the CSV/XLSX export."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import openpyxl
import pytest
from sqlmodel import Session, select

from api.services.shortlists import neutralise, safe_filename, to_xlsx
from models.shortlist import Shortlist, ShortlistEntry
from tests.api.conftest import Api

BASE = "/api/v1/shortlists"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [
    "position",
    "organisation_id",
    "name",
    "hq_country",
    "type",
    "website",
    "note",
    "contact_email",
]


def create(api: Api, role: str = "member_a", **body: Any) -> dict[str, Any]:
    body = {"name": "Malaria consortium", **body}
    response = api.client.post(BASE, json=body, headers=api.as_(role))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def add(api: Api, shortlist_id: int, org: str, role: str = "member_a", **body: Any) -> Any:
    body = {"organisation_id": api.ids[org], **body}
    response = api.client.post(f"{BASE}/{shortlist_id}/entries", json=body, headers=api.as_(role))
    assert response.status_code == 201, response.text
    return response.json()


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- the list itself ------------------------------------------------------------------------


def test_create_read_and_list_own_shortlists(api: Api) -> None:
    response = api.client.post(
        BASE,
        json={"name": "Malaria consortium", "call_id": api.ids["malaria_call"], "notes": "Lead?"},
        headers=api.as_("member_a"),
    )
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"{BASE}/{created['id']}"
    assert created["owner_id"] == api.user_ids["member_a"]
    assert created["call_id"] == api.ids["malaria_call"]
    assert created["entries"] == []
    second = create(api, name="Second list")
    create(api, role="member_b", name="Someone else's")

    read = api.client.get(response.headers["location"], headers=api.as_("member_a"))
    assert read.status_code == 200
    assert read.json()["notes"] == "Lead?"

    listed = api.client.get(BASE, headers=api.as_("member_a")).json()
    assert listed["count"] == 2
    assert [s["id"] for s in listed["data"]] == [second["id"], created["id"]]  # newest first
    paged = api.client.get(f"{BASE}?limit=1&offset=1", headers=api.as_("member_a")).json()
    assert paged["count"] == 2 and [s["id"] for s in paged["data"]] == [created["id"]]
    # admins list only their own lists too
    assert api.client.get(BASE, headers=api.as_("admin")).json() == {"data": [], "count": 0}


def test_anonymous_callers_get_401_everywhere(api: Api) -> None:
    shortlist = create(api)
    sid = shortlist["id"]
    org = api.ids["maternal"]
    calls = [
        ("POST", BASE, {"name": "x"}),
        ("POST", BASE, {"name": ""}),  # 401 comes before body validation
        ("GET", BASE, None),
        ("GET", f"{BASE}/{sid}", None),
        ("PATCH", f"{BASE}/{sid}", {"name": "y"}),
        ("DELETE", f"{BASE}/{sid}", None),
        ("POST", f"{BASE}/{sid}/entries", {"organisation_id": org}),
        ("PATCH", f"{BASE}/{sid}/entries/{org}", {"note": "n"}),
        ("DELETE", f"{BASE}/{sid}/entries/{org}", None),
        ("GET", f"{BASE}/{sid}/export?format=csv", None),
    ]
    for method, url, body in calls:
        response = api.client.request(method, url, json=body)
        assert response.status_code == 401, (method, url)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", ["member_b", "secretariat"])
def test_other_users_get_404_for_every_operation(api: Api, role: str) -> None:
    shortlist = create(api)
    sid = shortlist["id"]
    add(api, sid, "maternal")
    org = api.ids["maternal"]
    headers = api.as_(role)
    calls = [
        ("GET", f"{BASE}/{sid}", None),
        ("PATCH", f"{BASE}/{sid}", {"name": "mine now"}),
        ("DELETE", f"{BASE}/{sid}", None),
        ("POST", f"{BASE}/{sid}/entries", {"organisation_id": api.ids["tropical"]}),
        ("PATCH", f"{BASE}/{sid}/entries/{org}", {"note": "n"}),
        ("DELETE", f"{BASE}/{sid}/entries/{org}", None),
        ("GET", f"{BASE}/{sid}/export", None),
    ]
    missing = api.client.get(f"{BASE}/999999", headers=headers)
    for method, url, body in calls:
        response = api.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 404, (method, url)
        # the same answer as for a list that does not exist: nothing is revealed
        assert response.json()["detail"] == f"shortlist {sid} not found"
    assert missing.status_code == 404
    after = api.client.get(f"{BASE}/{sid}", headers=api.as_("member_a")).json()
    assert after["name"] == shortlist["name"]
    assert [e["organisation_id"] for e in after["entries"]] == [org]


def test_admins_read_and_export_any_list_but_do_not_change_it(api: Api) -> None:
    shortlist = create(api)
    sid = shortlist["id"]
    add(api, sid, "maternal")
    admin = api.as_("admin")
    read = api.client.get(f"{BASE}/{sid}", headers=admin)
    assert read.status_code == 200
    assert read.json()["owner_id"] == api.user_ids["member_a"]
    assert api.client.get(f"{BASE}/{sid}/export", headers=admin).status_code == 200
    org = api.ids["maternal"]
    for method, url, body in (
        ("PATCH", f"{BASE}/{sid}", {"name": "admin's"}),
        ("DELETE", f"{BASE}/{sid}", None),
        ("POST", f"{BASE}/{sid}/entries", {"organisation_id": api.ids["tropical"]}),
        ("PATCH", f"{BASE}/{sid}/entries/{org}", {"note": "n"}),
        ("DELETE", f"{BASE}/{sid}/entries/{org}", None),
    ):
        response = api.client.request(method, url, json=body, headers=admin)
        assert response.status_code == 403, (method, url)
    assert api.client.get(f"{BASE}/{sid}", headers=admin).json() == read.json()


def test_update_changes_only_what_is_sent_and_refreshes_updated_at(api: Api) -> None:
    shortlist = create(api, call_id=api.ids["malaria_call"], notes="first")
    url = f"{BASE}/{shortlist['id']}"
    response = api.client.patch(url, json={"name": "Renamed"}, headers=api.as_("member_a"))
    assert response.status_code == 200
    renamed = response.json()
    assert renamed["name"] == "Renamed"
    assert renamed["notes"] == "first" and renamed["call_id"] == api.ids["malaria_call"]
    assert stamp(renamed["updated_at"]) > stamp(shortlist["updated_at"])
    assert renamed["created_at"] == shortlist["created_at"]

    detached = api.client.patch(url, json={"call_id": None}, headers=api.as_("member_a")).json()
    assert detached["call_id"] is None and detached["name"] == "Renamed"
    unknown = api.client.patch(url, json={"call_id": 999999}, headers=api.as_("member_a"))
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "call 999999 not found"


def test_unknown_call_on_create_is_404(api: Api) -> None:
    response = api.client.post(
        BASE, json={"name": "x", "call_id": 999999}, headers=api.as_("member_a")
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "call 999999 not found"


def test_invalid_bodies_are_422_with_field_paths(api: Api) -> None:
    headers = api.as_("member_a")
    cases: list[tuple[str, str, Any, list[str]]] = [
        ("POST", BASE, {"name": ""}, ["body", "name"]),
        ("POST", BASE, {"notes": "no name"}, ["body", "name"]),
        ("POST", BASE, {"name": "x" * 201}, ["body", "name"]),
        ("POST", BASE, {"name": "x", "call_id": "abc"}, ["body", "call_id"]),
    ]
    sid = create(api)["id"]
    add(api, sid, "maternal")
    org = api.ids["maternal"]
    cases += [
        ("PATCH", f"{BASE}/{sid}", {"name": None}, ["body", "name"]),
        ("PATCH", f"{BASE}/{sid}", {"notes": None}, ["body", "notes"]),
        ("POST", f"{BASE}/{sid}/entries", {}, ["body", "organisation_id"]),
        (
            "POST",
            f"{BASE}/{sid}/entries",
            {"organisation_id": org, "position": -1},
            ["body", "position"],
        ),
        (
            "POST",
            f"{BASE}/{sid}/entries",
            {"organisation_id": org, "note": "n" * 2001},
            ["body", "note"],
        ),
        ("PATCH", f"{BASE}/{sid}/entries/{org}", {"position": None}, ["body", "position"]),
        ("PATCH", f"{BASE}/{sid}/entries/{org}", {"position": -3}, ["body", "position"]),
        ("GET", f"{BASE}/{sid}/export?format=pdf", None, ["query", "format"]),
        ("GET", f"{BASE}/abc", None, ["path", "shortlist_id"]),
    ]
    for method, url, body, loc in cases:
        response = api.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 422, (method, url, body)
        assert response.headers["content-type"] == "application/problem+json"
        assert loc in [e["loc"] for e in response.json()["errors"]], response.json()


def test_delete_removes_the_list_and_its_entries(api: Api) -> None:
    sid = create(api)["id"]
    add(api, sid, "maternal")
    add(api, sid, "tropical")
    response = api.client.delete(f"{BASE}/{sid}", headers=api.as_("member_a"))
    assert response.status_code == 204
    assert response.content == b""
    assert api.client.get(f"{BASE}/{sid}", headers=api.as_("member_a")).status_code == 404
    assert api.client.delete(f"{BASE}/{sid}", headers=api.as_("member_a")).status_code == 404
    with Session(api.engine) as session:
        assert session.get(Shortlist, sid) is None
        assert (
            session.exec(select(ShortlistEntry).where(ShortlistEntry.shortlist_id == sid)).all()
            == []
        )


# --- entries --------------------------------------------------------------------------------


def test_entries_go_to_the_end_and_are_ordered_by_position_then_id(api: Api) -> None:
    shortlist = create(api)
    sid = shortlist["id"]
    first = add(api, sid, "maternal", note="Strong on midwives")
    assert first["position"] == 0
    assert first["organisation_name"] == "Safe Births Nigeria"
    second = add(api, sid, "tropical")
    assert second["position"] == 1
    front = add(api, sid, "ministry", position=0)  # ties with maternal: broken by id
    assert front["position"] == 0
    last = add(api, sid, "malaria_ngo")
    assert last["position"] == 2

    read = api.client.get(f"{BASE}/{sid}", headers=api.as_("member_a")).json()
    assert [e["organisation_id"] for e in read["entries"]] == [
        api.ids[k] for k in ("maternal", "ministry", "tropical", "malaria_ngo")
    ]
    assert [e["organisation_name"] for e in read["entries"]] == [
        "Safe Births Nigeria",
        "Ministry of Health Uganda",
        "Institute of Tropical Medicine",
        "Malaria Action Kenya",
    ]
    assert read["entries"][0]["note"] == "Strong on midwives"
    assert stamp(read["updated_at"]) > stamp(shortlist["updated_at"])
    # the listing carries the entries too
    listed = api.client.get(BASE, headers=api.as_("member_a")).json()["data"][0]
    assert listed["entries"] == read["entries"]


def test_duplicate_entry_is_409_and_unknown_organisation_404(api: Api) -> None:
    sid = create(api)["id"]
    add(api, sid, "maternal")
    duplicate = api.client.post(
        f"{BASE}/{sid}/entries",
        json={"organisation_id": api.ids["maternal"], "note": "again"},
        headers=api.as_("member_a"),
    )
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"
    assert "already on shortlist" in duplicate.json()["detail"]
    unknown = api.client.post(
        f"{BASE}/{sid}/entries", json={"organisation_id": 999999}, headers=api.as_("member_a")
    )
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "organisation 999999 not found"
    # the same organisation may sit on another list
    other = create(api, name="Other")["id"]
    add(api, other, "maternal")


def test_update_and_remove_entries(api: Api) -> None:
    sid = create(api)["id"]
    add(api, sid, "maternal", note="old")
    add(api, sid, "tropical")
    before = api.client.get(f"{BASE}/{sid}", headers=api.as_("member_a")).json()
    url = f"{BASE}/{sid}/entries/{api.ids['maternal']}"

    response = api.client.patch(url, json={"position": 5}, headers=api.as_("member_a"))
    assert response.status_code == 200
    moved = response.json()
    assert moved["position"] == 5 and moved["note"] == "old"
    assert moved["organisation_name"] == "Safe Births Nigeria"
    noted = api.client.patch(url, json={"note": "new"}, headers=api.as_("member_a")).json()
    assert noted["note"] == "new" and noted["position"] == 5

    after = api.client.get(f"{BASE}/{sid}", headers=api.as_("member_a")).json()
    assert [e["organisation_id"] for e in after["entries"]] == [
        api.ids["tropical"],
        api.ids["maternal"],
    ]
    assert stamp(after["updated_at"]) > stamp(before["updated_at"])

    removed = api.client.delete(url, headers=api.as_("member_a"))
    assert removed.status_code == 204
    final = api.client.get(f"{BASE}/{sid}", headers=api.as_("member_a")).json()
    assert [e["organisation_id"] for e in final["entries"]] == [api.ids["tropical"]]
    assert stamp(final["updated_at"]) > stamp(after["updated_at"])
    # an organisation not on the list
    assert api.client.delete(url, headers=api.as_("member_a")).status_code == 404
    patched = api.client.patch(url, json={"note": "x"}, headers=api.as_("member_a"))
    assert patched.status_code == 404


# --- export ---------------------------------------------------------------------------------

INJECTED = '=HYPERLINK("http://evil.example","click")'


def export_list(api: Api) -> int:
    """member_a's list: its own organisation (malaria_ngo) and maternal, with risky notes."""
    sid: int = create(api, name="Malária / consórcio: 2025?")["id"]
    add(api, sid, "maternal", note=INJECTED)
    add(api, sid, "malaria_ngo", note="+1 for bed nets")
    add(api, sid, "tropical", note="Société, à voir", position=0)  # after maternal: an older id
    return sid


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_csv_export_rows_order_escaping_and_emails(api: Api) -> None:
    sid = export_list(api)
    response = api.client.get(f"{BASE}/{sid}/export?format=csv", headers=api.as_("member_a"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="Malaria-consorcio-2025.csv"'
    )
    rows = csv_rows(response.content)
    assert rows[0] == HEADER
    assert rows[1:] == [
        ["0", str(api.ids["maternal"]), "Safe Births Nigeria", "NG", "ngo", "", "'" + INJECTED,
         ""],
        ["0", str(api.ids["tropical"]), "Institute of Tropical Medicine", "BE", "research", "",
         "Société, à voir", ""],
        ["1", str(api.ids["malaria_ngo"]), "Malaria Action Kenya", "KE", "ngo", "",
         "'+1 for bed nets", "office@malaria-ngo.example"],
    ]  # fmt: skip
    # the default format is CSV
    default = api.client.get(f"{BASE}/{sid}/export", headers=api.as_("member_a"))
    assert default.content == response.content


def test_xlsx_export_rows_order_escaping_and_emails(api: Api) -> None:
    sid = export_list(api)
    response = api.client.get(f"{BASE}/{sid}/export?format=xlsx", headers=api.as_("member_a"))
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"] == (
        'attachment; filename="Malaria-consorcio-2025.xlsx"'
    )
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADER
    assert [r[1] for r in rows[1:]] == [api.ids[k] for k in ("maternal", "tropical", "malaria_ngo")]
    assert [r[0] for r in rows[1:]] == [0, 0, 1]
    maternal, tropical, ngo = rows[1:]
    assert maternal[6] == "'" + INJECTED
    assert sheet.cell(row=2, column=7).data_type == "s"  # text, not a formula
    assert maternal[7] in (None, "")
    assert ngo[6] == "'+1 for bed nets"
    assert ngo[7] == "office@malaria-ngo.example"
    assert tropical[6] == "Société, à voir"
    assert tropical[2:6] == ["Institute of Tropical Medicine", "BE", "research", None]


def test_an_admin_export_shows_every_contact_email(api: Api) -> None:
    sid = export_list(api)
    rows = csv_rows(api.client.get(f"{BASE}/{sid}/export", headers=api.as_("admin")).content)
    emails = {row[1]: row[7] for row in rows[1:]}
    assert emails[str(api.ids["malaria_ngo"])] == "office@malaria-ngo.example"
    assert emails[str(api.ids["maternal"])] == "hello@maternal.example"
    assert emails[str(api.ids["tropical"])] == ""  # it has none


def test_member_b_sees_only_its_own_organisations_email(api: Api) -> None:
    sid = create(api, role="member_b", name="B's list")["id"]
    add(api, sid, "maternal", role="member_b")
    add(api, sid, "malaria_ngo", role="member_b")
    rows = csv_rows(api.client.get(f"{BASE}/{sid}/export", headers=api.as_("member_b")).content)
    emails = {row[1]: row[7] for row in rows[1:]}
    assert emails == {
        str(api.ids["maternal"]): "hello@maternal.example",
        str(api.ids["malaria_ngo"]): "",
    }


def test_export_of_an_empty_list_has_the_header_only(api: Api) -> None:
    sid = create(api, name="   ")["id"]  # a name with nothing usable for a file name
    response = api.client.get(f"{BASE}/{sid}/export", headers=api.as_("member_a"))
    assert response.headers["content-disposition"] == f'attachment; filename="shortlist-{sid}.csv"'
    assert csv_rows(response.content) == [HEADER]


def test_neutralise_and_safe_filename() -> None:
    for risky in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(risky) == "'" + risky
    assert neutralise("plain") == "plain"
    assert neutralise("a=b") == "a=b"
    assert neutralise(-1) == -1  # numbers stay numbers
    assert safe_filename('a"b\r\nc;d/../e', 1, "csv") == "a-b-c-d-..-e.csv"
    assert safe_filename("../../etc/passwd", 1, "csv") == "etc-passwd.csv"
    assert safe_filename("日本語", 7, "xlsx") == "shortlist-7.xlsx"
    assert len(safe_filename("x" * 500, 1, "csv")) == 84


def test_xlsx_drops_control_characters_a_workbook_cannot_hold() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(to_xlsx([["bell\x07 and\x00 nul", 3]])))
    sheet = workbook.active
    assert sheet is not None
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [["bell and nul", 3]]

"""``links`` and ``import-time`` in process, on a real SQLite file."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from milestonebill.cli import main
from milestonebill.clock import FixedClock
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.practice import AGREEMENT, practice_world
from milestonebill.testing.scenarios import T0

TIME = ("Date,Staff Member,Hours,Rate,Project\n"
        "03/02/2026,Ada,2.5,150,Acme audit\n"
        "03/03/2026,Grace,1,120,Internal\n")


def run(db: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--db", str(db), *argv], out=out, environ={})
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store holding agr-1 (hours against an estimate of 100) and agr-2."""
    path = tmp_path / "b.db"
    clock = FixedClock(T0)
    with SQLiteStore(path, clock=clock) as store:
        practice_world(store, clock=clock)
    return path


def test_links_are_added_listed_and_removed(db: Path) -> None:
    code, out, _ = run(db, "links", "add", "karbon", "WI-7", "agr-1", "--milestone", "design")
    assert (code, out.split("\n")[1].split()) == (0, ["karbon", "WI-7", "agr-1", "milestone",
                                                      "design"])
    run(db, "links", "add", "bigtime", "Acme audit", "agr-1")
    code, out, _ = run(db, "--json", "links", "list", "--agreement", "agr-1")
    assert [x["external_id"] for x in json.loads(out)["links"]] == ["Acme audit", "WI-7"]
    code, out, _ = run(db, "links", "remove", "karbon", "WI-7")
    assert (code, out.split("\n")[1].split()[:2]) == (0, ["karbon", "WI-7"])
    assert [x["source"] for x in json.loads(run(db, "--json", "links", "list")[1])["links"]] \
        == ["bigtime"]
    assert run(db, "links", "remove", "karbon", "WI-7")[1] == "nothing unlinked\n"


def test_a_link_the_agreement_cannot_take_is_refused_with_exit_1(db: Path) -> None:
    code, out, err = run(db, "links", "add", "karbon", "WI-7", "agr-1", "--milestone", "launch")
    assert (code, out) == (1, "")
    assert "launch" in err
    assert run(db, "links", "list")[1] == "no links\n"


def test_milestone_and_obligation_are_one_or_the_other(db: Path) -> None:
    code, _, err = run(db, "links", "add", "karbon", "WI-7", "agr-1", "--milestone", "a",
                       "--obligation", "b")
    assert (code, "not allowed with" in err) == (2, True)


def test_the_generic_links_file_is_stored_under_generic(db: Path, tmp_path: Path) -> None:
    file = tmp_path / "links.json"
    file.write_text(json.dumps({"TASK-7": {"agreement_id": "agr-1", "milestone_id": "design"},
                                "TASK-8": {"agreement_id": "agr-1", "milestone_id": "nope"}}))
    code, _, err = run(db, "links", "import", str(file))
    assert (code, run(db, "links", "list")[1]) == (1, "no links\n")  # all or none
    assert "nope" in err
    file.write_text(json.dumps({"TASK-7": {"agreement_id": "agr-1", "milestone_id": "design"}}))
    code, out, _ = run(db, "--json", "links", "import", str(file))
    assert (code, json.loads(out)["linked"][0]["source"]) == (0, "generic")


def test_a_time_export_is_imported_once(db: Path, tmp_path: Path) -> None:
    run(db, "links", "add", "bigtime", "Acme audit", "agr-1")
    file = tmp_path / "time.csv"
    file.write_text(TIME)
    args = ("import-time", str(file), "--map", "Staff Member=person", "--date-format",
            "%m/%d/%Y")
    code, out, _ = run(db, *args)
    assert (code, out.splitlines()[0]) == (
        0, f"{file}: 1 entries recorded (2.5 hours), 0 already counted, 1 ignored")
    code, out, _ = run(db, "--json", *args)
    assert [r["outcome"] for r in json.loads(out)["results"]] == ["duplicate", "ignored"]
    with SQLiteStore(db) as store:
        assert store.version(AGREEMENT) == 2


def test_a_bad_export_is_refused_with_exit_1_naming_row_and_column(db: Path,
                                                                   tmp_path: Path) -> None:
    file = tmp_path / "time.csv"
    file.write_text(TIME)
    code, out, _ = run(db, "import-time", str(file))
    assert code == 1
    assert "row 1, person: is missing (map the header that holds it with --map " \
        "'HEADER=COLUMN')" in out
    assert run(db, "import-time", str(file), "--map", "Staff")[0] == 2

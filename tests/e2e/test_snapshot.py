"""``b24sync snapshot`` against both emulators over loopback: counts, text, incremental reads, the state."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from b24sync import __version__
from b24sync.cli import app
from b24sync.cli.snapshot import Entity, Side
from b24sync.extract import COUNTERPARTIES
from b24sync.pipeline import WATERMARK
from b24sync.snapshot import ENTITIES, SIDES, take_snapshot
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import portal_now
from b24sync.sources.onec.client import OneCClient
from b24sync.state import State
from tests.e2e.conftest import sandbox_world

WIDE = {"COLUMNS": "200"}
runner = CliRunner()


@pytest.fixture
def world(tmp_path):
    with sandbox_world(tmp_path, seed=7) as world:
        yield world


def cli(cfg_path: Path, *args: str):
    return runner.invoke(app, ["--config", str(cfg_path), "snapshot", *args], env=WIDE)


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def store_counts(sandbox) -> dict[str, int]:
    store = sandbox.portal.store
    return {
        "companies": len(store.table("company").rows),
        "contacts": len(store.table("contact").rows),
        "requisites": len(store.table("requisite").rows),
        "addresses": sum(1 for key in store.addresses if key[1] == 8),
        "users": len(store.table("user").rows),
        "counterparties": len(sandbox.store.records(COUNTERPARTIES)),
    }


def fingerprint(path: Path) -> tuple[str, list[str]]:
    """The state file's bytes, and its content as SQL (read-only, so looking changes nothing)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return digest, list(conn.iterdump())
    finally:
        conn.close()


def seed_state(config, b24: Bitrix24Client, onec: OneCClient) -> str:
    """What a finished reconciliation leaves: the portal's clock as the watermark, every 1C version known."""
    state = State(config.state_path)
    watermark = portal_now(b24).isoformat()
    state.set_watermark(WATERMARK, watermark)
    state.set_onec_versions(COUNTERPARTIES, onec.scan_versions(COUNTERPARTIES))
    run_id = state.start_run("reconcile")
    state.finish_run(run_id, "ok", {})
    state.db.conn.close()
    return watermark


def test_cli_choices_are_the_library_ones():
    assert tuple(s.value for s in Side) == SIDES
    assert {e.value for e in Entity} == {e for side in SIDES for e in ENTITIES[side]}


def test_a_full_snapshot_of_both_sides_has_every_record_with_its_text_intact(world, tmp_path):
    sandbox, cfg_path, config, b24, onec = world
    out = tmp_path / "snap" / "full"
    result = cli(cfg_path, "--full", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "read in full" in result.output
    counts = store_counts(sandbox)
    files = {side: {e: read_csv(out / f"{side}-{e}.csv") for e in ENTITIES[side]} for side in SIDES}
    for side in SIDES:
        for entity in ENTITIES[side]:
            assert len(files[side][entity]) == counts[entity], (side, entity)
    b24_parties = read_csv(out / "bitrix24-parties.csv")
    assert len(b24_parties) == counts["companies"] + counts["contacts"]
    assert len(read_csv(out / "onec-parties.csv")) == counts["counterparties"]

    # Cyrillic names round-trip, byte for byte, as the systems hold them
    titles = {str(r["TITLE"]) for r in sandbox.portal.store.table("company").rows.values()}
    assert set(files["bitrix24"]["companies"]["TITLE"]) == titles
    assert any("О" in title or "ООО" in title for title in titles)
    surnames = {str(r["LAST_NAME"]) for r in sandbox.portal.store.table("contact").rows.values()}
    assert set(files["bitrix24"]["contacts"]["LAST_NAME"]) == surnames
    descriptions = {r["Description"] for r in sandbox.store.records(COUNTERPARTIES)}
    assert set(files["onec"]["counterparties"]["Description"]) == descriptions
    assert "ИНН" in files["onec"]["counterparties"].columns
    assert (out / "bitrix24-contacts.csv").read_bytes().decode("utf-8")  # plain UTF-8, no BOM needed
    assert not (out / "bitrix24-contacts.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    # lists are JSON: the raw multifields, the canonical sets, 1C contact information
    phones = [json.loads(v) for v in files["bitrix24"]["companies"]["PHONE"]]
    assert all(isinstance(v, list) for v in phones) and any(v and "VALUE" in v[0] for v in phones)
    sets = [json.loads(v) for v in b24_parties["phones"]]
    assert all(isinstance(v, list) for v in sets) and any(p.startswith("+7") for v in sets for p in v)
    info = [json.loads(v) for v in files["onec"]["counterparties"]["КонтактнаяИнформация"]]
    assert any(row.get("Тип") == "Телефон" for rows in info for row in rows)

    # owner-only files in an owner-only directory
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left

    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["b24sync_version"] == __version__ and manifest["format_version"] == 1
    assert manifest["side"] == "both" and manifest["entity"] is None and manifest["full"] is True
    assert {side: read["mode"] for side, read in manifest["reads"].items()} == {"bitrix24": "full", "onec": "full"}
    assert manifest["rows"] == sum(counts.values())
    assert manifest["requests"] == sum(read["requests"] for read in manifest["reads"].values()) > 0
    assert manifest["seconds"] > 0
    by_name = {(f["side"], f["entity"]): f for f in manifest["frames"]}
    assert by_name[("bitrix24", "companies")]["rows"] == counts["companies"]
    assert by_name[("bitrix24", "parties")]["kind"] == "canonical"
    assert "TITLE" in by_name[("bitrix24", "companies")]["columns"]
    csv_file = by_name[("onec", "counterparties")]["files"]["csv"]
    assert csv_file["sha256"] == hashlib.sha256((out / csv_file["name"]).read_bytes()).hexdigest()


def test_an_incremental_snapshot_holds_the_edits_and_leaves_the_state_untouched(world, tmp_path):
    sandbox, cfg_path, config, b24, onec = world
    watermark = seed_state(config, b24, onec)
    before = fingerprint(config.state_path)
    contact_id = min(sandbox.portal.store.table("contact").rows)
    b24.call("crm.contact.update", {"id": contact_id, "fields": {"LAST_NAME": "Ёлкина-Щукина"}})
    ref = sandbox.store.records(COUNTERPARTIES)[3]["Ref_Key"]
    onec.update(COUNTERPARTIES, ref, {"Description": "Лесной ручей ООО"})

    out = tmp_path / "incremental"
    result = cli(cfg_path, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "changes since" in result.output and "1 new or changed" in result.output
    contacts = read_csv(out / "bitrix24-contacts.csv")
    assert list(contacts["ID"]) == [str(contact_id)]
    assert list(contacts["LAST_NAME"]) == ["Ёлкина-Щукина"]
    assert len(read_csv(out / "bitrix24-companies.csv")) == 0
    counterparties = read_csv(out / "onec-counterparties.csv")
    assert list(counterparties["Ref_Key"]) == [ref] and list(counterparties["Description"]) == ["Лесной ручей ООО"]
    parties = read_csv(out / "onec-parties.csv")
    assert list(parties["name"]) == ["Лесной ручей ООО"]
    assert "Ёлкина-Щукина" in read_csv(out / "bitrix24-parties.csv")["name"].iloc[0]
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    b24_read, onec_read = manifest["reads"]["bitrix24"], manifest["reads"]["onec"]
    assert b24_read["mode"] == "incremental" and b24_read["watermark"] == watermark
    assert onec_read["mode"] == "incremental" and onec_read["changed"] == 1
    assert onec_read["known_versions"] == len(sandbox.store.records(COUNTERPARTIES))

    # a snapshot moves no watermark, records no run: the file is byte for byte the same
    after = fingerprint(config.state_path)
    assert after == before
    # …and the next snapshot still sees the same changes
    again = take_snapshot(config, tmp_path / "again")
    assert [f.rows for f in again.frames if (f.side, f.entity) == ("bitrix24", "contacts")] == [1]
    assert fingerprint(config.state_path) == before


def test_one_entity_reads_only_what_it_needs(world, tmp_path):
    sandbox, cfg_path, config, b24, onec = world
    sandbox.bitrix24.request_log.clear()
    onec_before = len(sandbox.onec.request_log)
    out = tmp_path / "contacts"
    result = cli(cfg_path, "--entity", "contacts", "--full", "--out", str(out))
    assert result.exit_code == 0, result.output
    methods = {c for record in sandbox.bitrix24.request_log.snapshot() for c in record.commands}
    assert "crm.contact.list" in methods and not {"crm.company.list", "crm.requisite.list"} & methods
    assert len(sandbox.onec.request_log) == onec_before  # the side is implied by the entity
    names = {p.name for p in out.iterdir()}
    assert {n for n in names if n.endswith(".csv")} == {"bitrix24-contacts.csv", "bitrix24-users.csv",
                                                        "bitrix24-parties.csv"}
    parties = read_csv(out / "bitrix24-parties.csv")
    assert set(parties["entity"]) == {"contact"} and len(parties) == store_counts(sandbox)["contacts"]
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["side"] == "bitrix24" and manifest["entity"] == "contacts"

    only_onec = take_snapshot(config, tmp_path / "onec", side="onec", full=True)
    assert [f.entity for f in only_onec.frames] == ["counterparties", "parties"]
    assert only_onec.rows == store_counts(sandbox)["counterparties"]


def test_existing_files_are_kept_unless_forced(world, tmp_path):
    sandbox, cfg_path, config, b24, onec = world
    out = tmp_path / "out"
    out.mkdir()
    (out / "bitrix24-users.csv").write_text("")  # an empty file is no snapshot: it may be replaced
    assert cli(cfg_path, "--entity", "users", "--out", str(out)).exit_code == 0
    first = (out / "manifest.json").read_bytes()
    sandbox.bitrix24.request_log.clear()
    refused = cli(cfg_path, "--entity", "users", "--out", str(out))
    assert refused.exit_code == 1 and "--force" in refused.output
    assert "bitrix24-users.csv" in refused.output
    assert len(sandbox.bitrix24.request_log) == 0  # refused before the first request
    assert (out / "manifest.json").read_bytes() == first
    forced = cli(cfg_path, "--entity", "users", "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert stat.S_IMODE((out / "bitrix24-users.csv").stat().st_mode) == 0o600


@pytest.mark.parametrize("args", [
    ["--side", "sap"],
    ["--entity", "deals"],
    ["--side", "onec", "--entity", "contacts"],
    ["--side", "bitrix24", "--entity", "counterparties"],
])
def test_an_unknown_side_or_entity_is_a_usage_error(world, tmp_path, args):
    sandbox, cfg_path, *_ = world
    result = cli(cfg_path, *args, "--out", str(tmp_path / "never"))
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "never").exists()


def test_parquet_holds_the_same_frames(world, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    sandbox, cfg_path, config, b24, onec = world
    out = tmp_path / "pq"
    report = take_snapshot(config, out, full=True)
    assert report.parquet
    for frame in report.frames:
        table = pq.read_table(frame.files["parquet"])
        assert table.num_rows == frame.rows and table.column_names == frame.columns
        assert stat.S_IMODE(frame.files["parquet"].stat().st_mode) == 0o600
    companies = pq.read_table(out / "bitrix24-companies.parquet").to_pandas()
    assert set(companies["TITLE"]) == set(read_csv(out / "bitrix24-companies.csv")["TITLE"])
    assert str(companies["ID"].dtype).lower().startswith("int")
    parties = pq.read_table(out / "onec-parties.parquet").to_pandas()
    assert list(parties["emails"]) == list(read_csv(out / "onec-parties.csv")["emails"])
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["parquet"] is True
    assert all("parquet" in frame["files"] for frame in manifest["frames"])


def test_an_unreadable_state_is_named_and_full_does_without_it(world, tmp_path):
    sandbox, cfg_path, config, b24, onec = world
    config.state_path.write_bytes(b"not a database, " * 64)
    refused = cli(cfg_path, "--entity", "users", "--out", str(tmp_path / "a"))
    assert refused.exit_code == 1, refused.output
    assert str(config.state_path.name) in refused.output and "--full" in refused.output
    assert cli(cfg_path, "--entity", "users", "--full", "--out", str(tmp_path / "b")).exit_code == 0
    assert config.state_path.read_bytes() == b"not a database, " * 64

"""The processing map covers every column of the models, both ways, and says true things.

The first test is the one that fails when someone adds a column without saying what it holds,
why, and for how long (bot/storage/privacy_map.py, DESCRIPTIONS), or leaves a description
behind for a column that is gone.
"""

from __future__ import annotations

from typing import get_args

import pytest

from bot.config import Settings
from bot.rules.privacy import RETENTION_KINDS, PrivacyPolicy
from bot.storage import privacy_map
from bot.storage.models import Base
from bot.storage.privacy_map import (
    DESCRIPTIONS,
    FILES,
    MapIncomplete,
    check_descriptions,
    column_names,
    processing_map,
    stored_files,
)
from bot.storage.sealed import sealed_columns


@pytest.fixture(scope="module")
def policy() -> PrivacyPolicy:
    return PrivacyPolicy.load(Settings().privacy_path)


def test_every_column_has_a_description_and_every_description_a_column() -> None:
    models = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
    }
    assert not models - set(DESCRIPTIONS), "columns without a description in privacy_map.py"
    assert not set(DESCRIPTIONS) - models, "descriptions of columns that do not exist"
    check_descriptions()


def test_a_column_without_a_description_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    without = {name: d for name, d in DESCRIPTIONS.items() if name != "answer.value"}
    monkeypatch.setattr(privacy_map, "DESCRIPTIONS", without)
    with pytest.raises(MapIncomplete, match=r"no description for answer\.value") as raised:
        check_descriptions()
    assert raised.value.undescribed == ("answer.value",)


def test_a_description_of_no_column_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {**DESCRIPTIONS, "person.name": DESCRIPTIONS["person.language"]}
    monkeypatch.setattr(privacy_map, "DESCRIPTIONS", extra)
    with pytest.raises(MapIncomplete, match=r"of no column: person\.name") as raised:
        check_descriptions()
    assert raised.value.unknown == ("person.name",)


def test_the_map_has_every_column_once_in_the_models_order(policy: PrivacyPolicy) -> None:
    mapped = processing_map(policy)
    assert [column.name for column in mapped] == list(column_names())
    assert sorted(column_names()) == sorted(DESCRIPTIONS)
    assert mapped[0].name == "person.id"
    assert mapped[0].about.startswith("Someone who talks to the bot")


def test_categories_purposes_and_retention_are_known(policy: PrivacyPolicy) -> None:
    categories, purposes = set(get_args(privacy_map.Category)), set(get_args(privacy_map.Purpose))
    assert set(privacy_map.CATEGORIES) == categories
    assert set(privacy_map.PURPOSES) == purposes
    assert set(privacy_map.RETENTION_FROM) == set(RETENTION_KINDS)
    for name, described in DESCRIPTIONS.items():
        assert described.categories, name
        assert len(set(described.categories)) == len(described.categories), name
        assert set(described.categories) <= categories, name
        assert described.purpose in purposes, name
        assert described.retention in privacy_map.RETENTIONS, name
        assert described.holds.strip(), name
    for file in FILES:
        assert file.categories and set(file.categories) <= categories, file.name
        assert file.purpose in purposes, file.name


def test_retention_terms_come_from_the_privacy_file(policy: PrivacyPolicy) -> None:
    by_name = {column.name: column for column in processing_map(policy)}
    assert by_name["answer.value"].term.startswith(f"{policy.retention.case_file} after")
    assert by_name["person.external_id"].term.startswith(f"{policy.retention.contact} after")
    assert by_name["processed_update.key"].term.startswith(
        f"{policy.retention.processed_updates} after"
    )
    assert by_name["audit_event.action"].retention == "kept"
    # Every kind of privacy.yaml is used by some column: none is configured for nothing.
    assert {c.retention for c in by_name.values()} >= set(RETENTION_KINDS)


def test_encrypted_is_what_the_column_types_seal(policy: PrivacyPolicy) -> None:
    sealed = {column.name for column in sealed_columns()}
    assert sealed, "no sealed column found: the test would prove nothing"
    assert {column.name for column in processing_map(policy) if column.encrypted} == sealed


def test_free_text_is_always_encrypted(policy: PrivacyPolicy) -> None:
    # design.md, principle 9: words people type are sealed at rest.
    plain_text = [
        column.name
        for column in processing_map(policy)
        if "free text" in column.categories and not column.encrypted
    ]
    assert plain_text == []


def test_files_say_where_this_deployment_keeps_them() -> None:
    settings = Settings(
        database_url="postgresql://user:secret@db.example/wegwijzer",
        alarm_journal=None,
        encryption_keys='{"not": "read"}',
    )
    where = {mapped.file.location: mapped.where for mapped in stored_files(settings)}
    assert "secret" not in where["database"] and "postgresql" in where["database"]
    assert where["alarm_journal"] == "wegwijzer-alarms.jsonl"
    assert where["update_inbox"] == str(settings.update_inbox_path)
    assert "ENCRYPTION_KEYS" in where["key_ring"]
    sqlite = stored_files(Settings(database_url="sqlite:////srv/wz/bot.db"))
    assert sqlite[0].where == "/srv/wz/bot.db"
    assert {f.file.name.split(" (")[0] for f in sqlite} >= {
        "alarm journal",
        "update inbox",
        "answer exports",
        "invite QR image",
        "key ring",
    }

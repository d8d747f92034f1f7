"""The helplines file (`locales/helplines.yaml`): every kind of alarm has help, every text is
in every shipped language, and a mistake stops the bot with the place named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.cli import main
from bot.config import PROJECT_ROOT
from bot.i18n.helplines import Helplines, HelplinesError
from bot.rules.alarms import ALARM_KINDS

SHIPPED = PROJECT_ROOT / "locales" / "helplines.yaml"
LANGUAGES = ("nl", "en", "ar", "tr", "pl", "uk", "fr", "sw")


def shipped() -> dict:
    document: dict = YAML(typ="safe", pure=True).load(SHIPPED.read_text(encoding="utf-8"))
    return document


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "helplines.yaml"
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as file:
        yaml.dump(document, file)
    return path


def test_the_netherlands_has_help_for_every_kind_in_every_language() -> None:
    helplines = Helplines.load(SHIPPED, "NL", LANGUAGES)
    numbers = {
        kind: [
            number
            for _, lines in helplines.for_kinds((kind,))
            for line in lines
            for number in line.numbers
        ]
        for kind in ALARM_KINDS
    }
    assert numbers["immediate_danger"] == ["112", "0800-2000"]
    assert numbers["violence_at_home"] == ["112", "0800-2000"]
    assert numbers["self_harm"] == ["0800-0113", "113", "112"]
    assert numbers["child_speaking"] == ["0800-0432", "112"]
    assert helplines.get("kindertelefoon").ages == (8, 18)
    assert helplines.emergency_number == "112"
    assert helplines.advice_line.in_language("ar") == "Veilig Thuis 0800-2000"
    assert [line.name["en"] for line in helplines.signpost] == [
        "Your GP (huisarts)",
        "113 Zelfmoordpreventie",
    ]


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (
            lambda nl: nl["alarms"].update(earthquake=["emergency"]),
            "countries.NL: Value error, alarms: unknown kind earthquake",
        ),
        (
            lambda nl: nl["alarms"].pop("self_harm"),
            "no helpline for self_harm: every kind needs help",
        ),
        (
            lambda nl: nl["alarms"].update(child_speaking=[]),
            "no helpline for child_speaking",
        ),
        (
            lambda nl: nl["alarms"].update(self_harm=["samaritans"]),
            "alarms.self_harm: no helpline 'samaritans'",
        ),
        (
            lambda nl: nl["helplines"]["kindertelefoon"]["name"].pop("ar"),
            "countries.NL.helplines.kindertelefoon.name: no text in ar",
        ),
        (
            lambda nl: nl["helplines"]["zelfmoordpreventie"]["purpose"].update(sw=" "),
            "countries.NL.helplines.zelfmoordpreventie.purpose: no text in sw",
        ),
        (
            lambda nl: nl["helplines"]["emergency"].update(numbers=["call 112"]),
            "'call 112' is not a phone number",
        ),
        (
            lambda nl: nl["helplines"]["veilig_thuis"].pop("hours"),
            "says when it answers",
        ),
        (
            lambda nl: nl["helplines"]["emergency"].update(colour="red"),
            "helplines.emergency.colour: Extra inputs are not permitted",
        ),
        (
            lambda nl: nl["helplines"]["emergency"].update(numbers=["  -"]),
            "'  -' is not a phone number",
        ),
        (
            lambda nl: nl["alarms"].update(self_harm=["huisarts"]),
            "alarms.self_harm: none of its helplines has a number to call",
        ),
        (
            lambda nl: nl["alarms"].update(self_harm=["zelfmoordpreventie", "zelfmoordpreventie"]),
            "alarms.self_harm: a helpline is listed twice",
        ),
    ],
    ids=[
        "unknown-kind",
        "kind-left-out",
        "kind-without-help",
        "unknown-helpline",
        "missing-language",
        "empty-text",
        "bad-number",
        "no-hours",
        "unknown-field",
        "number-without-digits",
        "kind-without-a-number",
        "helpline-twice",
    ],
)
def test_a_wrong_file_is_refused_with_the_place_named(tmp_path: Path, break_it, message) -> None:
    document = shipped()
    break_it(document["countries"]["NL"])
    path = write(tmp_path, document)
    with pytest.raises(HelplinesError, match=re.escape(message)) as refused:
        Helplines.load(path, "NL", LANGUAGES)
    assert str(path) in str(refused.value)


def test_a_country_not_in_the_file_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HelplinesError, match=r"no helplines for the country 'KE' \(COUNTRY\)"):
        Helplines.load(SHIPPED, "KE", LANGUAGES)
    with pytest.raises(HelplinesError, match="the helplines file is missing"):
        Helplines.load(tmp_path / "nothing.yaml", "NL", LANGUAGES)


def test_doctor_and_start_up_say_what_is_wrong_and_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = shipped()
    document["countries"]["NL"]["alarms"].pop("child_speaking")
    monkeypatch.setenv("HELPLINES_FILE", str(write(tmp_path, document)))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'doctor.db'}")
    assert main(["doctor"]) == 2
    said = capsys.readouterr().err
    assert "wegwijzer: helplines: " in said and "no helpline for child_speaking" in said


def test_an_alarm_without_a_known_kind_still_gets_the_help_for_immediate_danger() -> None:
    helplines = Helplines.load(SHIPPED, "NL", LANGUAGES)
    for kinds in ((), ("earthquake",)):
        ((kind, lines),) = helplines.for_kinds(kinds)  # type: ignore[arg-type]
        assert kind == "immediate_danger" and lines[0].numbers == ("112",)

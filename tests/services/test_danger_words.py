"""Danger patterns: how a text is read, the list syntax, negation, idioms and kinds."""

from __future__ import annotations

import timeit
from pathlib import Path

import pytest

from bot.i18n.danger import DangerListInvalid, DangerListMissing, DangerWords, words_of

LOCALES = Path(__file__).resolve().parents[2] / "locales"
SHIPPED = ("nl", "en", "ar", "tr", "pl", "uk", "fr", "sw")


@pytest.fixture(scope="module")
def shipped() -> DangerWords:
    return DangerWords.load(LOCALES, SHIPPED)


def lists(tmp_path: Path, **by_language: str) -> DangerWords:
    for language, content in by_language.items():
        (tmp_path / language).mkdir(parents=True)
        (tmp_path / language / "danger_words.txt").write_text(content, encoding="utf-8")
    return DangerWords.load(tmp_path, by_language)


def kinds(danger: DangerWords, text: str) -> tuple[str, ...]:
    match = danger.find(text)
    return match.kinds if match is not None else ()


# --- how a text is read ------------------------------------------------------------------


def test_case_accents_and_punctuation_do_not_matter() -> None:
    assert words_of("Hij SLAAT   mij!!") == ["hij", "slaat", "mij"]
    assert words_of("Je suis en dânger") == ["je", "suis", "en", "danger"]
    assert words_of("Dövüyor, ŞİDDET") == ["dovuyor", "siddet"]
    assert words_of("Mąż mnie bił") == ["maz", "mnie", "bil"]


def test_arabic_diacritics_tatweel_and_letter_variants_are_unified() -> None:
    assert words_of("أَنَا فِي خَطَر") == words_of("انا في خطر") == ["انا", "في", "خطر"]
    assert words_of("يضـــربني") == words_of("يضربني")
    assert words_of("إلى آخر مساعدة مستشفى") == ["الي", "اخر", "مساعده", "مستشفي"]
    assert words_of("يؤذيني") == ["يوذيني"]
    assert words_of("عمري ١٢") == ["عمري", "12"]


def test_invisible_characters_are_dropped_not_made_spaces() -> None:
    for hidden in ("\u200b", "\u00ad", "\u200d", "\u2060", "\u200f", "\u202e", "\x07"):
        assert words_of(f"he hi{hidden}ts me") == ["he", "hits", "me"]
    assert words_of("help\nme") == ["help", "me"]


def test_letters_typed_three_times_or_more_count_once() -> None:
    assert words_of("heeeelp") == ["help"]
    assert words_of("he hiiiits me") == ["he", "hits", "me"]
    assert words_of("SOOOS") == ["sos"]
    assert words_of("slaat moeder 2000") == ["slaat", "moeder", "2000"]  # doubles stay


def test_apostrophes_join_except_after_a_french_elision() -> None:
    assert words_of("I don't feel safe") == ["i", "dont", "feel", "safe"]
    assert words_of("I’m 12") == ["im", "12"]
    assert words_of("він б'є мене") == words_of("він бʼє мене") == ["він", "бє", "мене"]
    assert words_of("il m'a frappée") == ["il", "m", "a", "frappee"]
    assert words_of("j’ai peur") == ["j", "ai", "peur"]


def test_lookalike_letters_and_digits() -> None:
    assert words_of("он мeня бьёт") == ["он", "меня", "бьет"]  # a Latin e in a Cyrillic word
    assert words_of("hеlp") == ["help"]  # a Cyrillic е in a Latin word
    assert words_of("14yo groep7") == ["14", "yo", "groep", "7"]


# --- the list syntax -----------------------------------------------------------------------


def test_patterns_stems_gaps_sets_alternatives_and_order(tmp_path: Path) -> None:
    danger = lists(
        tmp_path,
        nl="@me = mij | me | ons | mama\n[violence_at_home]\nhij sla* @me\n"
        "mijn vader .. slaat\nbang & voor hem\n[self_harm]\n*zelfmoord*\n",
    )
    assert danger.find("Help, HIJ slaat   mij!").phrase == "hij slaat mij"
    assert kinds(danger, "hij slaan ons") == ("violence_at_home",)
    assert kinds(danger, "hij slaat mama weer") == ("violence_at_home",)
    assert danger.find("hij slaat mijn bal weg") is None  # "mijn" is not in @me
    assert kinds(danger, "mijn vader die altijd slaat") == ("violence_at_home",)  # a gap
    assert danger.find("mijn vader heeft al vier jaar nooit geslagen") is None  # gap too long
    assert kinds(danger, "voor hem ben ik bang") == ("violence_at_home",)  # "&": any order
    assert danger.find("ik ben bang. voor hem is het fijn") is None  # not in one clause
    assert kinds(danger, "gedachten over zelfmoordplannen") == ("self_harm",)
    assert danger.find("ongevaarlijk") is None


def test_whole_message_lookahead_and_ages(tmp_path: Path) -> None:
    danger = lists(
        tmp_path,
        en="[immediate_danger]\n= help\nhelp me !with|to\n[child_speaking]\ni am %age !minutes\n",
    )
    for cry in ("help", "Help!!!", "help help", "heeeelp"):
        assert kinds(danger, cry) == ("immediate_danger",)
    assert danger.find("thanks for your help") is None
    assert kinds(danger, "help me please") == ("immediate_danger",)
    assert kinds(danger, "please help me") == ("immediate_danger",)
    assert danger.find("can you help me with the form") is None
    assert kinds(danger, "I am 12") == ("child_speaking",)
    assert kinds(danger, "i am 17 and scared") == ("child_speaking",)
    assert danger.find("i am 12 minutes late") is None
    assert danger.find("i am 40") is None


def test_a_broken_line_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(DangerListInvalid, match="section"):
        lists(tmp_path, nl="hij slaat mij\n")
    with pytest.raises(DangerListInvalid, match="@kids"):
        lists(tmp_path / "b", en="[violence_at_home]\nhits @kids\n")
    with pytest.raises(DangerListInvalid, match="empty"):
        lists(tmp_path / "c", en="[violence_at_home]\nhits me|\n")
    with pytest.raises(DangerListInvalid, match="unknown section"):
        lists(tmp_path / "d", en="[violence]\nhits me\n")
    with pytest.raises(DangerListInvalid, match="no spaces around"):  # "hits me|my mum"?
        lists(tmp_path / "e", en="[violence_at_home]\nhits me | my mum\n")


# --- negation and idioms ---------------------------------------------------------------------


def test_a_negation_cancels_only_the_phrase_it_governs(tmp_path: Path) -> None:
    danger = lists(
        tmp_path,
        en="[negation]\nno | not | dont\n[clause]\nbut | whether\n[immediate_danger]\n"
        "in danger\nemergency\nnot safe\ndont feel safe\n[violence_at_home]\nhe hits me\n",
    )
    assert danger.find("we are not in danger") is None
    assert danger.find("no emergency, thanks") is None
    assert danger.find("this is not an emergency") is None
    # Further away, a negation governs something else: "don't tell him he beats me".
    assert kinds(danger, "dont tell him he hits me") == ("violence_at_home",)
    assert kinds(danger, "not in danger but he hits me") == ("violence_at_home",)
    assert kinds(danger, "no emergency. we are in danger") == ("immediate_danger",)
    assert kinds(danger, "i dont know whether we are in danger") == ("immediate_danger",)
    assert kinds(danger, "i dont feel safe") == ("immediate_danger",)  # negative phrases
    assert kinds(danger, "its not safe") == ("immediate_danger",)


def test_a_negation_word_counts_only_in_its_own_language(tmp_path: Path) -> None:
    """Dutch "nee" (read as French "ne" once doubled letters count once), Swahili "ni" and
    Polish "no" are ordinary words there: another list's negation must not cancel a phrase."""
    danger = lists(
        tmp_path,
        fr="[negation]\nne | ni | pas\n[immediate_danger]\nen danger\n",
        nl="[negation]\nniet | geen\n[immediate_danger]\nin gevaar\n",
    )
    assert kinds(danger, "nee, we zijn in gevaar") == ("immediate_danger",)
    assert danger.find("we zijn niet in gevaar") is None
    assert danger.find("nous ne sommes pas en danger") is None


def test_harm_pleaded_against_is_no_denial(shipped: DangerWords) -> None:
    """Only a state can be denied ("no emergency"); "don't hurt me" is a plea: an alarm."""
    for plea in (
        "please don't kill me",
        "niet slaan!",
        "nie zabijaj mnie",
        "не бей меня",
        "ne me tue pas",
        "لا تقتلني",
        "no he hit me again",
        "nee hij slaat me weer",
    ):
        assert "violence_at_home" in kinds(shipped, plea), plea
    assert shipped.find("geen noodgeval hoor") is None


def test_a_parent_writing_of_a_childs_self_harm_gets_self_harm_help(
    shipped: DangerWords,
) -> None:
    for text in (
        "my son says he wants to kill himself",
        "mijn dochter snijdt zichzelf",
        "córka się tnie",
        "kızım kendini kesiyor",
        "بنتي تجرح نفسها",
        "binti yangu anajikata",
        "донька ріже себе",
    ):
        assert "self_harm" in kinds(shipped, text), text


def test_the_sos_emoji_and_repeated_sos_call_for_help(shipped: DangerWords) -> None:
    for text in ("🆘", "SOS SOS", "S.O.S.", "sos help"):
        assert kinds(shipped, text)[:1] == ("immediate_danger",), text
    assert shipped.find("SOS gezin bezoek morgen") is None  # the programme's name


def test_negation_after_and_french_double_negation(tmp_path: Path) -> None:
    danger = lists(
        tmp_path,
        tr="[negation_after]\ndegil* | yok\n[immediate_danger]\nacil\ntehlike*\n",
        fr="[negation]\npas | ne\n[immediate_danger]\nen danger\npas en securite\n",
    )
    assert danger.find("acil değil") is None
    assert danger.find("tehlike yok") is None
    assert kinds(danger, "acil!") == ("immediate_danger",)
    assert danger.find("nous ne sommes pas en danger") is None
    assert kinds(danger, "je ne suis pas en sécurité") == ("immediate_danger",)


def test_idioms_cancel_the_danger_phrase_they_overlap(tmp_path: Path) -> None:
    danger = lists(
        tmp_path,
        en="[everyday]\nthreat* to rain\ndeadline .. killing me\n[immediate_danger]\n"
        "threatens\n[violence_at_home]\nkilling me\n",
    )
    assert danger.find("it threatens to rain") is None
    assert danger.find("the deadline is killing me") is None
    assert kinds(danger, "it threatens to rain and he is killing me") == ("violence_at_home",)
    assert kinds(danger, "he threatens us") == ("immediate_danger",)


# --- kinds -----------------------------------------------------------------------------------


def test_every_kind_found_is_returned_most_urgent_first(tmp_path: Path) -> None:
    danger = lists(
        tmp_path,
        en="[child_speaking]\ni am %age\n[violence_at_home]\nhits me\n[self_harm]\n"
        "want to die\n[violence_at_home, child_speaking]\nmy parents hit me\n"
        "[immediate_danger]\nhelp me\n",
    )
    match = danger.find("I am 12, my dad hits me and I want to die. help me")
    assert match is not None
    assert match.kinds == ("immediate_danger", "violence_at_home", "self_harm", "child_speaking")
    assert (match.kind, match.phrase) == ("immediate_danger", "help me")
    assert kinds(danger, "my parents hit me") == ("violence_at_home", "child_speaking")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", ("immediate_danger",)),
        ("help!", ("immediate_danger",)),
        ("hulp", ("immediate_danger",)),
        ("au secours", ("immediate_danger",)),
        ("مساعدة", ("immediate_danger",)),
        ("imdat", ("immediate_danger",)),
        ("pomocy", ("immediate_danger",)),
        ("допоможіть", ("immediate_danger",)),
        ("помогите", ("immediate_danger",)),
        ("msaada", ("immediate_danger",)),
        ("hij slaat ons", ("violence_at_home",)),
        ("he beats me", ("violence_at_home",)),
        ("my dad hits my mum", ("violence_at_home",)),
        ("I want to kill myself", ("self_harm",)),
        ("ik wil dood", ("self_harm",)),
        ("ik ben 13 jaar", ("child_speaking",)),
        ("ik zit in groep 7", ("child_speaking",)),
        ("I am a kid", ("child_speaking",)),
        ("mijn ouders slaan mij", ("violence_at_home", "child_speaking")),
        ("I'm 12 and my dad hits me", ("violence_at_home", "child_speaking")),
        ("kocam beni dövüyor", ("violence_at_home",)),
        ("يضـــربني", ("violence_at_home",)),
        ("він б\u200b'є мене", ("violence_at_home",)),
        ("I don't feel safe", ("immediate_danger",)),
    ],
)
def test_the_shipped_lists_hear_the_cases_of_the_issue(
    shipped: DangerWords, text: str, expected: tuple[str, ...]
) -> None:
    assert kinds(shipped, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "geen noodgeval",
        "we zijn niet in gevaar",
        "we zijn veilig",
        "pas d'urgence",
        "no emergency",
        "not in danger",
        "it threatens to rain",
        "the deadline is killing me",
        "ik schrik me dood",
        "I'm dying to see you",
        "dood moe",
        "acil değil",
        "nie ma zagrożenia",
        "не небезпечно",
        "لا يوجد خطر",
        "hakuna hatari",
        "mijn dochter is geslaagd",
        "de baby slaapt",
        "off the beaten path",
        "a killer app",
        "can you help me with the form",
        "thanks for your help",
    ],
)
def test_the_shipped_lists_stay_quiet_for_everyday_words(shipped: DangerWords, text: str) -> None:
    assert shipped.find(text) is None


# --- loading -----------------------------------------------------------------------------------


def test_every_shipped_language_and_russian_are_loaded_and_a_missing_one_stops_start_up(
    tmp_path: Path,
) -> None:
    loaded = DangerWords.load(LOCALES, SHIPPED)
    assert set(loaded.lists) == {*SHIPPED, "ru"}  # Russian has no catalog but a list
    assert len(loaded.phrases) >= 9 * 30
    assert loaded.find("он меня бьёт") is not None
    with pytest.raises(DangerListMissing, match=r"danger_words\.txt"):
        DangerWords.load(tmp_path, ["nl"])


@pytest.mark.parametrize("language", [*SHIPPED, "ru"])
def test_every_list_is_marked_draft_and_documents_its_syntax(language: str) -> None:
    head = (LOCALES / language / "danger_words.txt").read_text("utf-8")[:3000]
    assert "DRAFT, AWAITING REVIEW BY A NATIVE SPEAKER AND A CHILD-PROTECTION PROFESSIONAL" in head
    assert "%age" in head and "[everyday]" in head


def test_find_is_fast_on_a_long_message(shipped: DangerWords) -> None:
    """The scan runs on every message: a 4,000-character one takes milliseconds."""
    text = ("we went to the park and the children played football with friends " * 60)[:4000]
    seconds = min(timeit.repeat(lambda: shipped.find(text), number=5, repeat=3)) / 5
    assert seconds < 0.05


def test_a_bot_command_is_not_a_cry_for_help(shipped: DangerWords) -> None:
    assert shipped.find("/help") is None
    assert kinds(shipped, "/help he hits me") == ("violence_at_home",)


def test_the_sos_button_label_typed_alarms_in_every_language(shipped: DangerWords) -> None:
    """The Recogniser compares the label by `words_of`; the lists catch it too, also when a
    word of it is inflected or the emoji left out."""
    from bot.i18n import Catalogs
    from bot.services import texts

    catalogs = Catalogs.load(LOCALES)
    for code in catalogs.languages:
        label = catalogs.translator(code, "Europe/Amsterdam")(texts.SOS_BUTTON)
        bare = label.replace("🆘", "").upper().replace(" ", "  ")
        assert kinds(shipped, label) == ("immediate_danger",), code
        assert kinds(shipped, bare) == ("immediate_danger",), code
        assert words_of(label) == ["sos", *words_of(bare)]  # the 🆘 reads as "sos"

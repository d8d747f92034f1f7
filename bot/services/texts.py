"""What the bot itself says, in any channel (flows bring their own texts).

Every text is an English gettext msgid, translated per reader at the moment it is shown.
Both channels take their texts from here, so the terminal and Telegram say the same things.
Also the table of commands per role: what a command may do and what a menu offers.
"""

from __future__ import annotations

from typing import Any

from ..engine import Text
from ..engine.events import Plural

EVERYONE = ("sos", "help", "language", "privacy", "cancel")
ROLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "family": ("checkin", *EVERYONE),
    "caseworker": ("cases", "guide", "invite", "flags", *EVERYONE),
    "coordinator": ("flags", "invite", *EVERYONE),
}


def allowed(role: str, command: str) -> bool:
    return command in ROLE_COMMANDS.get(role, ())


STRANGER = Text(
    "Hello. This is Wegwijzer, the chat service of the family support team. It can only be "
    "used with a personal invite from a caseworker. If you have questions, please contact "
    "your caseworker or the organisation's office."
)
EMERGENCY = Text(
    "Is someone in danger right now? Call {emergency_number}. For advice about the safety "
    "of a child or an adult at home: {advice_line}."
)
EMERGENCY_FLAG = Text("The person asked for help now (emergency route).")
SOS_BUTTON = Text("🆘 I need help now")
HELP_IS_COMING = Text(
    "Your caseworker and the team have been alerted and will contact you as soon as possible."
)
CONTINUE_WHEN_READY = Text("When you are ready, you can continue here:")
CHOOSE_LANGUAGE = Text("Welcome! Which language would you like to use?")
PRIVACY_FAMILY = Text(
    "Before we start, here is what happens with your information.\n\n"
    "What we store: your Telegram account number, the language you chose, and the answers "
    "you give in this chat.\n"
    "Why: so that your caseworker can follow how you and your children are doing, and help "
    "in time.\n"
    "Who sees it: your caseworker and the team that supports your family. It is not shared "
    "outside the organisation without your permission, unless a child's safety requires it.\n"
    "How to stop: /cancel stops a check-in; /privacy lets you withdraw your consent at any "
    "time. You can also ask your caseworker to remove your information."
)
PRIVACY_STAFF = Text(
    "What we store about you: your Telegram account number, your role and language, and what "
    "you record in this chat. It is used only for the organisation's work with families. "
    "/privacy shows this again and lets you withdraw your consent."
)
DO_YOU_AGREE = Text("Do you agree?")
AGREE = Text("I agree")
DISAGREE = Text("I do not agree")
CONSENT_REFUSED = Text(
    "Understood: nothing more will be asked or stored. If you change your mind, type /privacy."
)
CONSENT_FIRST = Text("Please answer the question about your information first.")
WELCOME = {
    "family": Text(
        "Thank you. You can start your check-in now, or at any time with /checkin. "
        "Type /help to see everything you can do."
    ),
    "caseworker": Text(
        "Welcome. /cases shows your cases, /invite makes an invite for a family of one of your "
        "cases, /guide lists the guidance. Type /help for all commands."
    ),
    "coordinator": Text("Welcome. /flags shows the open flags. Type /help for all commands."),
}
START_CHECKIN = Text("Start check-in")
ALREADY_REGISTERED = Text("You are already registered. Type /help to see what you can do.")
WELCOME_BACK = Text("Welcome back. We were here:")
NOT_FOR_ROLE = Text("{command} is not available for your role.")
NOT_IN_TERMINAL = Text("{command} is not available in the terminal; use it in Telegram.")
UNKNOWN_COMMAND = Text("Unknown command {command}. Type /help to see what you can do.")
HELP_HEADER = Text("You can use these commands:")
HELP_LINE = Text("{command} — {description}")
SOMETHING_WENT_WRONG = Text(
    "Sorry, something went wrong on our side. Please try again in a moment; /checkin shows "
    "where you are."
)
ALREADY_ANSWERED = Text("This question has already been answered.")
BUTTON_NOT_VALID = Text("This button is not valid.")
ONLY_TEXT = Text("Sorry, I can only read text messages here.")
NOTHING_WAITING = {
    "family": Text("There is no question waiting. Type /checkin to start your check-in."),
    "caseworker": Text("There is no question waiting. Type /help to see what you can do."),
    "coordinator": Text("There is no question waiting. Type /help to see what you can do."),
}
STOPPED = Text(
    "Stopped for now. Your answers so far are kept: type /checkin to continue where you left off."
)
NOTHING_TO_STOP = Text("There is nothing to stop.")
LANGUAGE_SET = Text("The language is now {language}.")
LANGUAGE_USAGE = Text("Choose a language: type /language and its code, e.g. /language en.")
UNKNOWN_LANGUAGE = Text("Unknown language {code}.")
HELLO_STAFF = Text("Hello. Type /help to see what you can do.")
PERSON_UNREACHABLE = Text(
    "A family member of case {case} has blocked the bot and can no longer be reached here."
)
INVITE_USAGE = Text("Type /invite followed by the case code, for example /invite K7Q-4MX.")
INVITE_CREATED = Text(
    "Invite for case {case}, valid until {expires}. Send this link to the family, or let them "
    "scan the QR code: {link}"
)
NOT_YOUR_CASE = Text("Case {case} is not one of your cases.")
YOUR_CASES = Text("Your cases:")
NO_CASES = Text("You have no cases yet.")
CASE_LINE = Text("{case} · {programme} · last check-in: {last} · {flags}")
NO_CHECKIN_YET = Text("none yet")
GUIDES = Text("Guidance available to you:")
NO_GUIDES = Text("No guidance flows are available yet.")
NEW_FLAG = Text("New {level} flag for case {case}: {reason} Type /flags to see the open flags.")
OPEN_FLAGS = Text("Open flags, most urgent first:")
NO_OPEN_FLAGS = Text("There are no open flags.")
FLAG_LINE = Text("[{level}] case {case} — {reason} (due {due})")

LEVELS = {
    "urgent": Text("urgent"),
    "high": Text("high"),
    "medium": Text("medium"),
    "low": Text("low"),
}
PROGRAMMES = {
    "family_strengthening": Text("family strengthening"),
    "sos_family": Text("SOS family"),
    "temporary_care": Text("temporary care"),
    "foster_care": Text("foster care"),
    "kinship_care": Text("kinship care"),
    "simba_family_care": Text("Simba family care"),
}
COMMANDS = {
    "help": Text("what you can do here"),
    "checkin": Text("start your check-in, or continue it"),
    "cancel": Text("stop for now; you can continue later"),
    "language": Text("choose your language"),
    "privacy": Text("what is stored about you, and your consent"),
    "cases": Text("your cases, their last check-in and open flags"),
    "guide": Text("step-by-step guidance"),
    "invite": Text("make an invite for a family (caseworkers: of their own cases)"),
    "flags": Text("open flags (caseworkers: of their own cases)"),
    "start": Text("start with your invite"),
    "sos": Text("I need help now: emergency numbers"),
}


def case_line(case: Any) -> Text:
    """One line of a caseworker's case list (a `CaseSummary`)."""
    return CASE_LINE.using(
        case=case.code,
        programme=PROGRAMMES.get(case.programme, Text(case.programme)),
        last=case.last_checkin_at or NO_CHECKIN_YET,
        flags=Plural("{count} open flag", "{count} open flags", count=case.open_flags),
    )


def flag_line(flag: Any) -> Text:
    """One line of a flag list (a `FlagView`)."""
    return FLAG_LINE.using(
        level=LEVELS[flag.level],
        case=flag.case_code or "—",
        reason=Text(flag.reason),
        due=flag.due_at,
    )

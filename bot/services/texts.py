"""What the bot itself says, in any channel (flows bring their own texts).

Every text is an English gettext msgid, translated per reader at the moment it is shown.
Both channels take their texts from here, so the terminal and Telegram say the same things.
(Which commands a role has is a rule: `bot.rules.commands`.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..engine import Text
from ..engine.events import Plural
from ..rules.privacy import PrivacyPolicy, Term
from ..storage import CaseSummary

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
# The help for each kind of alarm (rules.alarms), most urgent first: a caring first line, then
# one line per helpline of the deployment's country (locales/helplines.yaml).
HELP_INTROS = {
    "immediate_danger": Text("Is someone in danger right now? Here is where to get help at once:"),
    "violence_at_home": Text(
        "Violence at home is never okay, and you do not have to face it alone. Help and advice:"
    ),
    "self_harm": Text(
        "You don't have to go through this alone. There are people who want to listen, and "
        "talking can help:"
    ),
    "child_speaking": Text(
        "It is good that you wrote. You can talk to someone about anything that worries you:"
    ),
}
HELPLINE = Text("• {name} — {purpose}: {numbers}. {details}")
HELPLINE_NO_NUMBER = Text("• {name} — {purpose}. {details}")
HELPLINE_NAME_ONLY = Text("• {name} — {purpose}.")
NUMBERS_OR = Text("{first} or {second}")
# By (free, anonymous).
HELPLINE_HOURS = {
    (True, True): Text("Free and anonymous, {hours}."),
    (True, False): Text("Free, {hours}."),
    (False, True): Text("Anonymous, {hours}."),
    (False, False): Text("Open {hours}."),
}
HELPLINE_AGES = Text("For ages {youngest} to {oldest}.")
HELPLINE_CHAT = Text("Chat: {chat}")
# A flag of the emergency route says its kind: the staff notice and the review name it.
ALARM_REASONS = {
    "immediate_danger": EMERGENCY_FLAG,
    "violence_at_home": Text(
        "Violence at home: the person wrote words about violence or abuse at home (emergency "
        "route)."
    ),
    "self_harm": Text(
        "Self-harm: the person wrote words about ending their life or harming themselves "
        "(emergency route)."
    ),
    "child_speaking": Text(
        "A child asking for help: the words suggest a child is writing (emergency route)."
    ),
}
ALARM_KIND_NAMES = {
    "immediate_danger": Text("immediate danger"),
    "violence_at_home": Text("violence at home"),
    "self_harm": Text("self-harm"),
    "child_speaking": Text("a child asking for help"),
}
EVIDENCE_KINDS = Text("Kind of danger: {kinds}.")
SOS_BUTTON = Text("🆘 I need help now")
HELP_IS_COMING = Text(
    "Your caseworker and the team have been alerted and will contact you as soon as possible."
)
CONTINUE_WHEN_READY = Text("When you are ready, you can continue here:")
# When the alarm could not reach the team yet (the database was unavailable): no promise.
ALARM_SAVED_NOT_SENT = Text(
    "Your call for help is saved, but it has not reached the team yet. If someone is in "
    "danger, do not wait: call the numbers above."
)
# The emergency numbers in a group chat come with this; the message itself is never repeated.
WRITE_PRIVATELY = Text(
    "Please do not share details in this group. You can write to me in a private chat: {link}"
)
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
# The rest of the consent text comes from the deployment's privacy policy (privacy.yaml):
# who is responsible, on which legal basis, how long, the rights and where to ask.
PRIVACY_CONTROLLER = Text("Responsible for your information: {controller}.")
LEGAL_BASES = {
    "public_task": Text(
        "Legal basis: the organisation does this as part of a task in the public interest that "
        "the law gives it."
    ),
    "legal_obligation": Text("Legal basis: the law requires the organisation to do this."),
    "legitimate_interests": Text(
        "Legal basis: the organisation's legitimate interest in supporting families, weighed "
        "against your interests."
    ),
    "consent": Text("Legal basis: your consent, which you can withdraw at any time."),
    "vital_interests": Text("Legal basis: protecting someone's life or safety."),
}
PRIVACY_RETENTION = Text(
    "How long: answers and notes are part of the case file, kept for {case_file} after the case "
    "is closed. Your Telegram account number and language are deleted {contact} after you leave."
)
PRIVACY_RIGHTS = Text(
    "Your rights: you can see what is stored about you and get a copy, have it corrected or "
    "erased, and object to its use. Ask at {contact}. Withdrawing your consent (/privacy) stops "
    "the bot storing anything new and sending you reminders; it does not remove what was "
    "stored before. If you disagree with how your information is handled, you can complain to "
    "the Dutch Data Protection Authority (Autoriteit Persoonsgegevens)."
)
# A retention term ("20 years") as each language says it.
TERM_UNITS = {
    "day": Plural("{count} day", "{count} days"),
    "week": Plural("{count} week", "{count} weeks"),
    "month": Plural("{count} month", "{count} months"),
    "year": Plural("{count} year", "{count} years"),
}
# Withdrawing consent: what it means, what is kept and why, where to ask, how to go back.
CONSENT_WITHDRAWN = Text(
    "Your consent is withdrawn. From now on the bot stores nothing new from you and sends you "
    "no reminders. In an emergency /sos still works, as always."
)
CONSENT_WITHDRAWN_TOLD = Text("The team that supports your family has been told.")
CONSENT_WITHDRAWN_KEPT = Text(
    "What you told us before stays in the case file for {term} after the case is closed, "
    "because the organisation must keep a case file of the support it gives."
)
CONSENT_WITHDRAWN_ASK = Text(
    "You can ask for a copy of your information, or for its erasure, at {contact}. To give your "
    "consent again, type /privacy."
)
# Anything but the emergency route, /language and /privacy, after withdrawing.
CONSENT_WITHDRAWN_NOTE = Text(
    "You have withdrawn your consent, so nothing you send is stored and you get no reminders. "
    "To give your consent again, type /privacy. In an emergency /sos still works."
)
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
STOPPED_FAMILY = Text(
    "Stopped for now. Your answers so far are kept: type /checkin to continue where you left off."
)
STOPPED = {
    "family": STOPPED_FAMILY,
    "caseworker": Text(
        "Stopped for now. What you entered so far is kept: choose the same guidance in /guide "
        "to continue where you left off."
    ),
    "coordinator": STOPPED_FAMILY,
}
NOTHING_TO_STOP = Text("There is nothing to stop.")
LANGUAGE_SET = Text("The language is now {language}.")
UNKNOWN_LANGUAGE = Text("Unknown language {code}.")
HELLO_STAFF = Text("Hello. Type /help to see what you can do.")
PERSON_UNREACHABLE = Text(
    "A family member of case {case} has blocked the bot and can no longer be reached here."
)
CASE_NOW_YOURS = Text("Case {case} is now one of your cases. Type /case {case} to see it.")
CASE_NO_LONGER_YOURS = Text(
    "Case {case} is no longer one of your cases: it went to caseworker {person}."
)
STAFF_WITHDREW_CONSENT = Text(
    "Staff member {person} withdrew their consent: the bot tells them nothing more, flags "
    "included, until they give it again. Their cases, whose alarms reach the coordinators "
    "only meanwhile: {cases}"
)
STAFF_GAVE_CONSENT_AGAIN = Text(
    "Staff member {person} gave their consent again: the bot tells them of flags and "
    "reminders again. Their cases: {cases}"
)
CASEWORKER_LEFT = Text(
    "Caseworker {person} has left. These cases have no caseworker now; alarms on them reach "
    "the coordinators only until someone takes them over: {cases}"
)
NOTICE_HEADER = Text("📬 A notice for you:")
STAFF_UNREACHABLE = Text(
    "{person} has blocked the bot and can no longer be told of flags here. What was waiting "
    "for them went to the other staff; please check their cases."
)
INVITE_USAGE = Text("Type /invite followed by the case code, for example /invite K7Q-4MX.")
INVITE_NEEDS_USERNAME = Text(
    "Invite links need the bot's username: set TELEGRAM_BOT_USERNAME, or make the invite in "
    "Telegram."
)
WEB_LINK = Text(
    "Your sign-in link for the web view, for you only: it works once, until {expires}. Do "
    "not forward it. {link}"
)
WEB_NOT_SET_UP = Text(
    "The web view is not set up for this organisation yet (WEB_BASE_URL). Ask the operator."
)
INVITE_CREATED = Text(
    "Invite for case {case}, valid until {expires}. Send this link to the family, or let them "
    "scan the QR code: {link}"
)
NOT_YOUR_CASE = Text("Case {case} is not one of your cases.")
# An erased case is a tombstone: its code stays (the audit log refers to it), nothing else.
CASE_ERASED = Text("Case {case} was erased: only its code is kept, nothing can be done with it.")
CASE_ERASED_HEADER = Text("Case {case} · {programme} · erased on {date}")
YOUR_CASES = Text("Your cases:")
NO_CASES = Text("You have no cases yet.")
CASE_LINE = Text("{case} · {programme} · last check-in: {last} · {flags}")
NO_CHECKIN_YET = Text("none yet")
GUIDES = Text("Guidance available to you:")
NO_GUIDES = Text("No guidance flows are available yet.")
GUIDE_USAGE = Text("Type /guide followed by the case code, for example /guide K7Q-4MX.")
NO_CHECKIN = Text("There is no check-in set up here yet. Please contact your caseworker.")
NEW_FLAG = Text("New {level} flag for case {case}: {reason} Type /flags to see the open flags.")
FLAG_AGAIN = Text("Again: {level} flag for case {case}: {reason}")
REPORTS_SINCE = Text("Reports since the last notice: {count}")
ASSIGNED_TO_YOU = Text("Flag {id} is assigned to you: {level} flag for case {case}: {reason}")
FAMILY_WITHDREW_CONSENT = Text(
    "A family member of case {case} withdrew their consent: the bot stores nothing new from "
    "them and sends them no check-in reminders until they give it again. What was stored stays "
    "in the case file, and an emergency from them still reaches you."
)
FAMILY_GAVE_CONSENT_AGAIN = Text(
    "A family member of case {case} gave their consent again: their check-in reminders resume "
    "from the schedule."
)
FAMILY_PAUSED_REMINDERS = Text(
    "The family of case {case} paused their check-in reminders (/stop). Check-ins are not "
    "asked for until they resume them."
)
ESCALATED = Text(
    "Not acknowledged in time (escalation {count}): {level} flag for case {case}: {reason} "
    "It was due {due}."
)
OPEN_FLAGS_PAGE = Text("Open flags, most urgent first (page {page} of {pages}):")
NO_OPEN_FLAGS = Text("There are no open flags.")
FLAG_LINE = Text("[{level}] case {case} — {reason} (due {due})")
FLAG_LINE_OVERDUE = Text("⚠️ [{level}] case {case} — {reason} (overdue since {due})")

# The review of one flag.
FLAG_HEADER = Text("Flag {id} · {level} · case {case}")
FLAG_FACTS = Text("Status: {status}. Raised {raised} ({age} ago); due {due}.")
OVERDUE = Text("⚠️ Overdue.")
ASSIGNED_TO = Text("Assigned to caseworker {person}.")
RESOLUTION = Text("Resolution: {note}")
EVIDENCE_HEADER = Text("Evidence:")
EVIDENCE_ANSWER = Text("{question} — {answer}")
EVIDENCE_VALUE = Text("{key}: {value}")
EVIDENCE_TRIGGER = Text("Set off by {trigger}.")
EVIDENCE_MISSED = Text("Check-in reminders not answered in a row: {count}.")
EVIDENCE_UNREACHABLE = Text("The family blocked the bot: they cannot be reached here.")
EVIDENCE_ERASED = Text("The evidence was erased with the family's data.")
# A flag rule's `source:` (a citation, shown as the flow writes it).
RULE_SOURCE = Text("Source of the rule: {source}")
HISTORY_HEADER = Text("History:")
HISTORY_LINE = Text("{at} · {action} · {actor}")
HISTORY_NOTE = Text("“{note}”")
STATUSES = {
    "open": Text("open"),
    "acknowledged": Text("acknowledged"),
    "resolved": Text("resolved"),
}
HISTORY_ACTIONS = {
    "raised": Text("raised"),
    "repeated": Text("triggered again"),
    "notified": Text("to be told at once"),
    "digested": Text("to be told in the daily digest"),
    "told": Text("told {person}"),
    "not_told": Text("could not tell {person}: blocked the bot"),
    "escalated": Text("escalated to the coordinators"),
    "acknowledged": Text("acknowledged"),
    "assigned": Text("assigned"),
    "noted": Text("note added"),
    "resolved": Text("resolved"),
    "reopened": Text("reopened"),
}
ACTORS = {
    "system": Text("the bot"),
    "family": Text("the family"),
    "caseworker": Text("caseworker {person}"),
    "coordinator": Text("coordinator {person}"),
    "operator": Text("an operator"),
    "operators": Text("the operators' chat"),
}
TRIGGERS = {
    "sos": Text("the /sos command"),
    "button": Text("the “I need help now” button"),
}
TRIGGER_WORDS = Text("the words “{words}”")
ACKNOWLEDGE = Text("Acknowledge")
OPEN = Text("Open")
ASSIGN = Text("Assign")
ADD_NOTE = Text("Add a note")
RESOLVE = Text("Resolve")
REOPEN = Text("Reopen")
BACK_TO_LIST = Text("Back to the list")
PREVIOUS_PAGE = Text("‹ Previous")
NEXT_PAGE = Text("Next ›")
FLAG_ACKNOWLEDGED = Text("Flag {id} is acknowledged: escalation has stopped.")
ALREADY_ACKNOWLEDGED = Text("Flag {id} was already acknowledged.")
FLAG_ASSIGNED = Text("Flag {id} is assigned to caseworker {person}.")
FLAG_RESOLVED = Text("Flag {id} is resolved.")
FLAG_REOPENED = Text("Flag {id} is open again.")
NOTHING_CHANGED = Text("Flag {id} is {status}; nothing changed.")
NOTE_ADDED = Text("Note added to flag {id}.")
TYPE_NOTE = Text("Type your note for flag {id}, or /cancel to stop.")
TYPE_RESOLUTION = Text(
    "Type the resolution note for flag {id}: what was done, and why it can be closed. "
    "Or /cancel to stop."
)
NOTE_EMPTY = Text("The note is empty. Type the note, or /cancel to stop.")
NOTE_TOO_LONG = Text(
    "The note is too long: {length} characters, at most {limit}. Send a shorter one, or "
    "/cancel to stop."
)
NOTE_CANCELLED = Text("Stopped: nothing was added to flag {id}.")
CHOOSE_CASEWORKER = Text("Assign flag {id} to which caseworker?")
CASEWORKER_LABEL = Text("Caseworker {person} ({cases})")
NO_CASES_YET = Text("no cases yet")
NO_CASEWORKERS = Text("There are no caseworkers to assign to.")
NOT_ASSIGNABLE = Text(
    "{person} is not the number of an active caseworker. Type /flag {id} assign to choose one."
)
FLAG_NOT_AVAILABLE = Text("Flag {id} is not one you can see or change.")

# Correcting a wrong answer (`/correct`): a run of the case, one of its answers, the new value.
CORRECT_USAGE = Text(
    "Type /correct followed by the case code, for example /correct K7Q-4MX, to correct a "
    "wrong answer in one of its check-ins or visits."
)
CHOOSE_RUN_TO_CORRECT = Text("Case {case}: in which one is the wrong answer?")
NO_ANSWERS_TO_CORRECT = Text("Case {case} has no answers to correct yet.")
RUN_LABEL = Text("{flow} · {date}")
CHOOSE_ANSWER_TO_CORRECT = Text("{flow} of {date}, case {case}: which answer is wrong?")
CORRECT_QUESTION = Text("Question: {question}")
CORRECT_ANSWER_NOW = Text("The answer now: {answer}")
CHOOSE_RIGHT_ANSWER = Text("Choose the right answer:")
TYPE_RIGHT_ANSWER = Text("Type the right answer, or /cancel to stop.")
CONFIRM_CORRECTION = Text("Change the answer from {old} to {new}?")
YES_CORRECT = Text("Yes, correct it")
BACK_TO_ANSWERS = Text("‹ Back to the answers")
ANSWER_CORRECTED = Text("Corrected: {old} → {new}. The old answer is kept in the audit log.")
SCORE_NOW = Text("Score {score} is now {value}.")
CORRECTION_RAISED_FLAG = Text("The corrected answer raised a flag ({level}): {reason}")
ALREADY_THE_ANSWER = Text("The answer is already {answer}: nothing changed.")
CORRECTION_REFUSED = Text("Nothing was changed: {reason}")
NOT_AN_ANSWER_TO_CORRECT = Text("This is not an answer you can see or correct.")
CORRECTION_CANCELLED = Text("Stopped: nothing was corrected.")

# The case view.
CASE_USAGE = Text("Type /case followed by the case code, for example /case K7Q-4MX.")
CASE_HEADER = Text("Case {case} · {programme} · stage: {stage}")
NO_STAGE = Text("not set yet")
CHECKINS_HEADER = Text("Last check-ins (WHO-5 well-being, 0–100):")
CHECKIN_LINE = Text("{date}: {score}")
NO_CHECKINS = Text("No check-ins yet.")
TRENDS = {
    "up": Text("Trend: better ↗ ({change} points since the check-in before)"),
    "down": Text("Trend: worse ↘ ({change} points since the check-in before) — worth a talk"),
    "stable": Text("Trend: about the same →"),
    "unknown": Text("Trend: not enough check-ins yet"),
}
CASE_FLAGS_HEADER = Text("Open flags of this case:")

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
    "case": Text("one case: its stage, check-ins and open flags"),
    "schedule": Text("set when a family is reminded of their check-in"),
    "visit": Text("record a home visit to a case"),
    "stop": Text("pause the check-in reminders"),
    "resume": Text("turn the check-in reminders back on"),
    "start": Text("start with your invite"),
    "sos": Text("I need help now: emergency numbers"),
    "flag": Text("one flag: see it and act on it (type /flag to see how)"),
    "closure": Text("decide on a proposed closure, or reopen a closed case"),
    "correct": Text("correct a wrong answer in a case (the old one stays in the audit log)"),
    "web": Text("a one-time link to sign in to the web view"),
}


class _ListedFlag(Protocol):
    @property
    def level(self) -> str: ...
    @property
    def case_code(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...

    def overdue(self, now: datetime) -> bool: ...


def case_line(case: CaseSummary) -> Text:
    """One line of a caseworker's case list (a `CaseSummary`)."""
    return CASE_LINE.using(
        case=case.code,
        programme=PROGRAMMES.get(case.programme, Text(case.programme)),
        last=case.last_checkin_at or NO_CHECKIN_YET,
        flags=Plural("{count} open flag", "{count} open flags", count=case.open_flags),
    )


def flag_line(flag: _ListedFlag, now: datetime | None = None) -> Text:
    """One line of a flag list (a `FlagView`), marked when overdue at `now`."""
    template = FLAG_LINE_OVERDUE if now is not None and flag.overdue(now) else FLAG_LINE
    return template.using(
        level=LEVELS[flag.level],
        case=flag.case_code or "—",
        reason=Text(flag.reason),
        due=flag.due_at,
    )


def term(kept: Term) -> Text:
    """A retention term as the reader's language says it ("20 jaar"), not as privacy.yaml
    writes it."""
    return TERM_UNITS[kept.unit].using(count=kept.count)


def privacy_policy(policy: PrivacyPolicy) -> tuple[tuple[Text, ...], ...]:
    """The paragraphs of the consent text that the deployment's privacy policy fills in: who
    is responsible and on which basis, how long, the rights and where to ask."""
    retention = policy.retention
    return (
        (PRIVACY_CONTROLLER.using(controller=policy.controller), LEGAL_BASES[policy.legal_basis]),
        (
            PRIVACY_RETENTION.using(
                case_file=term(retention.case_file), contact=term(retention.contact)
            ),
        ),
        (PRIVACY_RIGHTS.using(contact=policy.contact),),
    )


def trigger(value: str) -> Text:
    """What set off the emergency route: a command, the button, or the matched words."""
    return TRIGGERS.get(value) or TRIGGER_WORDS.using(words=value)


def actor(role: str, person_id: int | None) -> Text:
    return ACTORS.get(role, ACTORS["operator"]).using(person=person_id or "—")


FLAG_USAGE = Text(
    "Type /flag followed by the flag number to see it, for example /flag 12. To act on it: "
    "/flag 12 ack, /flag 12 note followed by your note, /flag 12 resolve followed by the "
    "resolution note, /flag 12 reopen, or /flag 12 assign followed by the caseworker's number."
)


# Scheduled check-ins.
REMINDER = Text("Hello! It is time for your check-in. It takes a few minutes.")
REMINDER_FOLLOW_UP = Text(
    "A gentle reminder: your check-in is still waiting for you, whenever you are ready."
)
NO_CONTACT = Text(
    "No contact: the family did not answer their check-in reminders, or blocked the bot."
)
REMINDERS_PAUSED = Text(
    "The reminders are paused. You can still do your check-in at any time with /checkin; "
    "/resume turns the reminders back on."
)
REMINDERS_RESUMED = Text("The reminders are on again. The next one comes on {when}.")
NO_REMINDERS = Text("There are no check-in reminders set for you.")
SCHEDULE_USAGE = Text(
    "Type /schedule, the case code and when, for example: /schedule K7Q-4MX weekly mon 18:00 "
    "(or: every 14 days 09:30, monthly 1 10:00)."
)
SCHEDULE_SET = Text("Check-in reminders for case {case}: {cadence}. The next one: {when}.")
SCHEDULE_NOT_UNDERSTOOD = Text("That is not a schedule I understand: {problem}")
SCHEDULE_LINE = Text("Check-in reminders: {cadence}, next {when}.")
SCHEDULE_PAUSED_BY_FAMILY = Text("Check-in reminders: paused by the family.")
SCHEDULE_PAUSED = Text("Check-in reminders: paused.")
NO_SCHEDULE = Text("Check-in reminders: none set.")


# Reintegration stages and home visits.
STAGES = {
    "assessment": Text("tracing, assessment and planning"),
    "preparation": Text("preparation of child and family"),
    "reunification": Text("contact and reunification"),
    "follow_up": Text("follow-up support and monitoring"),
    "closure": Text("case closure"),
    "alternative_care": Text("planning alternative or permanent care"),
}
VISIT_DUE = Text(
    "A home visit to case {case} is due (stage: {stage}). When you have been, press the "
    "button or type /visit {case}."
)
VISIT_DONE = Text("Visit done")
VISIT_RECORDED = Text("Home visit to case {case} recorded. The next one is due {when}.")
VISIT_RECORDED_NO_NEXT = Text("Home visit to case {case} recorded.")
VISIT_USAGE = Text("Type /visit followed by the case code, for example /visit K7Q-4MX.")
NEXT_VISIT = Text("Next home visit: {when}.")


# Home visits in the case view: the Child Status Index per domain (two factors rated 1-4 each).
HOME_VISITS_HEADER = Text("Home visits since {since} (Child Status Index per domain, 2–8):")
DOMAIN_SCORES = Text("{domain}: {scores}")
CSI_DOMAINS = {
    "csi_food": Text("food and nutrition"),
    "csi_shelter_care": Text("shelter and care"),
    "csi_protection": Text("protection"),
    "csi_health": Text("health"),
    "csi_psychosocial": Text("psychosocial"),
    "csi_education": Text("education and skills"),
}


# Guidance flows changing their case: the stage, the risk level, closure (services.guidance).
STAGE_MOVED = Text("Case {case} is now in stage {number} of 5: {stage}.")
STAGE_MOVED_OVERRIDE = Text(
    "Case {case} is now in stage {number} of 5: {stage}. It moved on without all essential "
    "items; your reason is recorded."
)
# Returning home is not in the child's best interests (the navigator's exit), and a flow
# asked for a case it is not for (the navigator for a family-strengthening case, say).
ALTERNATIVE_CARE_CHOSEN = Text(
    "Case {case} now plans an alternative or permanent care placement: returning home is not "
    "in the child's best interests. Your reason is recorded, and a coordinator is asked to "
    "review the decision."
)
# By the purpose of the flow asked for; any other purpose: "guidance".
GUIDE_NOT_FOR_CASE = {
    "navigator": Text(
        "The reintegration navigator is for children in alternative care. Case {case} is in "
        "{programme}: the child lives at home, so there is no return home to prepare. When the "
        "case is ready to close, use the closure readiness check."
    ),
    "closure": Text(
        "Case {case} is not at case closure yet (stage: {stage}); the reintegration navigator "
        "brings it there."
    ),
    "guidance": Text("{flow} is not for case {case} ({programme})."),
}
# The case view of a case planning alternative care: the caseworker's recorded reason.
NOT_IN_BEST_INTERESTS = Text(
    "Returning home is not in the child's best interests (recorded {date}): {reason}"
)
RISK_LEVEL_SET = Text("Case {case}: risk level {level}. The next review is due on {date}.")
RISK_LEVEL_OVERRIDDEN = Text(
    "Case {case}: risk level {level}, your judgement instead of the screening's {computed}; "
    "your reason is recorded. The next review is due on {date}."
)
REVIEW_DUE = Text("The risk screening of case {case} is due for review (risk level now: {level}).")
# The Meldcode's re-evaluation (afwegingskader, question 5), planned at the end of a walkthrough.
REEVALUATION_PLANNED = Text(
    "Case {case}: the re-evaluation is planned for {date}. On that day you will be reminded to "
    "weigh whether the help leads to lasting safety."
)
REEVALUATION_LINE = Text("Meldcode re-evaluation planned for {date}.")
REEVALUATION_CANCELLED = Text("Case {case}: the re-evaluation planned for {date} is cancelled.")
REEVALUATION_DUE = Text(
    "The Meldcode re-evaluation of case {case} is due (planned for {date}): does the help lead "
    "to lasting safety? If not, the advice is to report to Veilig Thuis (again)."
)
CLOSURE_PROPOSED = Text(
    "The closure of case {case} is proposed. A coordinator will approve it or return it to you "
    "with a note."
)
CLOSURE_PROPOSAL = Text(
    "Closure of case {case} is proposed: its caseworker finds every closure criterion met. "
    "Summary: {summary}"
)
APPROVE_CLOSURE = Text("Approve closure")
RETURN_CLOSURE = Text("Return with a note")
REOPEN_CASE = Text("Reopen the case")
CASE_NOW_CLOSED = Text("Case {case} is closed. Its check-in, visit and review reminders stop.")
CLOSURE_APPROVED = Text(
    "Case {case} is closed: a coordinator approved its closure. Its reminders stop."
)
TYPE_RETURN_NOTE = Text(
    "Type what still needs doing before case {case} can close, or /cancel to stop."
)
CLOSURE_RETURNED = Text("The closure of case {case} is returned to its caseworker with your note.")
CLOSURE_RETURNED_NOTICE = Text("A coordinator returned the closure of case {case}: “{note}”")
CASE_REOPENED = Text(
    "Case {case} is open again, in follow-up support; its risk screening is due afresh."
)
CLOSURE_USAGE = Text(
    "Type /closure followed by the case code and approve, return with a note, or reopen: "
    "/closure K7Q-4MX approve, /closure K7Q-4MX return what is missing, /closure K7Q-4MX reopen."
)
CASE_CLOSED_NO_CHANGE = Text(
    "Case {case} is closed: nothing was changed. A coordinator can reopen it."
)
STAGE_CHANGED_MEANWHILE = Text(
    "Case {case} was moved to stage {number} of 5 ({stage}) while you worked: nothing was "
    "changed. Open the navigator again."
)
OWN_PROPOSAL = Text(
    "You proposed the closure of case {case} yourself: another coordinator decides on it."
)
NO_CLOSURE_WAITING = Text("Case {case} has no closure waiting for a decision.")
RETURN_CANCELLED = Text("Stopped: the closure of case {case} is still waiting for a decision.")

# The case view's guidance part.
STAGE_ITEMS = Text("Essential steps of this stage done: {done} of {total}.")
STAGE_MISSING = Text("Still to do: {items}")
RISK_LINE = Text("Risk level: {level} (set {date}); next review {review}.")
NOT_SCREENED = Text("Risk level: not screened yet.")
SIBLINGS_TOGETHER = Text("Siblings placed together: {answer}")
CLOSURE_WAITING = Text("Closure proposed on {date}; waiting for a coordinator.")
CLOSED_ON = Text("Closed on {date}.")
NEXT_STEP = Text("Next step: {step}")


# A case's children (issue #14): a number and an optional pseudonymous label, never a name;
# the home visit rates each child, and the case view follows each child's Child Status Index.
CHILD = Text("child {number}")
CHILD_BORN_PLACED = Text("{child} (born {year}, {placement})")
CHILD_BORN = Text("{child} (born {year})")
CHILD_PLACED = Text("{child} ({placement})")
# A home visit to a case with no children registered rates the child visited, unnamed.
CHILD_UNNAMED = Text("the child you visited")
PLACEMENTS = {
    "at_home": Text("at home"),
    "sos_family": Text("SOS family"),
    "foster_care": Text("foster family"),
    "kinship_care": Text("kinship care"),
    "temporary_care": Text("temporary care"),
    "simba_family_home": Text("Simba family home"),
}
SIBLING_GROUP = Text("sibling group {group}")
SIBLING_GROUP_TOGETHER = Text("sibling group {group}, placed together")
SIBLING_GROUP_APART = Text("sibling group {group}, not placed together")
WHICH_CHILD = Text(
    "Case {case} has {count} children. The Child Status Index rates one child at a time: "
    "which child do you rate now?"
)
RATED_MARK = Text("{child} ✅ rated")
NEXT_CHILD = Text(
    "Still to rate in this visit: {count}. Rate the next child, or stop here and rate the "
    "others later with /guide."
)
NO_SUCH_CHILD = Text("Case {case} has no child {number}.")
CHILDREN_CSI_HEADER = Text("Child Status Index per child (domains 2–8, oldest visit first):")
CHILD_CSI_HEADER = Text("{child}, {siblings}:")
CHILD_CSI_LINE = Text("{child}:")
CHILD_NOT_RATED = Text("  not rated yet")
CHILD_LAST_RATED = Text("  last rated on {date}")
CHILD_DOMAIN = Text("  {domain}: {scores}")
CHILD_NEEDS_ACTION = Text("  needs action: {factor} ({rating})")
CSI_RATINGS = {4: Text("good"), 3: Text("fair"), 2: Text("bad"), 1: Text("very bad")}
CSI_FACTORS = {
    "csi.food_security": Text("food security"),
    "csi.nutrition_growth": Text("nutrition and growth"),
    "csi.shelter": Text("shelter"),
    "csi.care": Text("care"),
    "csi.abuse_exploitation": Text("abuse and exploitation"),
    "csi.legal_protection": Text("legal protection"),
    "csi.wellness": Text("wellness"),
    "csi.health_care_services": Text("health care services"),
    "csi.emotional_health": Text("emotional health"),
    "csi.social_behaviour": Text("social behaviour"),
    "csi.performance": Text("performance"),
    "csi.education_work": Text("education or work"),
}
EVIDENCE_CHILD = Text("About {child}.")
EVIDENCE_CHILD_AGAIN = Text("Rated so again for {child}.")

"""What the web view says, as gettext msgids (English source) translated per reader, like
the bot's own texts (`bot.services.texts`, which the pages use too where they say the same
thing: levels, statuses, history, evidence)."""

from __future__ import annotations

from ..engine import Text

SITE = Text("Wegwijzer")
SKIP = Text("Skip to the content")
NAV = Text("Main menu")
FLAGS = Text("Flags")
CASES = Text("Cases")
SIGN_OUT = Text("Sign out")
LANGUAGE = Text("Language")
CHANGE_LANGUAGE = Text("Change")
SIGNED_IN_AS = Text("Signed in as {who}")

# Signing in.
CONFIRM_TITLE = Text("Sign in to the web view")
CONFIRM_TEXT = Text(
    "You opened a sign-in link from the bot. It works once and only for the person who asked "
    "for it. Sign in now?"
)
CONFIRM_BUTTON = Text("Sign in")
LINK_NOT_VALID_TITLE = Text("This link does not work")
LINK_NOT_VALID = Text(
    "This sign-in link does not work (any more): it may have been used already, run out of "
    "time, or been copied wrongly. Type /web in the bot for a new one."
)
TOO_MANY = Text("Too many attempts from your address. Wait a few minutes and try again.")
SIGNED_OUT_TITLE = Text("Signed out")
SIGNED_OUT = Text("You are signed out. To sign in again, type /web in the bot.")
NOT_SIGNED_IN_TITLE = Text("Sign in first")
NOT_SIGNED_IN = Text(
    "The web view is for caseworkers and coordinators. Type /web in the bot for a one-time "
    "sign-in link. A session ends after a while without use."
)
FORM_EXPIRED_TITLE = Text("Please try again")
FORM_EXPIRED = Text(
    "This form could not be accepted (it was older than your session, or came from another "
    "site). Go back, reload the page and try again."
)
BAD_FORM_TITLE = Text("This form was not filled in as expected")
BAD_FORM = Text("Nothing was changed. Go back, reload the page and try again.")
FAILED_TITLE = Text("Something went wrong")
FAILED = Text(
    "Something went wrong on our side, and this page could not be shown. Go back and try "
    "again in a moment."
)
NOT_FOUND_TITLE = Text("Not found")
NOT_FOUND = Text("There is no page here.")

# Exports.
EXPORTS = Text("Exports")
EXPORTS_INTRO = Text(
    "Every answer given, one row per answer: case, child, flow and version, run, answer key, "
    "answer, day, and the run's scores and flags."
)
EXPORTS_PSEUDONYMISED = Text(
    "Downloads here are pseudonymised, for research and monitoring: case codes and runs are "
    "keyed pseudonyms, answers to text questions are left out, and each answer has its day "
    "only (UTC). The export with case codes and what families typed is made at the command "
    "line."
)
EXPORTS_AUDITED = Text(
    "Every download is in the audit log: who, when, what was chosen and how many rows."
)
EXPORT_FORMAT = Text("Format")
FORMAT_JSON = Text("JSON")
FORMAT_CSV = Text("CSV (a spreadsheet's text)")
FORMAT_XLSX = Text("Excel workbook (xlsx), a sheet per flow")
EXPORT_SINCE = Text("Only answers given on or after (optional)")
EXPORT_ENCRYPT = Text("Encrypt: an AES-256 zip, for a file that travels by mail")
EXPORT_PASSWORD = Text("Password for the zip (at least {least} characters)")
EXPORT_SHORT_PASSWORD = Text(
    "The password must be at least {least} characters. Nothing was downloaded."
)
EXPORT_BUTTON = Text("Download")
EXPORT_BUSY_TITLE = Text("Busy")
EXPORT_BUSY = Text(
    "Other downloads are running (or one of yours still is). Try again in a minute. "
    "Nothing was downloaded."
)
EXPORT_PASSWORD_NOT_ENCRYPTED = Text(
    "A password was typed but Encrypt was not ticked. Tick Encrypt, or clear the password. "
    "Nothing was downloaded."
)
EXPORT_BAD_DATE = Text("That date was not understood. Choose a day, or write it as 2026-11-01.")
EXPORTS_REFUSED_TITLE = Text("Not available")
EXPORTS_REFUSED = Text("Exports of answers are for coordinators.")

# The queue.
QUEUE_TITLE = Text("Flags")
QUEUE_INTRO = Text("Most serious first, then by due time.")
FILTERS = Text("Filters")
FILTER_LEVEL = Text("Level")
FILTER_STATUS = Text("Status")
FILTER_OVERDUE = Text("Overdue only")
FILTER_ASSIGNEE = Text("Assigned to (caseworker number)")
FILTER_PROGRAMME = Text("Programme")
FILTER_CASE = Text("Case code")
ANY = Text("any")
UNRESOLVED = Text("open or acknowledged")
ALL_STATUSES = Text("all, resolved too")
APPLY = Text("Show")
CLEAR = Text("Clear filters")
NO_FLAGS = Text("No flags match.")
PAGE_OF = Text("Page {page} of {pages}")
PAGINATION = Text("Pages")
PREVIOUS = Text("Previous page")
NEXT = Text("Next page")
COLUMN_FLAG = Text("Flag")
COLUMN_LEVEL = Text("Level")
COLUMN_CASE = Text("Case")
COLUMN_REASON = Text("Reason")
COLUMN_STATUS = Text("Status")
COLUMN_DUE = Text("Due")
COLUMN_ASSIGNED = Text("Assigned to")
OVERDUE_SINCE = Text("overdue since {due}")
NOBODY = Text("nobody")
CASEWORKER = Text("caseworker {person}")

# One flag.
FLAG_TITLE = Text("Flag {id}")
BACK_TO_QUEUE = Text("Back to the flags")
FACTS = Text("Facts")
FACT_STATUS = Text("Status")
FACT_RAISED = Text("Raised")
FACT_DUE = Text("Due")
FACT_ASSIGNED = Text("Assigned to")
FACT_RULE = Text("Rule")
FACT_ESCALATIONS = Text("Escalations")
EVIDENCE = Text("Evidence")
NO_EVIDENCE = Text("No evidence recorded.")
HISTORY = Text("History")
DELIVERY = Text("Delivery")
NO_DELIVERY = Text("No notices about this flag.")
DELIVERY_LINE = Text("{to}: {state} (attempts: {attempts}; queued {queued})")
FALLBACK_CHAT = Text("the operators' chat")
DELIVERY_STATES = {
    "queued": Text("waiting to be sent"),
    "sent": Text("delivered"),
    "unreachable": Text("not delivered: blocked the bot"),
    "failed": Text("not delivered: given up"),
    "withdrawn": Text("not sent: consent withdrawn"),
}
ACTIONS = Text("What to do")
NOTE_LABEL = Text("Note")
ADD_NOTE = Text("Add note")
RESOLUTION_LABEL = Text("Resolution note (how was it handled?)")
RESOLVE = Text("Resolve")
REOPEN = Text("Reopen")
ACKNOWLEDGE = Text("Acknowledge")
ASSIGN_LABEL = Text("Caseworker")
ASSIGN = Text("Assign")
ASSIGN_TITLE = Text("Assign flag {id}")
ASSIGN_LINK = Text("Assign to a caseworker")
BACK_TO_FLAG = Text("Back to the flag")
CASEWORKER_OPTION = Text("caseworker {person} ({cases})")
NOTE_REQUIRED = Text("Write a note first: it cannot be empty.")
NOT_ASSIGNABLE = Text(
    "That person cannot be assigned (no longer an active caseworker): choose another."
)
NOTE_TOO_LONG = Text("The note was too long and was not saved: at most {limit} characters.")
DONE = {
    "acknowledged": Text("Acknowledged: escalation has stopped."),
    "assigned": Text("Assigned."),
    "noted": Text("Note added."),
    "resolved": Text("Resolved."),
    "reopened": Text("Open again."),
    "unchanged": Text("Nothing changed: it was so already."),
}


# A case's page.
CASE_TITLE = Text("Case {case}")
CASE_SUMMARY = Text("Where the case stands")
COLUMN_PROGRAMME = Text("Programme")
COLUMN_STAGE = Text("Stage")
WHO5_HEADING = Text("WHO-5 well-being over time")
WHO5_INTRO = Text(
    "The family's WHO-5 well-being at each check-in, 0–100, oldest first. Below 52 is poor "
    "well-being and worth a conversation; 28 or less may mean depression."
)
WHO5_DATE = Text("Check-in")
WHO5_SCORE = Text("WHO-5 well-being (0–100)")
WHO5_CHART = Text("Chart of the WHO-5 well-being in the table above")
WHO5_POOR = Text("poor well-being (below 52)")
WHO5_LOW = Text("possible depression (28 or less)")
CASE_FLAGS = Text("Open flags of this case")
NO_OPEN_FLAGS = Text("No open flags.")

# The list of cases.
CASES_TITLE = Text("Cases")
CASE_SEARCH = Text("Search")
SEARCH = Text("Search")
NO_CASES = Text("No cases to show.")
COLUMN_CASEWORKER = Text("Caseworker")
COLUMN_RISK = Text("Risk level")

# Case pages.
FILTER_CASEWORKER = Text("Caseworker (number)")
FILTER_STAGE = Text("Stage")
FILTER_RISK = Text("Risk level")
FILTER_SILENT = Text("No check-in for at least (weeks)")
FILTER_CASE_STATUS = Text("Case status")
CASE_OPEN = Text("open")
CASE_CLOSED = Text("closed")
FILTER_CLOSED = Text("Closed from {first} to {last}")
NOT_SCREENED = Text("not screened")
CASES_FOUND = Text("Cases found: {count}")
COLUMN_REVIEW = Text("Next review")
COLUMN_VISIT = Text("Next visit")
COLUMN_LAST_CHECKIN = Text("Last check-in")
NEVER_CHECKED_IN = Text("never")
WEEKS_SILENT = Text("weeks without a check-in: {weeks}")
BACK_TO_CASES = Text("Back to the cases")
STAGE_HEADING = Text("Stage and its checklist")
STAGE_DONE = Text("Essential steps done: {done} of {total}")
STAGE_TO_DO = Text("Still to do")
STAGE_ALL_DONE = Text("All essential steps of this stage are done.")
NO_CHECKLIST = Text("This stage has no checklist.")
RISK_HEADING = Text("Risk level and its history")
RISK_NOW = Text("Now")
RISK_REVIEW = Text("Next review")
RISK_NONE = Text("No risk screening yet.")
RISK_HISTORY_DATE = Text("When")
RISK_HISTORY_LEVEL = Text("Level")
RISK_HISTORY_BY = Text("Set by")
RISK_HISTORY_FROM = Text("From")
RISK_FROM_SCREENING = Text("the screening's result")
RISK_OVERRIDDEN = Text("chosen over the screening's {computed}: {reason}")
RISK_BY_HAND = Text("set by hand")
CSI_HEADING = Text("Child Status Index over the home visits")
CSI_INTRO = Text(
    "Each domain scores 2 (very bad) to 8 (good): the two ratings of the domain added up, "
    "oldest visit first."
)
CSI_DOMAIN = Text("Domain")
CSI_CHART = Text("Chart of the Child Status Index in the table above")
CSI_NO_VISITS = Text("Not rated at a home visit yet.")
CSI_CASE = Text("Visits that rated no registered child")
TIMELINE_HEADING = Text("Timeline")
TIMELINE_SINCE = Text("What happened since {date}, newest first.")
TIMELINE_EMPTY = Text("Nothing happened in this time.")
TL_CHECKIN = Text("Check-in done (WHO-5 well-being {score})")
TL_CHECKIN_DONE = Text("Check-in done")
TL_FLAG_RAISED = Text("Flag #{id} raised ({level})")
TL_FLAG_RESOLVED = Text("Flag #{id} resolved")
TL_RISK = Text("Risk level set: {level}")
TL_STAGE = Text("Stage set: {stage}")
TIMELINE_KINDS = {
    "reminder": Text("Check-in reminder sent, answered"),
    "reminder_missed": Text("Check-in reminder sent, not answered (missed)"),
    "reminder_waiting": Text("Check-in reminder sent, not answered yet"),
    "reminder_unanswered": Text(
        "Check-in reminder sent, not answered (not counted: reminders paused, consent "
        "withdrawn or case closed)"
    ),
    "reminder_followed_up": Text("Follow-up reminder sent"),
    "visit_recorded": Text("Home visit recorded"),
    "schedule_paused": Text("Check-in reminders paused"),
    "schedule_resumed": Text("Check-in reminders resumed"),
    "closure_proposed": Text("Closure proposed"),
    "closure_returned": Text("Closure proposal returned"),
    "case_closed": Text("Case closed"),
    "case_reopened": Text("Case reopened"),
}
MISSED_HEADING = Text("Missed reminders")
MISSED_NONE = Text("No check-in reminder went unanswered in this time.")
MISSED_COUNT = Text("Check-in reminders not answered before the next: {count}")
FLAGS_HEADING = Text("Flags")
OPEN_FLAGS = Text("Open")
RESOLVED_FLAGS = Text("Resolved (the last ones)")
NO_RESOLVED_FLAGS = Text("No resolved flags.")
RESOLVED_ON = Text("resolved {date}")
VISITS_HEADING = Text("Home visits")
LAST_VISIT = Text("Last visit")
NEXT_VISIT_DUE = Text("Next visit due")
NO_VISIT_PLANNED = Text("none planned")
VISITS_RECORDED = Text("Visits recorded")
NO_VISITS = Text("No home visits recorded.")
SCHEDULE_HEADING = Text("Schedule")
REEVALUATION = Text("Re-evaluation (Meldcode)")
CLOSURE_HEADING = Text("Closure")
CLOSURE_OPEN = Text("Open: no closure proposed.")
CLOSURE_NOTE_LABEL = Text("What still needs doing before the case can close")
CLOSURE_NOTE_REQUIRED = Text(
    "Nothing was changed: a closure is returned with a note of what still needs doing."
)
CLOSURE_DECISION = Text("Your decision")
CLOSURE_STEPS = {
    "closure_proposed": Text("proposed"),
    "closure_returned": Text("returned"),
    "case_closed": Text("closed"),
    "case_reopened": Text("reopened"),
}

# The overview.
OVERVIEW = Text("Overview")
OVERVIEW_TITLE = OVERVIEW
OVERVIEW_INTRO = Text(
    "The whole organisation at a glance. Each number links to the list behind it."
)
OVERVIEW_REFUSED_TITLE = Text("For coordinators")
OVERVIEW_REFUSED = Text(
    "The overview shows the work of every caseworker and is for coordinators. Your own "
    "flags and cases are under Flags and Cases."
)
PERIOD = Text("Period")
PERIOD_DAYS = Text("last {days} days")
PERIOD_FROM = Text("From")
PERIOD_TO = Text("To")
PERIOD_SHOWN = Text("From {first} to {last}, both included.")
PERIOD_NOT_UNDERSTOOD = Text(
    "That period could not be used (dates as year-month-day, the first not after the last, "
    "at most three years): the last 30 days are shown."
)
OPEN_FLAGS_HEADING = Text("Open flags")
OPEN_FLAGS_SUMMARY = Text("Open or acknowledged now: {open}, of which overdue: {overdue}.")
OPEN_FLAGS_CAPTION = Text("Open flags by level and by time since they were raised")
OPEN_FLAGS_CHART = Text("Chart of the open flags by level in the table above")
COLUMN_OPEN = Text("Open")
COLUMN_OVERDUE = Text("Overdue")
AGES = {
    "0-1": Text("1 day or less"),
    "1-3": Text("1 to 3 days"),
    "3-7": Text("3 to 7 days"),
    "7-": Text("more than 7 days"),
}
RESPONSES_HEADING = Text("Time to acknowledge and to resolve")
RESPONSES_INTRO = Text(
    "Flags raised in the period. Acknowledged means acknowledged or resolved straight away; "
    "in time means by the flag's due time. Times are medians (p50) and the time within "
    "which 90 % were done (p90)."
)
COLUMN_RAISED = Text("Raised in the period")
COLUMN_DUE_WITHIN = Text("Due within")
COLUMN_IN_TIME = Text("Acknowledged in time")
COLUMN_NOT_YET = Text("Not acknowledged yet")
COLUMN_ACK_P50 = Text("Time to acknowledge, p50")
COLUMN_ACK_P90 = Text("Time to acknowledge, p90")
COLUMN_RESOLVED = Text("Resolved")
COLUMN_RESOLVE_P50 = Text("Time to resolve, p50")
COLUMN_RESOLVE_P90 = Text("Time to resolve, p90")
IN_TIME_OF = Text("{in_time} of {answered}")
ESCALATIONS_HEADING = Text("Escalations")
ESCALATIONS_INTRO = Text(
    "Flags not acknowledged by their due time are escalated to every coordinator, again at "
    "each interval."
)
COLUMN_ESCALATIONS = Text("Escalations in the period")
COLUMN_ESCALATED_FLAGS = Text("Flags escalated")
NO_ESCALATIONS = Text("No escalations in this period.")
SILENT_HEADING = Text("Families with missed check-ins")
SILENT_INTRO = Text(
    "Open cases without a completed check-in for at least so long (never included)."
)
COLUMN_SILENT_FOR = Text("No check-in for")
COLUMN_CASES = Text("Open cases")
SILENT_WEEKS = Text("{weeks} weeks or more")
CASELOAD_HEADING = Text("Caseload per caseworker")
CASELOAD_INTRO = Text(
    "The {shown} caseworkers with the most open cases, of {all}. Open cases without a "
    "caseworker: {without}."
)
COLUMN_OPEN_FLAGS = Text("Open flags")
COLUMN_OVERDUE_FLAGS = Text("Overdue flags")
CASES_BY_HEADING = Text("Open cases by programme and stage")
COLUMN_TOTAL = Text("Total")
CASES_BY_RISK = Text("Open cases by risk level")
CLOSURES_HEADING = Text("Closures")
CLOSURES = Text("Cases closed in the period: {count}.")
SHOW_CLOSED = Text("Show them")
CLOSURE_MEDIAN = Text("Median time from opening to closing: {days} days.")
HOURS = Text("{hours} h")
DAYS = Text("{days} days")
# The flag queue's filters the overview links with.
FILTER_RAISED_FROM = Text("Raised from")
FILTER_RAISED_TO = Text("Raised up to")
FILTER_AGE = Text("Time since raised: {age}")
FILTER_OF_CASEWORKER = Text("Of the cases of caseworker {person}")
FILTER_ESCALATED = Text("Escalated from {first} to {last}")

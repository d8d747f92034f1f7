"""The fault bench's own run, small: under injected faults nothing is lost or doubled.

SQLite locked while families press /sos, the Bot API answering 500, 429 and 403, every
update delivered twice and a restart midway (see tests/bench/faults.py). Its timings are
figures for the bench to print, not asserted here.
"""

from __future__ import annotations

from tests.bench.faults import run_fault_bench


async def test_under_faults_no_alarm_is_lost_no_notice_doubled_each_answer_stored_once() -> None:
    figures = await run_fault_bench(families=3)
    assert (figures.alarms_raised, figures.alarms_recorded, figures.alarms_lost) == (6, 6, 0)
    assert figures.notices_duplicated == 0 and figures.notices_waiting == 0
    assert figures.notices_delivered > 0
    assert (figures.answers_expected, figures.answers_stored, figures.answers_doubled) == (3, 3, 0)

"""Open check-ins for the benches: families who joined, chose Dutch, consented, and are at the
first WHO-5 question of their check-in, stored as the bot stores them (rows through the models,
so every sealed column is sealed), a batch at a time."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Wegwijzer
from bot.engine import Choose
from bot.services import runs
from bot.storage import crypto
from bot.storage.models import Answer, Case, Membership, Person, Run
from bot.telegram._channel import CHANNEL

# Telegram ids of the seeded families: clear of the ids the benches' bare bots use.
FIRST_ID = 2_000_000


async def open_checkins(
    app: Wegwijzer, count: int, batch: int = 2000, first: int = FIRST_ID
) -> list[str]:
    """`count` families with an open check-in run; their Telegram ids, from `first` on (a
    bench running two bots against one fake Bot API gives each ids of its own)."""
    flow = app.flows.for_purpose("checkin")
    assert flow is not None
    context = runs.flow_context(app)
    # Every family is at the same step: the engine runs once, its state is stored for each.
    sprint = app.engine.resume(app.engine.start(flow.id, context).state, Choose(True), context)
    state, step = sprint.state.to_dict(), sprint.state.step
    now = app.clock()
    keys = crypto.active()
    external_ids = [str(first + number) for number in range(count)]
    for start in range(0, count, batch):
        chunk = external_ids[start : start + batch]
        async with AsyncSession(app.database.engine) as session:
            case_id = await session.scalar(
                insert(Case).returning(Case.id),
                [{"code": f"BENCH-{start // batch:05d}", "programme": "family_strengthening"}],
            )
            people = await session.scalars(
                insert(Person).returning(Person.id, sort_by_parameter_order=True),
                [
                    {
                        "channel": CHANNEL,
                        "external_id": external_id,
                        "external_key": keys.lookup_key(CHANNEL, external_id),
                        "role": "family",
                        "language": "nl",
                        "consent": "given",
                        "consent_at": now,
                    }
                    for external_id in chunk
                ],
            )
            person_ids = list(people)
            await session.execute(
                insert(Membership), [{"case_id": case_id, "person_id": p} for p in person_ids]
            )
            started = await session.scalars(
                insert(Run).returning(Run.id, sort_by_parameter_order=True),
                [
                    {
                        "person_id": person_id,
                        "case_id": case_id,
                        "flow_id": flow.id,
                        "flow_version": flow.version,
                        "step": step,
                        "status": "active",
                        "state": state,
                        "started_at": now,
                        "updated_at": now,
                    }
                    for person_id in person_ids
                ],
            )
            await session.execute(
                insert(Answer),
                [
                    {
                        "run_id": run_id,
                        "key": "checkin.consent",
                        "value": True,
                        "step": flow.start,
                        "answered_at": now,
                    }
                    for run_id in list(started)
                ],
            )
            await session.commit()
    return external_ids

"""The per-person update processor: one person in order, other people not held up."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.telegram import PerPersonUpdateProcessor


def update_from(user_id: int, update_id: int) -> Update:
    user = User(user_id, "Test", is_bot=False)
    chat = Chat(user_id, Chat.PRIVATE)
    message = Message(update_id, None, chat, from_user=user, text="x")
    return Update(update_id, message=message)


async def test_a_busy_person_does_not_hold_up_others() -> None:
    processor = PerPersonUpdateProcessor(max_concurrent_updates=2)
    done: list[str] = []

    async def work(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        done.append(name)

    busy = [
        asyncio.create_task(processor.process_update(update_from(1, n), work(f"busy{n}", 0.2)))
        for n in range(4)
    ]
    await asyncio.sleep(0.01)
    other = asyncio.create_task(processor.process_update(update_from(2, 99), work("other", 0)))
    await asyncio.wait_for(other, timeout=0.15)  # not behind the busy person's queue
    await asyncio.gather(*busy)
    assert done == ["other", "busy0", "busy1", "busy2", "busy3"]  # the busy one in order
    assert processor.people_in_flight == 0  # nothing kept per person afterwards

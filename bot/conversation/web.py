"""`/web`: a staff member's one-time link to sign in to the web view (bot/web)."""

from __future__ import annotations

from ..rules.access import NotAllowed
from ..services import texts, web_login
from .exchange import Exchange
from .intents import Web


async def sign_in_link(x: Exchange, _: Web) -> None:
    """The link, for the person asking only; each `/web` makes a new one (the old ones stay
    single use and run out by themselves)."""
    await x.reply_once()
    base = x.app.settings.web_base_url
    if base is None:
        await x.say(texts.WEB_NOT_SET_UP)
        return
    try:
        issued = await web_login.issue_link(x.app, x.member())
    except NotAllowed:
        await x.say(texts.NOT_FOR_ROLE.using(command="/web"))
        return
    link = f"{base}/login/{issued.token}"
    await x.say(texts.WEB_LINK.using(expires=issued.expires_at, link=link))

"""Signing in with a one-time link from the bot, signing out, and choosing the language."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..services import web_login
from . import texts as T
from .view import NONCE_COOKIE, Page, WebView, local_path, log, read_fields


class SignInPages(WebView):
    def sign_in_routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.home),
            Route("/login/{token}", self.confirm, methods=["GET"]),
            Route("/login/{token}", self.redeem, methods=["POST"]),
            Route("/logout", self.sign_out, methods=["POST"]),
            Route("/language", self.language, methods=["POST"]),
        ]

    # --- signing in and out -------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        return RedirectResponse("/flags", status_code=303)

    async def confirm(self, request: Request) -> Response:
        """The link opened: a page with a button, so that a link preview (a messenger fetching
        the URL) cannot use it up. Nothing is looked up here."""
        page = await self.page(request)
        nonce = secrets.token_urlsafe(16)
        response = self.render(
            page,
            "confirm.html",
            T.CONFIRM_TITLE,
            action=f"/login/{request.path_params['token']}",
            nonce=nonce,
        )
        response.set_cookie(
            NONCE_COOKIE,
            nonce,
            max_age=int(self.app.settings.web_link_minutes * 60),
            path="/login/",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )
        return response

    async def redeem(self, request: Request) -> Response:
        page = await self.page(request)
        address = request.client.host if request.client else "unknown"
        if not self.limiter.allow(address):
            log.warning("web sign-in: rate limited", extra={"event": "web_link"})
            return self.message(page, T.LINK_NOT_VALID_TITLE, T.TOO_MANY, 429)
        form = await read_fields(request)
        if form is None:
            return self.bad_form(page)
        nonce = request.cookies.get(NONCE_COOKIE, "")
        given = form.get("nonce", "")
        fresh = bool(nonce) and secrets.compare_digest(nonce.encode(), given.encode())
        if not self.same_origin(request) or not fresh:
            return self.refused_form(page)
        try:
            session_id, _ = await web_login.redeem(
                self.app,
                str(request.path_params["token"]),
                replacing=request.cookies.get(self.cookie),  # ended or not: it goes
            )
        except web_login.LinkNotValid:
            self.limiter.failed(address)
            return self.message(page, T.LINK_NOT_VALID_TITLE, T.LINK_NOT_VALID, 400)
        response = RedirectResponse("/flags", status_code=303)
        response.delete_cookie(NONCE_COOKIE, path="/login/")
        # No Max-Age: the cookie goes when the browser closes, and the server ends the
        # session (idle, lifetime, sign-out) whatever the cookie says.
        response.set_cookie(
            self.cookie,
            session_id,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )
        return response

    async def sign_out(self, request: Request) -> Response:
        posted = await self.posted(request)
        if isinstance(posted, Response):
            return posted
        await web_login.sign_out(self.app, posted.who, posted.session_id)
        response = self.message(
            Page(None, None, posted.page.translate), T.SIGNED_OUT_TITLE, T.SIGNED_OUT, 200
        )
        response.delete_cookie(self.cookie, path="/", secure=self.secure, httponly=True)
        return response

    async def language(self, request: Request) -> Response:
        posted = await self.posted(request)
        if isinstance(posted, Response):
            return posted
        form = posted.form
        await web_login.choose_language(self.app, posted.session_id, form.get("language", ""))
        return RedirectResponse(local_path(form.get("next", "/flags")), status_code=303)

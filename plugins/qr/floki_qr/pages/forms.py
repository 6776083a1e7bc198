"""The phone pages' forms, as the OpenAPI document describes them (all fields are text)."""

from __future__ import annotations

import msgspec


class PageForm(msgspec.Struct, kw_only=True):
    csrf: str  # the session's form token, in every signed-in form


class StateForm(PageForm, kw_only=True):
    to: str
    note: str = ""


class HereForm(PageForm, kw_only=True):
    zone_id: str


class PositionForm(PageForm, kw_only=True):
    lat: str
    lon: str
    accuracy: str = ""


class LoanForm(PageForm, kw_only=True):
    reference: str
    destination_type: str
    due_back: str


class ReturnForm(PageForm, kw_only=True):
    state: str = ""


class PpmForm(PageForm, kw_only=True):
    outcome: str = ""
    notes: str = ""
    next_due: str = ""


class ScanForm(PageForm, kw_only=True):
    code: str
    mode: str = ""


class LoginForm(msgspec.Struct, kw_only=True):
    csrf: str
    username: str
    password: str
    next: str = ""


class ScanEntry(msgspec.Struct, kw_only=True):
    at: str
    code: str
    action: str
    asset: str
    ok: bool
    message: str

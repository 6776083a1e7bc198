"""Everything a plugin may import from the core, and nothing else.

A technology plugin (a source of sightings, a locator, a rule type, a notifier, routes,
commands) is written against this module only: ``from floki_core.sdk import ...``. What
is here keeps its name and meaning within a major version of the plugin API
(``PLUGIN_API``); anything else in ``floki_core`` may change in any release. The import
contract in pyproject.toml (``lint-imports``) holds the built-in plugins to it, so they
are shaped exactly as a third party's.

A running appliance hands each plugin what it may do through its ``PluginContext``:
``records`` (the register, read and added to in one audited transaction: ``RegisterReading``,
``RegisterWriting``), ``workflow`` (``WorkflowActions``: states, loans, work orders),
``locations`` (``LocationActions``) and ``sign_ins`` (``SignIns``), each the same call the
API makes, with its errors; never a database row, a service or the ``Core``.

The test kit is part of the surface too, kept apart so that a plugin's runtime never
imports pytest: ``floki_core.testing`` (the in-process appliance fixture) and
``floki_core.conformance`` (the tests every source, notifier and rule type passes).
See docs/plugins.md.
"""

from __future__ import annotations

import argparse
import ssl
from typing import Protocol

import msgspec

from floki_core import hookimpl
from floki_core.api.bodies import MAX_ID, ApiError, json_response, read_raw
from floki_core.api.bodies import principal as principal_of
from floki_core.api.uploads import (
    Decoded,
    Decoder,
    UploadReceipt,
    UploadRefused,
    accept_upload,
    upload_source,
)
from floki_core.appliance import tls_paths
from floki_core.clock import Clock, SystemClock
from floki_core.config import AppConfig, ServerConfig, parse_config, plugin_section
from floki_core.domain import (
    Asset,
    AssetClass,
    AssetState,
    Floor,
    Identifier,
    Principal,
    Receiver,
    Role,
    Site,
    Zone,
    to_plain,
)
from floki_core.errors import (
    ConfigError,
    Conflict,
    FlokiError,
    Forbidden,
    Invalid,
    NotFound,
    NotSaved,
)
from floki_core.events import DomainEvent, EventBus
from floki_core.location.evidence import Locator, ReceiverInfo, Sighting, ZoneEvidence
from floki_core.location.register_index import RegisterIndex, ZoneInfo
from floki_core.location.register_view import RegisterSnapshot, RegisterView, ZoneNode
from floki_core.observations import Extra, Observation, ObservationSink
from floki_core.plugins.context import PluginContext
from floki_core.plugins.location_actions import LocationActions
from floki_core.plugins.register_records import RegisterReading, RegisterRecords, RegisterWriting
from floki_core.plugins.registry import (
    Answer,
    CommandContext,
    CommandRegistry,
    ConfigRegistry,
    LocatorRegistry,
    Notifier,
    NotifierRegistry,
    Param,
    RegistrationError,
    RouteRegistry,
    RuleTypeRegistry,
    Source,
    SourceRegistry,
    TagKeyRegistry,
    TagKeys,
)
from floki_core.plugins.sign_ins import LoginRefused, SignedIn, SignIns
from floki_core.plugins.workflow_actions import PresentedState, WorkflowActions, state_labels
from floki_core.schemas import (
    giai_problem,
    gs1_check_digit,
    identifier_problem,
    normalise_identifier,
    spell_altbeacon,
    spell_eddystone,
    spell_ibeacon,
    spell_mac,
    udi_value,
)
from floki_core.security.tls import server_context
from floki_core.storage.models_alerts import Alert
from floki_core.workers.channel import ChannelClosed, FrameChannel, open_channel
from floki_core.workers.process import WorkerProcess, default_worker_count
from floki_core.workflow.alert_routing import DeliveryRefused
from floki_core.workflow.loan_records import Loan, LoanCreate, LoanReturn
from floki_core.workflow.ppm_rules import PPM_OVERDUE
from floki_core.workflow.rule_facts import Condition, Facts, RuleType, Severity
from floki_core.workflow.states_store import StateChange
from floki_core.workflow.work_orders import WorkOrder, WorkOrderComplete, WorkOrderCreate


class PluginSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The base of a plugin's ``[plugin.<name>]`` settings (``ConfigRegistry.section``):
    a misspelt key is refused at start with its name, not silently ignored. Give every
    field a default, and say what it is for in a comment beside it."""


def appliance_ssl_context(context: PluginContext) -> ssl.SSLContext:
    """A TLS server context with the certificate the appliance's API serves (``[server]
    tls_cert``/``tls_key`` when set, else the per-install one), for a plugin's own
    listener. Raises ``ConfigError`` naming the file when it cannot be loaded."""
    if context.appliance_dir is None or context.services is None:
        raise ConfigError("the appliance's certificate is known only to a running appliance")
    try:
        cert, key = tls_paths(context.appliance_dir, context.config)
    except FlokiError as exc:
        raise ConfigError(str(exc)) from None
    return server_context(cert, key)


class Command(Protocol):
    """What ``CommandRegistry.add(name, help, configure, run)`` takes as ``run``: the
    parsed arguments and the appliance's configuration and database; the exit status."""

    def __call__(self, args: argparse.Namespace, context: CommandContext) -> int: ...


__all__ = [
    "MAX_ID",
    "PPM_OVERDUE",
    "Alert",
    "Answer",
    "ApiError",
    "AppConfig",
    "Asset",
    "AssetClass",
    "AssetState",
    "ChannelClosed",
    "Clock",
    "Command",
    "CommandContext",
    "CommandRegistry",
    "Condition",
    "ConfigError",
    "ConfigRegistry",
    "Conflict",
    "Decoded",
    "Decoder",
    "DeliveryRefused",
    "DomainEvent",
    "EventBus",
    "Extra",
    "Facts",
    "FlokiError",
    "Floor",
    "Forbidden",
    "FrameChannel",
    "Identifier",
    "Invalid",
    "Loan",
    "LoanCreate",
    "LoanReturn",
    "LocationActions",
    "Locator",
    "LocatorRegistry",
    "LoginRefused",
    "NotFound",
    "NotSaved",
    "Notifier",
    "NotifierRegistry",
    "Observation",
    "ObservationSink",
    "Param",
    "PluginContext",
    "PluginSettings",
    "PresentedState",
    "Principal",
    "Receiver",
    "ReceiverInfo",
    "RegisterIndex",
    "RegisterReading",
    "RegisterRecords",
    "RegisterSnapshot",
    "RegisterView",
    "RegisterWriting",
    "RegistrationError",
    "Role",
    "RouteRegistry",
    "RuleType",
    "RuleTypeRegistry",
    "ServerConfig",
    "Severity",
    "Sighting",
    "SignIns",
    "SignedIn",
    "Site",
    "Source",
    "SourceRegistry",
    "StateChange",
    "SystemClock",
    "TagKeyRegistry",
    "TagKeys",
    "UploadReceipt",
    "UploadRefused",
    "WorkOrder",
    "WorkOrderComplete",
    "WorkOrderCreate",
    "WorkerProcess",
    "WorkflowActions",
    "Zone",
    "ZoneEvidence",
    "ZoneInfo",
    "ZoneNode",
    "accept_upload",
    "appliance_ssl_context",
    "default_worker_count",
    "giai_problem",
    "gs1_check_digit",
    "hookimpl",
    "identifier_problem",
    "json_response",
    "normalise_identifier",
    "open_channel",
    "parse_config",
    "plugin_section",
    "principal_of",
    "read_raw",
    "spell_altbeacon",
    "spell_eddystone",
    "spell_ibeacon",
    "spell_mac",
    "state_labels",
    "to_plain",
    "udi_value",
    "upload_source",
]

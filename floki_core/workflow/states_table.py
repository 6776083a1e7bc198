"""The equipment state machine, declared in one place: which moves exist, who may make them.

A move missing from ``TRANSITIONS`` is refused (409) with a reason a ward can act on;
a move that exists but needs a higher role is refused (403) naming that role. The
system (location rules, work orders) is held to the same table but not to roles.
"""

from __future__ import annotations

import msgspec

from floki_core.domain import AssetState, Principal, Role
from floki_core.errors import Conflict, Forbidden, Invalid

S = AssetState
STAFF, ENGINEER, ADMIN = Role.STAFF, Role.ENGINEER, Role.ADMIN

# from state -> {to state: the lowest role that may make the move}
TRANSITIONS: dict[AssetState, dict[AssetState, Role]] = {
    S.AVAILABLE: {
        S.IN_USE: STAFF,
        S.DIRTY: STAFF,
        S.FAULTY: STAFF,
        S.ON_LOAN: STAFF,
        S.MISSING: STAFF,
        S.QUARANTINED: ENGINEER,
        S.IN_MAINTENANCE: ENGINEER,
        S.CONDEMNED: ENGINEER,
    },
    S.IN_USE: {
        S.AVAILABLE: STAFF,
        S.DIRTY: STAFF,
        S.FAULTY: STAFF,
        S.ON_LOAN: STAFF,
        S.MISSING: STAFF,
        S.QUARANTINED: ENGINEER,
        S.IN_MAINTENANCE: ENGINEER,
        S.CONDEMNED: ENGINEER,
    },
    S.DIRTY: {
        S.AVAILABLE: STAFF,  # decontaminated
        S.FAULTY: STAFF,
        S.MISSING: STAFF,
        S.QUARANTINED: ENGINEER,
        S.IN_MAINTENANCE: ENGINEER,
        S.CONDEMNED: ENGINEER,
    },
    # Only an engineer puts a faulty or quarantined device back into service.
    S.FAULTY: {
        S.MISSING: STAFF,
        S.IN_MAINTENANCE: ENGINEER,
        S.QUARANTINED: ENGINEER,
        S.AVAILABLE: ENGINEER,  # no fault found
        S.CONDEMNED: ENGINEER,
    },
    S.QUARANTINED: {
        S.IN_MAINTENANCE: ENGINEER,
        S.FAULTY: ENGINEER,
        S.AVAILABLE: ENGINEER,  # released after investigation
        S.MISSING: ENGINEER,
        S.CONDEMNED: ENGINEER,
    },
    S.IN_MAINTENANCE: {
        S.AVAILABLE: ENGINEER,
        S.FAULTY: ENGINEER,
        S.QUARANTINED: ENGINEER,
        S.MISSING: ENGINEER,
        S.CONDEMNED: ENGINEER,
    },
    S.ON_LOAN: {
        S.DIRTY: STAFF,  # the usual return: into decontamination
        S.AVAILABLE: STAFF,
        S.FAULTY: STAFF,
        S.MISSING: STAFF,
        S.QUARANTINED: ENGINEER,
        S.IN_MAINTENANCE: ENGINEER,
        S.CONDEMNED: ENGINEER,
    },
    S.MISSING: {
        S.AVAILABLE: STAFF,  # found
        S.DIRTY: STAFF,
        S.FAULTY: STAFF,
        S.QUARANTINED: ENGINEER,
        S.IN_MAINTENANCE: ENGINEER,
        S.CONDEMNED: ENGINEER,  # written off
    },
    # Final: only an admin corrects a device condemned by mistake.
    S.CONDEMNED: {
        S.QUARANTINED: ADMIN,
        S.IN_MAINTENANCE: ADMIN,
        S.FAULTY: ADMIN,
        S.AVAILABLE: ADMIN,
    },
}

# Moves that must say why: they take a device out of service for good or for an inquiry.
REASON_REQUIRED = frozenset({S.QUARANTINED, S.CONDEMNED})

# Why a common wrong move is refused, in words for the person who tried it.
_HINTS: dict[tuple[AssetState, AssetState], str] = {
    (S.DIRTY, S.IN_USE): "a dirty device must be decontaminated (marked available) before use",
    (S.DIRTY, S.ON_LOAN): "a dirty device must be decontaminated (marked available) before loan",
    (S.FAULTY, S.IN_USE): "a faulty device must be repaired and released by an engineer first",
    (S.FAULTY, S.ON_LOAN): "a faulty device must be repaired and released by an engineer first",
    (S.QUARANTINED, S.IN_USE): "a quarantined device must be released by an engineer first",
    (S.IN_MAINTENANCE, S.IN_USE): "the device is in maintenance; an engineer releases it",
}

LABELS: dict[AssetState, str] = {
    S.AVAILABLE: "Available (clean, ready)",
    S.IN_USE: "In use",
    S.DIRTY: "Awaiting decontamination",
    S.FAULTY: "Faulty",
    S.QUARANTINED: "Quarantined",
    S.IN_MAINTENANCE: "In maintenance",
    S.ON_LOAN: "On loan",
    S.MISSING: "Missing",
    S.CONDEMNED: "Condemned",
}


class TransitionView(msgspec.Struct, frozen=True, kw_only=True):
    from_state: AssetState
    to_state: AssetState
    role: Role
    reason_required: bool


class StateInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    label: str
    recorded: bool  # False: shown in lists only, never stored (ppm_overdue)


class StateTable(msgspec.Struct, frozen=True, kw_only=True):
    states: list[StateInfo]
    transitions: list[TransitionView]


def parse_state(name: str) -> AssetState:
    try:
        return AssetState(name)
    except ValueError:
        known = ", ".join(s.value for s in AssetState)
        raise Invalid(f"state: {name!r} is not a state; use one of {known}") from None


def allowed_moves(from_state: AssetState) -> dict[AssetState, Role]:
    return TRANSITIONS.get(from_state, {})


def check_transition(
    from_state: AssetState, to_state: AssetState, actor: Principal | None, reason: str = ""
) -> None:
    """Raise ``Conflict`` (no such move), ``Forbidden`` (role too low) or ``Invalid``
    (a reason is needed); ``actor`` None is the system, bound by the table but not roles."""
    if from_state is to_state:
        raise Conflict(f"the asset is already {to_state.value}")
    moves = allowed_moves(from_state)
    role = moves.get(to_state)
    if role is None:
        hint = _HINTS.get((from_state, to_state))
        if from_state is S.CONDEMNED:
            hint = "condemned is final; only an admin can correct it, to " + ", ".join(moves)
        options = ", ".join(m.value for m in moves) or "nothing"
        raise Conflict(
            f"cannot go from {from_state.value} to {to_state.value}: "
            f"{hint or f'from {from_state.value} the asset can go to {options}'}"
        )
    if actor is not None and (actor.role is None or not actor.role.at_least(role)):
        raise Forbidden(
            f"moving an asset from {from_state.value} to {to_state.value} needs the "
            f"{role.value} role"
        )
    if to_state in REASON_REQUIRED and not reason.strip():
        raise Invalid(f"reason: say why the asset is {to_state.value}")
    if from_state is S.CONDEMNED and not reason.strip():
        raise Invalid("reason: say why the condemned asset is being corrected")


def state_table(presented: tuple[tuple[str, str], ...]) -> StateTable:
    states = [StateInfo(name=s.value, label=LABELS[s], recorded=True) for s in AssetState]
    states += [StateInfo(name=n, label=label, recorded=False) for n, label in presented]
    transitions = [
        TransitionView(
            from_state=f,
            to_state=t,
            role=role,
            reason_required=t in REASON_REQUIRED or f is S.CONDEMNED,
        )
        for f, moves in TRANSITIONS.items()
        for t, role in moves.items()
    ]
    return StateTable(states=states, transitions=transitions)

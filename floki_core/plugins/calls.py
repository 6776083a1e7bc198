"""Calling a hook through pluggy with every plugin's implementation supervised.

pluggy orders the implementations (``tryfirst``, ``trylast``, wrappers around the
rest) and calls them one after another; it offers no fault isolation, so one raising
implementation would end the call for everyone. Each plugin is therefore registered
behind stand-ins (``floki_core.plugins.hookimpls``) that carry the same markers, so
pluggy still orders and wraps them, while each stand-in runs the plugin's own function
under the timeout of a ``HookRound`` and, if it raises or hangs, notes the failure
against that plugin and hands pluggy nothing in its place.

Where a plain function or a wrapper takes part, pluggy's call runs on a thread of its
own: a plain function may block, and a coroutine's result must be awaited (on the event
loop) before the next implementation runs, so that the order holds and wrappers see
values. When every implementation called is a coroutine function and none wraps, the
call is made on the loop itself: the stand-ins only create the coroutines, which are
then awaited one by one in pluggy's order, with no thread at all.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy


class HookTimeout(Exception):
    pass


def _no_arguments(plugin: str) -> Mapping[str, Any]:
    return {}


def _ignore(plugin: str, error: Exception) -> None:
    return None


@dataclass(frozen=True)
class Deferred:
    """A coroutine a stand-in created but did not run: awaited by ``call_hook``."""

    plugin: str
    coroutine: Awaitable[Any]


@dataclass
class HookRound:
    """One supervised call of one hook.

    ``admitted``: the plugins whose implementations run (the others' are skipped, e.g.
    a plugin that failed in an earlier hook). ``arguments(plugin)``: the values that
    plugin gets instead of the ones the call was made with (its own registry view and
    context). ``on_failure`` is called the moment a plugin fails, before the call goes
    on (to take back what it registered); the failures are then in ``failures``, in
    the order they happened, for the caller to record.
    """

    hook: str
    timeout: float
    admitted: Collection[str]
    arguments: Callable[[str], Mapping[str, Any]] = _no_arguments
    on_failure: Callable[[str, Exception], None] = _ignore
    # One plugin only (each plugin's event observer): its steps run on pluggy's thread
    # itself and the timeout bounds the whole call, which saves a thread per call.
    solo: bool = False
    failures: list[tuple[str, Exception]] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    deferring: bool = False
    closed: bool = False
    _failed: set[str] = field(default_factory=set)

    def admits(self, plugin: str) -> bool:
        return not self.closed and plugin in self.admitted and plugin not in self._failed

    def fail(self, plugin: str, error: Exception) -> None:
        if plugin in self._failed:
            return
        self._failed.add(plugin)
        self.failures.append((plugin, error))
        self.on_failure(plugin, error)

    def run(
        self,
        plugin: str,
        function: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> Any:
        """A plugin's ``function(*args, **kwargs)`` under the timeout.

        A plain function runs on a daemon thread of its own, so one that blocks forever
        holds up neither the call nor interpreter exit. What it returns, if awaitable
        (a coroutine function's coroutine), is awaited on the event loop within what is
        left of the timeout and cancelled at the deadline.
        """
        if self.deferring:
            return Deferred(plugin, function(*args, **kwargs))
        deadline = time.monotonic() + self.timeout
        if inspect.iscoroutinefunction(function):
            result = function(*args, **kwargs)  # runs none of the plugin's code yet
        else:
            result = self.step(plugin, functools.partial(function, *args, **kwargs))
        if inspect.isawaitable(result):
            result = self._await(result, max(deadline - time.monotonic(), 0.001))
        return result

    def step(self, plugin: str, call: Callable[[], Any]) -> Any:
        """Run ``call()`` on a daemon thread; raise ``HookTimeout`` past the timeout."""
        if self.solo:
            return call()
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["value"] = call()
            except BaseException as exc:  # handed to the waiting thread, not lost
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=target, daemon=True, name=f"hook-{plugin}").start()
        if not done.wait(self.timeout):
            raise HookTimeout(f"did not return within {self.timeout:g} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    def _await(self, awaitable: Awaitable[Any], remaining: float) -> Any:
        assert self.loop is not None, "a round runs through call_hook"
        bounded = self.bounded(awaitable, remaining)
        return asyncio.run_coroutine_threadsafe(bounded, self.loop).result()

    async def bounded(self, awaitable: Awaitable[Any], remaining: float) -> Any:
        try:
            return await asyncio.wait_for(awaitable, remaining)
        except TimeoutError:
            raise HookTimeout(f"did not finish within {self.timeout:g} s") from None


# The round the stand-ins of the current call belong to.
CURRENT_ROUND: contextvars.ContextVar[HookRound | None] = contextvars.ContextVar(
    "floki_hook_round", default=None
)


async def call_hook(
    caller: pluggy.HookCaller, kwargs: Mapping[str, Any], hook_round: HookRound
) -> list[Any]:
    """Call ``caller(**kwargs)`` (``pm.hook.<name>`` or a subset caller) under ``hook_round``.

    Returns what pluggy returns: the list of the implementations' results, as the
    wrappers left it. Failures are in ``hook_round.failures``; this raises only if
    pluggy itself refuses the call.
    """
    hook_round.loop = asyncio.get_running_loop()
    if _only_coroutines(caller, hook_round):
        return await _call_on_loop(caller, kwargs, hook_round)
    return await _call_on_thread(caller, kwargs, hook_round)


def _only_coroutines(caller: pluggy.HookCaller, hook_round: HookRound) -> bool:
    called = [i for i in caller.get_hookimpls() if i.plugin_name in hook_round.admitted]
    return all(
        not (i.wrapper or i.hookwrapper) and getattr(i.function, "floki_coroutine", False)
        for i in called
    )


async def _call_on_loop(
    caller: pluggy.HookCaller, kwargs: Mapping[str, Any], hook_round: HookRound
) -> list[Any]:
    hook_round.deferring = True
    token = CURRENT_ROUND.set(hook_round)
    try:
        pending: list[Any] = caller(**kwargs)
    finally:
        CURRENT_ROUND.reset(token)
        hook_round.deferring = False
    results = []
    waiting = collections.deque(pending)
    try:
        while waiting:
            item = waiting.popleft()
            if not isinstance(item, Deferred):
                results.append(item)
                continue
            if not hook_round.admits(item.plugin):
                _close(item)
                continue
            try:
                value = await hook_round.bounded(item.coroutine, hook_round.timeout)
            except Exception as exc:
                hook_round.fail(item.plugin, exc)
                continue
            if value is not None:
                results.append(value)
    except asyncio.CancelledError:
        hook_round.closed = True
        for item in waiting:
            if isinstance(item, Deferred):
                _close(item)
        raise
    return results


def _close(item: Deferred) -> None:
    close = getattr(item.coroutine, "close", None)
    if close is not None:
        close()  # never started: no "was never awaited" warning


async def _call_on_thread(
    caller: pluggy.HookCaller, kwargs: Mapping[str, Any], hook_round: HookRound
) -> list[Any]:
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    context.run(CURRENT_ROUND.set, hook_round)
    future: asyncio.Future[list[Any]] = loop.create_future()

    def target() -> None:
        try:
            value = context.run(caller, **kwargs)
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, value, None)

    threading.Thread(target=target, daemon=True, name=f"hook-{hook_round.hook}").start()
    try:
        if not hook_round.solo:
            return await asyncio.shield(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), hook_round.timeout)
        except TimeoutError:
            hook_round.closed = True
            for plugin in hook_round.admitted:
                hook_round.fail(
                    plugin, HookTimeout(f"did not return within {hook_round.timeout:g} s")
                )
            return []
    except asyncio.CancelledError:
        hook_round.closed = True  # the implementations not yet called are skipped
        raise


def _settle(future: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)

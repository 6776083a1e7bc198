"""Calling one plugin's hook implementation under a timeout, whatever its kind.

pluggy calls every implementation in one go and stops at the first exception;
the core instead calls each plugin's implementation on its own so that a failure
is recorded against that plugin only.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pluggy


class HookTimeout(Exception):
    pass


def implementation(pm: pluggy.PluginManager, hook: str, plugin: str) -> Any | None:
    for impl in getattr(pm.hook, hook).get_hookimpls():
        if impl.plugin_name == plugin:
            return impl
    return None


async def call_one(impl: Any, kwargs: dict[str, Any], timeout: float) -> Any:
    """Run ``impl`` with the arguments it asks for, bounded by ``timeout`` seconds.

    Coroutine functions run on the loop and are cancelled at the deadline. Plain
    functions run on a daemon thread, so one that blocks forever cannot freeze the
    loop nor hold up interpreter exit.
    """
    args = [kwargs[name] for name in impl.argnames]
    function = impl.function
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if inspect.iscoroutinefunction(function):
        result = function(*args)
    else:
        future: asyncio.Future[Any] = loop.create_future()

        def target() -> None:
            try:
                value = function(*args)
            except BaseException as exc:  # handed to the awaiting task, not lost
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, value, None)

        threading.Thread(target=target, daemon=True, name=f"hook-{impl.plugin_name}").start()
        try:
            result = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise HookTimeout(f"did not return within {timeout:g} s") from None
    if inspect.isawaitable(result):
        remaining = max(deadline - loop.time(), 0.001)
        try:
            result = await asyncio.wait_for(result, remaining)
        except TimeoutError:
            raise HookTimeout(f"did not finish within {timeout:g} s") from None
    return result


def _settle(future: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)

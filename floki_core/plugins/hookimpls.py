"""A plugin's hook implementations behind supervising stand-ins, for pluggy to call.

Each stand-in carries the plugin's own markers (``tryfirst``, ``trylast``, ``wrapper``,
``hookwrapper``, ``specname``, ``optionalhook``) and its function's parameter names, so
pluggy validates, orders and wraps it exactly as it would the plugin's function. When
called inside a ``HookRound`` (``floki_core.plugins.calls``) it runs the function under
the round's timeout, with the plugin's own registry view and context, and turns a
failure into an entry against that plugin instead of an exception that would end the
call for every plugin. A wrapper that fails leaves the result as it found it.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import weakref
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import pluggy

from floki_core import PROJECT_NAME
from floki_core.plugins.calls import CURRENT_ROUND, HookRound

MARKER = f"{PROJECT_NAME}_impl"


class SupervisedPlugin:
    """What pluggy holds for one plugin: its hook implementations, supervised."""

    def __init__(self, name: str, plugin: object) -> None:
        self._floki_name = name
        self._floki_plugin = plugin

    def __repr__(self) -> str:
        return f"<supervised plugin {self._floki_name}: {self._floki_plugin!r}>"


class FlokiPluginManager(pluggy.PluginManager):
    """pluggy's manager, reading a stand-in's hook implementations straight from it.

    pluggy looks for hook implementations among every attribute of what is registered,
    each looked up without running descriptors (slow, and repeated for every appliance
    started); a stand-in holds exactly its hook implementations, each with its markers.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if isinstance(plugin, SupervisedPlugin):
            function = vars(plugin).get(name)
            return None if function is None else getattr(function, MARKER, None)
        return super().parse_hookimpl_opts(plugin, name)


# Each plugin object's hook implementations as (attribute, options), found once: a plugin
# module is the same object for every appliance a process starts (one per test).
_FOUND: weakref.WeakKeyDictionary[Any, tuple[tuple[str, Any], ...]] = weakref.WeakKeyDictionary()


def _hook_attributes(pm: pluggy.PluginManager, plugin: object) -> tuple[tuple[str, Any], ...]:
    try:
        return _FOUND[plugin]
    except (KeyError, TypeError):  # TypeError: not weakly referable or not hashable
        pass
    found = tuple(
        (attr, opts)
        for attr in dir(plugin)
        if (opts := pm.parse_hookimpl_opts(plugin, attr)) is not None
    )
    with contextlib.suppress(TypeError):  # not weakly referable or not hashable
        _FOUND[plugin] = found
    return found


def supervised_plugin(pm: pluggy.PluginManager, plugin: object, name: str) -> SupervisedPlugin:
    """A stand-in for ``plugin`` to register with ``pm`` under ``name``."""
    stand_in = SupervisedPlugin(name, plugin)
    for attr, opts in _hook_attributes(pm, plugin):
        function = getattr(plugin, attr)
        wrapping = bool(opts.get("wrapper") or opts.get("hookwrapper"))
        if wrapping and inspect.isgeneratorfunction(function):
            if opts.get("hookwrapper"):
                supervised = _old_style_wrapper(function, name)
            else:
                supervised = _wrapper(function, name)
        else:
            # A "wrapper" that is no generator stays a plain function here, so that
            # pluggy refuses it at registration with its own message.
            supervised = _plain(function, name)
        setattr(supervised, MARKER, dict(opts))
        setattr(stand_in, attr, supervised)
    return stand_in


def _argument_names(function: Callable[..., Any]) -> tuple[str, ...]:
    """The names pluggy passes positionally: parameters without defaults, in order."""
    try:
        return _NAMES[function]
    except (KeyError, TypeError):
        pass
    names = tuple(
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    )
    with contextlib.suppress(TypeError):  # not weakly referable or not hashable
        _NAMES[function] = names
    return names


_NAMES: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()


def _rebind(
    names: Sequence[str],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    own: Mapping[str, Any],
) -> tuple[list[Any], dict[str, Any]]:
    """The call's arguments with the plugin's own values (registry view, context) in."""
    bound = [own.get(names[i], a) if i < len(names) else a for i, a in enumerate(args)]
    return bound, {k: own.get(k, v) for k, v in kwargs.items()}


def _plain(function: Callable[..., Any], plugin: str) -> Callable[..., Any]:
    names = _argument_names(function)

    @functools.wraps(function)
    def supervised(*args: Any, **kwargs: Any) -> Any:
        hook_round = CURRENT_ROUND.get()
        if hook_round is None:  # called outside the host, e.g. pm.hook in a test
            return function(*args, **kwargs)
        if not hook_round.admits(plugin):
            return None
        args2, kwargs2 = _rebind(names, args, kwargs, hook_round.arguments(plugin))
        try:
            return hook_round.run(plugin, function, args2, kwargs2)
        except Exception as exc:
            hook_round.fail(plugin, exc)
            return None

    # Lets a call whose implementations are all coroutine functions stay on the loop.
    supervised.floki_coroutine = inspect.iscoroutinefunction(function)  # type: ignore[attr-defined]
    return supervised


def _start(
    hook_round: HookRound,
    plugin: str,
    function: Callable[..., Generator[None, Any, Any]],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
) -> Generator[None, Any, Any] | None:
    """Create the plugin's wrapper and run it to its ``yield``; None if that failed."""
    try:
        generator = function(*args, **kwargs)
        hook_round.step(plugin, generator.__next__)
    except StopIteration:
        hook_round.fail(plugin, RuntimeError("the wrapper returned without yielding"))
        return None
    except Exception as exc:
        hook_round.fail(plugin, exc)
        return None
    return generator


def _finish(
    hook_round: HookRound, plugin: str, generator: Generator[None, Any, Any], sent: Any
) -> tuple[bool, Any]:
    """Resume the plugin's wrapper with ``sent``: (True, what it returned) or (False, None)."""
    try:
        hook_round.step(plugin, lambda: generator.send(sent))
    except StopIteration as stop:
        return True, stop.value
    except Exception as exc:
        hook_round.fail(plugin, exc)
        return False, None
    hook_round.fail(plugin, RuntimeError("the wrapper yielded a second time"))
    return False, None


def _wrapper(
    function: Callable[..., Generator[None, Any, Any]], plugin: str
) -> Callable[..., Generator[None, Any, Any]]:
    names = _argument_names(function)

    @functools.wraps(function)
    def supervised(*args: Any, **kwargs: Any) -> Generator[None, Any, Any]:
        hook_round = CURRENT_ROUND.get()
        if hook_round is None:
            return (yield from function(*args, **kwargs))
        if not hook_round.admits(plugin):
            return (yield)
        args2, kwargs2 = _rebind(names, args, kwargs, hook_round.arguments(plugin))
        generator = _start(hook_round, plugin, function, args2, kwargs2)
        result = yield
        if generator is None or not hook_round.admits(plugin):
            return result
        finished, value = _finish(hook_round, plugin, generator, result)
        return value if finished else result

    return supervised


def _old_style_wrapper(
    function: Callable[..., Generator[None, Any, Any]], plugin: str
) -> Callable[..., Generator[None, Any, None]]:
    names = _argument_names(function)

    @functools.wraps(function)
    def supervised(*args: Any, **kwargs: Any) -> Generator[None, Any, None]:
        hook_round = CURRENT_ROUND.get()
        if hook_round is None:
            yield from function(*args, **kwargs)
            return
        if not hook_round.admits(plugin):
            yield
            return
        args2, kwargs2 = _rebind(names, args, kwargs, hook_round.arguments(plugin))
        generator = _start(hook_round, plugin, function, args2, kwargs2)
        outcome = yield  # pluggy's Result, which the wrapper may change in place
        if generator is not None and hook_round.admits(plugin):
            _finish(hook_round, plugin, generator, outcome)

    return supervised

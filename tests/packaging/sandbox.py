"""Run a command inside the parts of a unit's sandbox that can be built without systemd.

Where systemd is not PID 1 (a container, a CI runner) ``systemd-run`` cannot start the
unit, yet what matters is whether the appliance still runs once the sandbox is on: a
syscall it needs filtered out, a library writing executable memory, a write outside its
state directory. This launcher rebuilds those restrictions from the unit file, then
``exec``s the command. Run it as root inside ``unshare --mount --propagation private``:

- ``ProtectSystem=strict``: the root filesystem is remounted read-only; ``/var/lib`` is a
  fresh tmpfs in which ``/var/lib/<StateDirectory>`` is the given host directory, the
  only place the command can write. ``PrivateTmp``: a fresh ``/tmp``. ``ProtectHome``:
  an empty ``/home``. ``ProcSubset=pid``/``ProtectProc=invisible``: a ``/proc`` mounted
  with ``subset=pid,hidepid=invisible``.
- ``CapabilityBoundingSet``: every other capability dropped from the bounding set, so the
  command (started as uid 0, which holds what the bounding set allows) keeps just those.
- ``NoNewPrivileges``, ``UMask``, ``WorkingDirectory`` (``/``).
- ``MemoryDenyWriteExecute``: the kernel's own form of it, ``PR_SET_MDWE`` (Linux 6.3+):
  no mapping may be writable and executable, none may become executable later.
- ``SystemCallFilter``/``SystemCallArchitectures=native``/``SystemCallErrorNumber=EPERM``:
  a seccomp filter allowing exactly the syscalls the unit's filter lines allow (groups
  expanded by ``systemd-analyze syscall-filter``), on x86-64 only, EPERM for the rest.

Not rebuilt here (said in docs/operations.md): the ``floki`` user itself (the test's
interpreter lives where only root may read), address-family and device restrictions,
``ProtectKernel*``, ``RestrictNamespaces`` and ``ProtectHome`` for ``/root``.

Usage: ``sandbox.py UNIT_FILE HOST_STATE_DIR -- COMMAND...``
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
import struct
import subprocess
import sys
from pathlib import Path

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
# BPF opcodes: ld|w|abs, jmp|jeq|k, jmp|jge|k, ret|k.
LD_ABS, JEQ, JGE, RET = 0x20, 0x15, 0x35, 0x06
SYSCALL_NUMBERS = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
CAPABILITY_NUMBERS = {"CAP_NET_BIND_SERVICE": 10}
LAST_CAPABILITY = Path("/proc/sys/kernel/cap_last_cap")

libc = ctypes.CDLL(None, use_errno=True)


def unit_settings(unit: Path) -> dict[str, list[str]]:
    """The ``[Service]`` section's settings, each key with its values in order."""
    found: dict[str, list[str]] = {}
    section = None
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def syscall_group(name: str, seen: dict[str, set[str]]) -> set[str]:
    """The syscalls in a ``@group`` (nested groups expanded), as systemd defines it."""
    if name in seen:
        return seen[name]
    out = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    members: set[str] = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        if word.startswith("@"):
            members |= syscall_group(word, seen)
        else:
            members.add(word)
    seen[name] = members
    return members


def allowed_syscalls(filters: list[str]) -> set[str]:
    """What ``SystemCallFilter=`` lines allow: the first an allow-list, ``~`` lines removing."""
    seen: dict[str, set[str]] = {}
    allowed: set[str] = set()
    for line in filters:
        deny = line.startswith("~")
        names: set[str] = set()
        for word in line.lstrip("~").split():
            names |= syscall_group(word, seen) if word.startswith("@") else {word}
        allowed = allowed - names if deny else allowed | names
    return allowed


def seccomp_program(allowed: set[str]) -> bytes:
    numbers = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"#define __NR_(\w+) (\d+)", SYSCALL_NUMBERS.read_text())
    }
    eperm = SECCOMP_RET_ERRNO | 1
    code = [
        (LD_ABS, 0, 0, 4),  # seccomp_data.arch
        (JEQ, 1, 0, AUDIT_ARCH_X86_64),
        (RET, 0, 0, SECCOMP_RET_KILL_PROCESS),
        (LD_ABS, 0, 0, 0),  # seccomp_data.nr
        (JGE, 0, 1, X32_SYSCALL_BIT),  # x32 is not native: refused
        (RET, 0, 0, eperm),
    ]
    for nr in sorted(numbers[name] for name in allowed if name in numbers):
        code += [(JEQ, 0, 1, nr), (RET, 0, 0, SECCOMP_RET_ALLOW)]
    code.append((RET, 0, 0, eperm))
    return b"".join(struct.pack("HBBI", *insn) for insn in code)


def check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SystemExit(f"sandbox: {what} failed: {os.strerror(err)}")


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


# The checkout this runs from (tests/packaging/sandbox.py is two levels down).
_CHECKOUT = Path(__file__).resolve().parents[2]


def _under_tmp(*paths: Path) -> list[Path]:
    """Each path's top folder under /tmp (``/tmp/ci`` for ``/tmp/ci/.venv``), once."""
    found: list[Path] = []
    for path in paths:
        parts = path.resolve().parts
        if len(parts) > 2 and parts[:2] == ("/", "tmp"):
            top = Path(*parts[:3])
            if top not in found:
                found.append(top)
    return found


def build_filesystem(settings: dict[str, list[str]], host_state: Path) -> None:
    """The unit's view of the filesystem; its first state directory is ``host_state``."""
    first, *more = settings["StateDirectory"][0].split()
    mode = int(settings.get("StateDirectoryMode", ["0755"])[0], 8)
    mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/var/lib")
    (Path("/var/lib") / first).mkdir(mode=0o700)
    mount("--bind", str(host_state), f"/var/lib/{first}")
    for name in more:  # created by systemd before the service starts, as here
        (Path("/var/lib") / name).mkdir(mode=mode, parents=True, exist_ok=True)
    if settings.get("PrivateTmp") == ["true"]:
        # The package runs from /opt/floki; this checkout (and its .venv) may live under
        # /tmp (a CI clone), which a private /tmp would hide. It is carried through: bound
        # to a holding place on the namespace's own /var/lib, then back into the new /tmp.
        held = [p for p in _under_tmp(_CHECKOUT, Path(sys.prefix)) if p.is_dir()]
        holding = Path("/var/lib/.sandbox-checkouts")
        for n, path in enumerate(held):
            (holding / str(n)).mkdir(parents=True)
            mount("--bind", str(path), str(holding / str(n)))
        mount("-t", "tmpfs", "-o", "mode=1777", "tmpfs", "/tmp")
        for n, path in enumerate(held):
            path.mkdir(parents=True, exist_ok=True)
            mount("--move", str(holding / str(n)), str(path))
        if held:
            for n in range(len(held)):
                (holding / str(n)).rmdir()
            holding.rmdir()
    if settings.get("ProtectHome") == ["true"] and Path("/home").is_dir():
        mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/home")
    proc_options = []
    if settings.get("ProcSubset") == ["pid"]:
        proc_options.append("subset=pid")
    if settings.get("ProtectProc") == ["invisible"]:
        proc_options.append("hidepid=invisible")
    if proc_options:
        mount("-t", "proc", "-o", ",".join(proc_options), "proc", "/proc")
    if settings.get("ProtectSystem") == ["strict"]:
        mount("-o", "remount,bind,ro", "/")


def drop_capabilities(settings: dict[str, list[str]], last_capability: int) -> None:
    keep = {
        CAPABILITY_NUMBERS[c] for line in settings["CapabilityBoundingSet"] for c in line.split()
    }
    for cap in range(last_capability + 1):
        if cap not in keep:
            check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"dropping capability {cap}")


def install_seccomp(program: bytes) -> None:
    buffer = ctypes.create_string_buffer(program)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(program) // 8, ctypes.addressof(buffer))
    check(
        libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0),
        "installing the syscall filter",
    )


def main(argv: list[str]) -> None:
    unit, host_state, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit(__doc__)
    if platform.machine() != "x86_64":
        raise SystemExit("sandbox: the syscall filter is built for x86-64 only")
    settings = unit_settings(Path(unit))
    command[0] = os.path.abspath(command[0])  # before the working directory becomes /
    program = seccomp_program(allowed_syscalls(settings["SystemCallFilter"]))
    last_capability = int(LAST_CAPABILITY.read_text())  # before /proc/sys is hidden
    build_filesystem(settings, Path(host_state))
    os.umask(int(settings["UMask"][0], 8))
    os.chdir("/")
    drop_capabilities(settings, last_capability)
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "setting no_new_privs")
    if settings.get("MemoryDenyWriteExecute") == ["true"]:
        check(libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0), "PR_SET_MDWE")
    install_seccomp(program)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])

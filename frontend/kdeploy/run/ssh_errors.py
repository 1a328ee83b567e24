"""Why ssh could not reach a host, read from the text ssh (or Ansible, or mitogen) printed.

Ansible reports an unreachable host with ssh's stderr inside its own words ("Failed to connect to
the host via ssh: ..."), mitogen with its own. This turns any of them into one short reason, the
line of ssh's that says it, and for a host key what to do about it. Pure: text in, value out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HOST_KEY_CHANGED = "host key changed"
HOST_KEY_UNKNOWN = "unknown host key refused"
HOST_KEY_MITOGEN = "host key unknown or changed"
HOST_KEY_RECORDED = "new host key refused by mitogen, now recorded"
# What kdeploy says when its own check (plain ssh, accept-new) got through where mitogen did not.
RECORDED_BY_CHECK = ("mitogen refused a host key that ssh did not know yet; kdeploy's connection "
                     "check (without mitogen) accepted and recorded it")
AUTH_FAILED = "authentication failed"
REFUSED = "connection refused"
TIMED_OUT = "connection timed out"
NO_ROUTE = "no route to host"
NETWORK_UNREACHABLE = "network unreachable"
DNS = "host name not found (DNS)"
CLOSED = "connection closed by the host"
OTHER = "ssh failed"

# (reason, pattern of the line that says it); the first match wins, host keys first: a changed
# key also disables password authentication, which then fails as well.
_REASONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern, re.IGNORECASE)) for reason, pattern in (
        (HOST_KEY_CHANGED, r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for \S+ has changed"),
        (HOST_KEY_UNKNOWN, r"No \S+ host key is known for .*|Host key verification failed\.?"),
        (HOST_KEY_MITOGEN, r"SSH reported an unrecognized or mismatching host key\.?"),
        (HOST_KEY_RECORDED, re.escape(RECORDED_BY_CHECK)),
        (AUTH_FAILED, r"\S*: Permission denied \(.*\)\.?|Too many authentication failures.*"),
        (REFUSED, r"\S*:? ?connect to host .*: Connection refused"),
        (TIMED_OUT, r".*Connection timed out.*|Connection to \S+ port \d+ timed out"
                    r"|.*Operation timed out.*"),
        (NO_ROUTE, r".*: No route to host"),
        (NETWORK_UNREACHABLE, r".*: Network is unreachable"),
        (DNS, r"\S*:? ?Could not resolve hostname .*"),
        (CLOSED, r"Connection (closed|reset) by .*|kex_exchange_identification: .*"),
    ))
_FINGERPRINT = re.compile(r"The fingerprint for the (\S+) key sent by the remote host is\s*"
                          r"(\S+?)\.?\s*$", re.MULTILINE)
_CHANGED_LINE = re.compile(r"Host key for \S+ has changed.*")
_OFFENDING = re.compile(r"Offending \S+ key in (\S+):(\d+)")
_REMOVE = re.compile(r'ssh-keygen -f "[^"]*" -R "[^"]*"')
# What Ansible and mitogen put before ssh's own text.
_WRAPPERS = re.compile(r"^(Task failed: )?(Failed to connect to the host via ssh: |Data could not "
                       r"be sent to remote host \"[^\"]*\"\. Make sure this host can be reached "
                       r"over ssh: |EOF on stream; last 100 lines received:\s*)?")


@dataclass(frozen=True)
class SshFault:
    """Why a host was unreachable, as ssh told it."""

    reason: str
    # ssh's own line that says so (or the message's last line when no reason matched).
    detail: str
    # `ED25519 SHA256:...`: the key the host sent, when its key changed.
    fingerprint: str | None = None
    # The recorded key that no longer matches: `/root/.ssh/known_hosts:3`.
    recorded: str | None = None
    # What to do about it, for host-key reasons.
    fix: str | None = None

    @property
    def host_key(self) -> bool:
        """Whether ssh refused the host's key (changed, or unknown where checking is strict)."""
        return self.reason in (HOST_KEY_CHANGED, HOST_KEY_UNKNOWN, HOST_KEY_MITOGEN,
                               HOST_KEY_RECORDED)

    def summary(self) -> str:
        """One line: the reason, the fingerprint when the key changed, ssh's own words."""
        if self.reason == HOST_KEY_CHANGED:
            recorded = f" (recorded in {self.recorded})" if self.recorded else ""
            sent = f"the host now sends {self.fingerprint}" if self.fingerprint else "refused"
            return f"{self.reason}: {sent}, not the key recorded for it{recorded}"
        if self.detail and self.detail.lower() != self.reason:
            return f"{self.reason} ({self.detail})"
        return self.reason


def classify_ssh_error(message: str, host: str = "HOST") -> SshFault:
    """Read an unreachable host's message into an SshFault.

    Args:
        message: what Ansible reported (`res.msg` of a `runner_on_unreachable` event), or ssh's
            stderr itself.
        host: the host's name as the inventory has it, for the fix's command line.
    """
    text = _WRAPPERS.sub("", message.replace("\r\n", "\n").strip())
    for reason, pattern in _REASONS:
        found = pattern.search(text)
        if found:
            return _fault(reason, found.group(0).strip(), text, host)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return SshFault(OTHER, lines[-1] if lines else "")


def _fault(reason: str, detail: str, text: str, host: str) -> SshFault:
    if reason == HOST_KEY_CHANGED:
        fingerprint = _FINGERPRINT.search(text)
        offending = _OFFENDING.search(text)
        remove = _REMOVE.search(text)
        line = _CHANGED_LINE.search(text)
        return SshFault(
            reason, line.group(0).strip() if line else detail,
            fingerprint=" ".join(fingerprint.groups()) if fingerprint else None,
            recorded=":".join(offending.groups()) if offending else None,
            fix=_changed_fix(remove.group(0) if remove else f"ssh-keygen -R {host}"))
    if reason == HOST_KEY_UNKNOWN:
        return SshFault(reason, detail, fix=(
            f"ssh does not know this host's key and your ssh_config asks for strict checking: "
            f"compare `ssh-keyscan {host} | ssh-keygen -lf -` with the key on the host "
            f"(`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` there), then add it to "
            f"~/.ssh/known_hosts"))
    if reason == HOST_KEY_RECORDED:
        return SshFault(reason, "", fix=(
            f"run again: {host}'s key is in your known_hosts now (check its fingerprint there, "
            f"`ssh-keygen -lF {host}`, if you want to be sure)"))
    if reason == HOST_KEY_MITOGEN:
        return SshFault(reason, detail, fix=(
            f"mitogen checks host keys strictly and does not say which: connect once with "
            f"`ssh {host}` (records a new host's key, shows a changed one) or run once with "
            f"KDEPLOY_MITOGEN=0"))
    return SshFault(reason, detail)


def _changed_fix(remove: str) -> str:
    return ("if the host was rebuilt or its key replaced on purpose, check the fingerprint above "
            "against the host's own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on it, "
            f"through its console), then remove the old key with `{remove}` and run again: "
            "the new key is recorded then. Otherwise someone may be in the middle: do not deploy")

"""Render runner events for people (progress lines) or for machines (one JSON object per line)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any, TextIO

import click

from kdeploy.events import TERMINAL_TYPES, current_stream, envelope, timestamp, use_stream
from kdeploy.plan.deploy import boot_slot
from kdeploy.run.failure import unreachable_lines
from kdeploy.run.health_wait import HealthWaits
from kdeploy.run.hooked import HOOK_EVENT, HOOK_KEY
from kdeploy.run.lock_details import lock_holder
from kdeploy.run.result import RunResult
from kdeploy.run.runner import IDLE_EVENT, LOCK_HELD_MARKER
from kdeploy.run.ssh_errors import classify_ssh_error
from kdeploy.words import plural

if TYPE_CHECKING:
    from kdeploy.run.result import HostFailure


Redact = Callable[[str], str]


def redactor(values: Iterable[str]) -> Redact:
    """A function that shows each secret value of 4 characters or more as `[REDACTED]`.

    Shorter values are left alone: replacing every `1` or `no` would mangle the output.
    """
    hidden = [value for value in values if len(value) >= 4]

    def redact(text: str) -> str:
        for value in hidden:
            text = text.replace(value, "[REDACTED]")
        return text

    return redact

# The task that takes the deploy lock (the kdeploy_lock role), named in a held lock's failure.
LOCK_TASK = "Take the deploy lock."
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# ssh's and OpenSSH's own chatter: never the message of a result.
_SSH_CHATTER = re.compile(r"^(Shared connection to .+ closed\.|Connection to .+ closed\."
                          r"|Warning: Permanently added .+ to the list of known hosts\.)$")

# run_start fields only people see (the headline's roles, the health waits); not in schema v1.
PEOPLE_ONLY = ("roles", "health")
# The module that boots a version and waits for it to be healthy (roles/app/tasks/release.yml).
RELEASE_ACTION = "kdeploy.deploy.release"
# How a command's headline and outcome name what it does: (while, when done).
_VERBS = {"deploy": ("Deploying", "Deployed"), "setup": ("Setting up", "Set up"),
          "redeploy": ("Redeploying", "Redeployed"),
          "rollback": ("Rolling back to", "Rolled back to")}

# Tasks whose failure message is written for the user (roles/*/tasks: `fail` with a reason).
OWN_WORDS_ACTIONS = ("ansible.builtin.fail", "ansible.builtin.assert", RELEASE_ACTION)

# Other commands whose headline names the version and image (the rest act on hosts, the lock,
# accessories or the proxy).
_IMAGE_COMMANDS = ("app ", "build ")

_RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


def _message(data: dict[str, Any]) -> str:
    res = data.get("res") or {}
    return str(res.get("msg") or res.get("stderr") or "").strip()


def targets(info: dict[str, Any]) -> str:
    """Where a run acts, for people: `web (2 hosts), job (1 host)`, or `3 hosts`."""
    hosts = list(info.get("hosts") or ())
    roles = info.get("roles") or {}
    if not roles:
        return plural(len(hosts), "host")
    parts = [f"{role} ({plural(len(role_hosts), 'host')})" for role, role_hosts in roles.items()]
    others = [host for host in hosts if not any(host in h for h in roles.values())]
    if others:
        parts.append(plural(len(others), "other host"))
    return ", ".join(parts)


def _what(info: dict[str, Any]) -> str:
    service, version = info.get("service") or "", info.get("version")
    command = str(info.get("command", ""))
    if not version or not (command in _VERBS or command.startswith(_IMAGE_COMMANDS)):
        return service
    image = info.get("image")
    return f"{service} {version}" + (f" ({image})" if image else "")


def headline(info: dict[str, Any]) -> str:
    """The run's first line: what it deploys (version and image) and where."""
    command = str(info.get("command", ""))
    check = "Checking (nothing changes): " if info.get("check") else ""
    if command in _VERBS:
        return f"--> {check}{_VERBS[command][0]} {_what(info)} to {targets(info)}"
    what = _what(info)
    return f"--> {check}kdeploy {command}" + (f" for {what}" if what else "") + \
        f" on {targets(info)}"


def outcome(info: dict[str, Any], result: RunResult, exit_code: int,
            own_words: Collection[tuple[str, str]] = ()) -> list[str]:
    """The run's last lines: what it did and how long it took, or per host what failed.

    Args:
        info: the run's `run_start` fields.
        result: what the run did.
        exit_code: the command's exit code.
        own_words: (host, task) of failures whose message says it all (a `fail` task's):
            the others name their task before the message.
    """
    command = str(info.get("command", ""))
    took = f"in {result.duration:.1f} s"
    if result.lock_held is not None or result.interrupted:
        return []  # the command's error says it
    if not result.failures and exit_code in (0, 4):
        if info.get("check"):
            return [f"--> Checked kdeploy {command} on {targets(info)} {took}"]
        if command in _VERBS:
            return [f"--> {_VERBS[command][1]} {_what(info).split(' (')[0]} to "
                    f"{targets(info)} {took}"]
        return [f"--> Finished kdeploy {command} on {targets(info)} {took}"]
    if not result.failures:  # ansible-playbook itself failed; its own words are above
        return [f"--> kdeploy {command} failed {took} (ansible-playbook ended with status "
                f"{result.status})"]
    failed = list(dict.fromkeys(failure.host for failure in result.failures))
    name = f"kdeploy {command}".rstrip()
    lines = [f"--> {name} failed on {plural(len(failed), 'host')} {took}:"]
    for failure in result.failures:
        if failure.unreachable:
            # Where, ssh's reason and what to do about a refused host key.
            lines += [f"    {line}" for line in unreachable_lines(failure)]
        else:
            first = (clean_message(failure.message).splitlines() or [""])[0]
            said = (failure.host, failure.task) in own_words and first
            lines.append(f"    {failure.host}  {first if said else _at(failure.task, first)}")
    return lines


def _at(task: str, message: str) -> str:
    return f"{task.rstrip('.')}: {message}" if message else f"failed at {task!r}"


def _speaks_for_itself(data: dict[str, Any]) -> bool:
    # A `fail` or `assert` task's message is written for the user; any other task's result
    # needs its task's name to say what failed.
    return data.get("resolved_action") in OWN_WORDS_ACTIONS


def host_state(counts: dict[str, int]) -> str:
    """One word for how a run left a host: unreachable, failed, changed or ok."""
    for state in ("unreachable", "failed", "changed"):
        if counts.get(state):
            return state
    return "ok"


def _unreachable_reason(data: dict[str, Any]) -> str:
    if "censored" in (data.get("res") or {}):
        return "ssh's message is hidden with the task's output (no_log); the reason follows"
    return classify_ssh_error(_message(data), data.get("host", "HOST")).summary()


def _changed(data: dict[str, Any]) -> bool | None:
    """Whether a task changed something; None when no_log hid its result.

    ansible-runner replaces a `no_log` result by `{"censored": …}`, `changed` included, so only
    the final stats (the summary) count those tasks' changes.
    """
    res = data.get("res") or {}
    return None if "censored" in res else bool(res.get("changed"))


class HumanOutput:
    """One line per play and host as results arrive; `-v` adds every task, `-q` keeps errors."""

    says_failures = True  # the summary's last lines: what failed per host, and why

    def __init__(self, verbose: bool = False, quiet: bool = False, redact: Redact = str,
                 stream: TextIO | None = None, ansible_output: bool = False,
                 clock: Callable[[], float] | None = None) -> None:
        """`verbose`: -v, every task; `ansible_output`: -vv and up, Ansible's own lines.

        `clock` (seconds, monotonic; default `time.monotonic`) times the health waits.
        """
        self.verbose, self.quiet, self.redact = verbose, quiet, redact
        self.ansible_output = ansible_output
        self.stream = stream or sys.stdout
        self._play: str | None = None
        self._play_hosts: dict[str, dict[str, int]] = {}
        # Unreachable host -> the tasks other hosts started after it became unreachable (a task
        # already running then is not one the run "went on" with).
        self._after_unreachable: dict[str, int] = {}
        self._unreachable_at: dict[str, int] = {}
        self._started: dict[tuple[str, str], int] = {}
        self._seen = 0
        self._run: dict[str, Any] = {}
        self._host_roles: dict[str, list[str]] = {}  # each host's roles, primary first
        self._announced = False  # the current play's header is printed
        self._hooks: list[str] = []
        self._own_words: set[tuple[str, str]] = set()
        self._health_waits = HealthWaits(clock)

    def say(self, text: str) -> None:
        """Announce a step (suppressed by -q)."""
        if not self.quiet:
            click.echo(self.redact(text), file=self.stream)

    def notice(self, text: str) -> None:
        """Print something the user should act on (kept with -q)."""
        click.secho(self.redact(text), fg="yellow", file=self.stream)

    def run_start(self, info: dict[str, Any]) -> None:
        """Announce the run: what it deploys (version, image) and where; `-v` adds Ansible's."""
        self._run = dict(info)
        self._host_roles = {}
        for role, hosts in (info.get("roles") or {}).items():
            for host in hosts:
                self._host_roles.setdefault(host, []).append(role)
        self.say(headline(info))
        if self.verbose and info.get("ansible_args"):
            self.say(f"    ansible-playbook {' '.join(info['ansible_args'])}")

    def waiting(self, state: dict[str, Any]) -> None:
        """`--lock-wait`: Kamal's line per refused try (suppressed by -q)."""
        self.say(f"--> Retrying in {state['interval']}s ({state['remaining']}s remaining)...")

    def event(self, event: dict[str, Any]) -> None:
        """Render one runner event."""
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind == IDLE_EVENT:  # no event: the run is quiet
            self._still_waiting()
            return
        self._seen += 1
        if self.ansible_output and event.get("stdout") and not self.quiet:
            click.echo(self.redact(str(event["stdout"])), file=self.stream)
        if kind == "playbook_on_play_start":
            self._flush_play()
            self._play = data.get("play") or data.get("name")
        elif kind == "runner_on_start":
            self._announce_play()
            self._started[data.get("host", "?"), data.get("task_uuid", "")] = self._seen
            if data.get("resolved_action") == RELEASE_ACTION:
                self._health_wait(data)
        elif kind in _RESULT_EVENTS:
            self._announce_play()
            if data.get("resolved_action") == RELEASE_ACTION:
                self._health_waits.end(data.get("host", "?"))
            self._result(_RESULT_EVENTS[kind], data, event.get(HOOK_KEY))
        elif kind in ("playbook_on_start", "playbook_on_stats"):
            # A playbook that ends (or a new one) ends every wait: an interrupted one never
            # sends the waiting hosts' results.
            self._health_waits.clear()
            if kind == "playbook_on_stats":
                self._flush_play()
        elif kind == HOOK_EVENT:
            self._hooks.append(str(data.get("text", "")))

    def report(self, text: str, data: dict[str, Any]) -> None:
        """Print what the command was asked for (a lock's details, audit lines); kept with -q."""
        del data  # the text says it all for people
        click.echo(self.redact(text), file=self.stream)

    def summary(self, result: RunResult, exit_code: int, *,
                error: tuple[str, str] | None = None) -> None:
        """Print the per-host summary at the end of a run, then its outcome.

        A check lists its pending changes first (kept with -q: they are what was asked for);
        a real run with `--diff` lists what it changed. What ended the command other than a
        failed host (a hook, the lock, a signal) is the command's error to say, after this.
        """
        self._health_waits.clear()  # nothing is said after the command's last lines
        ending = [] if error is not None and error[0] != "failed" else outcome(
            self._run, result, exit_code, self._own_words)
        if self._run.get("check") and result.lock_held is None and not result.failures:
            self._changes("Pending changes", result)
        elif self._run.get("diff") and result.outcomes:
            self._changes("Changes", result)
        if self.quiet:
            # What failed is an error: kept with -q.
            if result.failures:
                for line in ending:
                    click.secho(self.redact(line), fg="red", file=self.stream)
            return
        click.echo("--> Summary", file=self.stream)
        for host, counts in sorted(result.per_host().items()):
            line = " ".join(f"{name}={value}" for name, value in counts.items())
            click.echo(f"    {host}  {host_state(counts)}: {line}", file=self.stream)
        for host, tasks in self._after_unreachable.items():
            went_on = (f"the other hosts went on ({plural(tasks, 'more task')} ran on them)"
                       if tasks
                       else "no task ran on the other hosts after that (the run stopped there)")
            click.echo(f"    {host} was unreachable; {went_on}", file=self.stream)
        if self._hooks:
            click.echo(f"    hooks run: {', '.join(self._hooks)}", file=self.stream)
        for line in ending:
            click.echo(self.redact(line), file=self.stream)

    def _changes(self, title: str, result: RunResult) -> None:
        if not any(result.outcomes.values()):
            if self._run.get("check"):
                click.echo("--> No changes: every host matches the config", file=self.stream)
            return
        if self._run.get("check") and not result.pending_changes:
            # Only notices (an accessory whose config changed, which boot leaves running).
            title = "No changes would be made; these differ from the config"
        lines = [f"--> {title}"]
        for host, changes in sorted(result.outcomes.items()):
            for change in changes:
                lines.append(f"    {host}  {change_line(change)}")
                if self._run.get("diff"):
                    lines += [f"        {line}" for line in field_lines(change)]
        click.echo(self.redact("\n".join(lines)), file=self.stream)

    def _announce_play(self) -> None:
        # A play's header comes when its first task starts on a host (a play with no host
        # prints nothing), so `-v`'s task lines and the results follow it.
        if self._play and not self._announced and not self.quiet:
            click.echo(self.redact(f"--> {self._play}"), file=self.stream)
        self._announced = True

    def _health_wait(self, data: dict[str, Any]) -> None:
        # The release module waits inside one call: say before what it waits for, and how long.
        wait = self._release_wait(data)
        if wait and not self.quiet:
            click.echo(self.redact(f"    {data.get('host', '?')}  waiting up to "
                                   f"{plural(wait['timeout'], 'second')} for {wait['container']} "
                                   "to be healthy"), file=self.stream)
            self._health_waits.start(data.get("host", "?"), wait["container"], wait["timeout"])

    def _still_waiting(self) -> None:
        # Every ~5 s while a host waits (runner ticks when the run is quiet): its time left.
        for wait, left in self._health_waits.due():
            click.echo(self.redact(f"    {wait.host}  still waiting for {wait.container} to be "
                                   f"healthy ({left} s left)"), file=self.stream)

    def _health_outcome(self, data: dict[str, Any]) -> None:
        # The release's answer to the wait said above (a failed one is an error line).
        wait = self._release_wait(data)
        res = data.get("res") or {}
        if not wait or self.quiet or res.get("msg"):
            return
        state = (f"is healthy ({float(data.get('duration') or 0):.1f} s)" if res.get("changed")
                 else "already runs (nothing to do)")
        click.echo(self.redact(f"    {data.get('host', '?')}  {wait['container']} {state}"),
                   file=self.stream)

    def _release_wait(self, data: dict[str, Any]) -> dict[str, Any] | None:
        # The health wait of the role a deploy's boot play releases on this host: the host's
        # first role (primary first) in the group's first play, its second in the next, ...
        slot = boot_slot(str(data.get("play") or ""))
        roles = self._host_roles.get(str(data.get("host")), [])
        if slot is None or slot >= len(roles):
            return None
        return (self._run.get("health") or {}).get(roles[slot])

    def _result(self, status: str, data: dict[str, Any], hook: str | None = None) -> None:
        host = data.get("host", "?")
        counts = self._play_hosts.setdefault(host, {"tasks": 0, "failed": 0})
        changed = _changed(data)
        counts["tasks"] += status != "skipped"
        counts["failed"] += status in ("failed", "unreachable")
        counts["unreachable"] = counts.get("unreachable", 0) + (status == "unreachable")
        self._count_after_unreachable(host, status, data.get("task_uuid", ""))
        if LOCK_HELD_MARKER in _message(data):
            return  # said once, as the command's error (exit 3)
        if status in ("failed", "unreachable") and not data.get("ignore_errors"):
            label = "UNREACHABLE" if status == "unreachable" else "FAILED"
            # A multi-line message (a failed container's log tail) stays under its host; an
            # unreachable host's is ssh's text, said as its reason.
            message = _unreachable_reason(data) if status == "unreachable" else _message(data)
            first, *rest = message.splitlines() or [""]
            # A `fail` task's name is an internal one (`-v` shows it): its message says it all.
            own_words = status == "failed" and _speaks_for_itself(data) and bool(first)
            if own_words:
                self._own_words.add((host, data.get("task", "")))
            where = "" if status == "unreachable" or (own_words and not self.verbose) \
                else f"{data.get('task', '')}: "
            text = self.redact("\n".join([f"    {host}  {label}: {where}{first}",
                                           *(f"    {host}  | {line}" for line in rest)]))
            click.secho(text, fg="red", file=self.stream)
        elif status == "ok" and data.get("resolved_action") == RELEASE_ACTION:
            self._health_outcome(data)
        elif hook and data.get("resolved_action") == "ansible.builtin.debug" and not self.quiet:
            # A hook playbook's `debug` is what its author wants to be seen.
            for line in _debug_text(data).splitlines():
                click.echo(self.redact(f"    {host}  | {line}"), file=self.stream)
        elif self.verbose:
            state = {True: "changed", None: f"{status} (result hidden: no_log)"}.get(
                changed, status)
            click.echo(self.redact(f"      {host}  {data.get('task', '')}: {state}"),
                       file=self.stream)

    def _count_after_unreachable(self, host: str, status: str, task_uuid: str) -> None:
        if status == "unreachable":
            self._after_unreachable.setdefault(host, 0)
            self._unreachable_at.setdefault(host, self._seen)
        elif status != "skipped":
            started = self._started.get((host, task_uuid), self._seen)
            for other, when in self._unreachable_at.items():
                self._after_unreachable[other] += other != host and started > when

    def _flush_play(self) -> None:
        if self._play and self._play_hosts and not self.quiet:
            self._announce_play()
            for host, counts in self._play_hosts.items():
                state = ("unreachable" if counts.get("unreachable")
                         else "failed" if counts["failed"] else "done")
                click.echo(f"    {host}  {state} ({plural(counts['tasks'], 'task')})",
                           file=self.stream)
        self._play, self._play_hosts, self._announced = None, {}, False


class JsonOutput:
    """`--output json`: one event of schema v1 per line (kdeploy.events), the summary last.

    The newest one of a command is `kdeploy.events.current_stream()`, so the CLI's error path
    can end the same stream (same `seq`, same redaction) instead of starting another.
    """

    says_failures = False  # the summary's `failures` carry them, not text a person reads

    def __init__(self, redact: Redact = str, stream: TextIO | None = None) -> None:
        self.redact = redact
        self.stream = stream or sys.stdout
        # A command may make a second output (`build deliver`: the push's, then the run's):
        # it goes on with the stream's `seq` as long as that stream has not ended.
        previous = current_stream()
        self._seq = (previous._seq if isinstance(previous, JsonOutput)
                     and not previous.terminal_written else 0)
        self._run: dict[str, Any] = {}
        self.terminal_written = False
        use_stream(self)

    def _emit(self, kind: str, fields: dict[str, Any], created: str | None = None) -> None:
        self._seq += 1
        event = envelope(kind, self._seq, fields, timestamp(created))
        self.stream.write(self.redact(json.dumps(event)) + "\n")
        self.stream.flush()
        self.terminal_written = self.terminal_written or kind in TERMINAL_TYPES

    def run_start(self, info: dict[str, Any]) -> None:
        """The command starts its run: what it runs, where, with which version."""
        self._run = dict(info)
        self._emit("run_start", {key: value for key, value in info.items()
                                 if key not in PEOPLE_ONLY})

    def say(self, text: str) -> None:
        """Steps are `message` events, without the arrows and indentation people see."""
        self._emit("message", {"level": "info", "text": plain_text(text)})

    def notice(self, text: str) -> None:
        """A notice the user should act on."""
        self._emit("message", {"level": "notice", "text": plain_text(text)})

    def waiting(self, state: dict[str, Any]) -> None:
        """`--lock-wait`: one `waiting` event per refused try (holder, attempt, time left)."""
        self._emit("waiting", state)

    def event(self, event: dict[str, Any]) -> None:
        """Emit the events a machine cares about: plays, task starts and results per host."""
        kind = event.get("event", "")
        data = event.get("event_data", {})
        created = event.get("created")
        if kind == "playbook_on_play_start":
            self._emit("play_start", {"play": data.get("play") or data.get("name") or "",
                                      "hosts": str(data.get("play_pattern") or "")}, created)
        elif kind == "playbook_on_task_start":
            # Never task_args: they may hold values.
            self._emit("task_start", {
                "play": data.get("play") or "", "task": data.get("task") or data.get("name") or "",
                "action": data.get("resolved_action") or data.get("task_action") or "",
                "task_uuid": data.get("task_uuid") or ""}, created)
        elif kind in _RESULT_EVENTS:
            self._emit("host_result", host_result(_RESULT_EVENTS[kind], event), created)

    def error(self, kind: str, message: str, exit_code: int) -> None:
        """Emit the terminal `error` event: the command stopped before a summary could say so."""
        self._emit("error", {"exit_code": exit_code, "kind": kind,
                             "message": clean_message(message)})

    def report(self, text: str, data: dict[str, Any]) -> None:
        """Emit what the command was asked for: `data` is the `report` event's fields.

        `data` is `{report, items, text?}` (kdeploy.reports.common.report_data); `text`, what
        people see, is left out unless the report put it in (it is Kamal's table otherwise).
        """
        del text
        self._emit("report", data)

    def summary_without_run(self, info: dict[str, Any], duration: float = 0.0) -> None:
        """Close the stream of a command that ran no play (a local build, nothing to do).

        Args:
            info: `command`, and `version`/`image` when the command has them.
            duration: how long the command's own work took (s).
        """
        self._run = dict(info)
        self.summary(RunResult(status="successful", duration=duration), 0)

    def summary(self, result: RunResult, exit_code: int, *,
                error: tuple[str, str] | None = None) -> None:
        """Emit the final summary: per host counts, failures, the lock, duration, exit code.

        Args:
            result: what the run did.
            exit_code: the command's exit code.
            error: (kind, message) of what ended the command, when something did.
        """
        hosts = {host: {**counts, "state": host_state(counts)}
                 for host, counts in result.per_host().items()}
        check = bool(self._run.get("check"))
        for host, fields in hosts.items():
            if host in result.containers:
                fields["containers"] = result.containers[host]
            if check:
                fields["pending"] = result.outcomes.get(host, [])
            elif self._run.get("diff") and host in result.outcomes:
                fields["changes"] = result.outcomes[host]
        failures = [_failure_data(failure) for failure in result.failures]
        holder = None if result.lock_seen is None else lock_holder(result.lock_seen)
        if result.lock_held is not None:
            holder = lock_holder(result.lock_held)
            # A held lock is a failure too: never `failures: []` beside a failed run.
            failures.append({"host": self._run.get("lock_host") or "", "task": LOCK_TASK,
                             "reason": "lock_held",
                             "message": clean_message(result.lock_held)})
        self._emit("summary", {
            "command": self._run.get("command", ""), "check": check,
            "version": self._run.get("version"), "image": self._run.get("image"),
            "status": result.status, "hosts": hosts,
            "pending_changes": check and result.pending_changes,
            "failures": failures, "lock_held": result.lock_held is not None, "lock": holder,
            "error": None if error is None else {"kind": error[0], "message": error[1]},
            "duration": round(result.duration, 3), "exit_code": exit_code,
        })


def host_result(status: str, event: dict[str, Any]) -> dict[str, Any]:
    """The `host_result` fields of one runner result event (`status` from its event name).

    `changed` of a `no_log` result comes from the line Ansible printed for it (`changed: [h]`),
    as ansible-runner hides the whole result; a hidden loop prints no such line and counts as
    unchanged here (the summary's stats count it).
    """
    data = event.get("event_data", {})
    res = data.get("res") or {}
    hidden = "censored" in res
    changed = _stdout_changed(event) if hidden else bool(res.get("changed"))
    fields: dict[str, Any] = {
        "host": data.get("host") or "?", "play": data.get("play") or "",
        "task": data.get("task") or "", "task_uuid": data.get("task_uuid") or "",
        "status": "changed" if status == "ok" and changed else status,
        "changed": changed, "ignored": bool(data.get("ignore_errors")), "hidden": hidden,
        "duration": round(float(data.get("duration") or 0), 3),
    }
    debug = data.get("resolved_action") == "ansible.builtin.debug"
    message = clean_message(_message(data)) if status != "ok" or debug else ""
    if message and status != "skipped":
        fields["msg"] = message
    if status == "unreachable":
        fault = classify_ssh_error(_message(data), data.get("host", "HOST"))
        fields.update(reason=fault.reason, reason_detail=_unreachable_reason(data))
        if fault.fix:
            fields["fix"] = fault.fix
    return fields


def _debug_text(data: dict[str, Any]) -> str:
    res = data.get("res") or {}
    if "msg" in res:
        msg = res["msg"]
        return msg if isinstance(msg, str) else json.dumps(msg, indent=2)
    shown = {key: value for key, value in res.items()
             if not key.startswith("_ansible") and key not in ("changed", "failed")}
    return "\n".join(f"{key}: {json.dumps(value)}" for key, value in shown.items())


def change_line(change: dict[str, Any]) -> str:
    """One change for people: `app web: replace kdeploy-demo-web-v1 with … (image …)`."""
    action, source, target = change.get("action", ""), change.get("from"), change.get("to")
    text = f"{change.get('kind', '')} {change.get('name', '')}: {action}"
    if source and target and source != target:
        text += f" {source} with {target}" if action == "replace" else f" {source} -> {target}"
    elif target and target != change.get("image"):  # the image is said next
        text += f" {target}"
    elif source and not target:
        text += f" {source}"
    if change.get("image"):
        text += f" (image {change['image']})"
    return text


def field_lines(change: dict[str, Any]) -> list[str]:
    """`--diff`: one line per differing field; a secret by its name only."""
    lines = []
    for field in change.get("fields") or []:
        if field.get("secret"):
            lines.append(f"{field.get('field', '')}: changed (secret)")
        else:
            lines.append(f"{field.get('field', '')}: {_shown(field.get('before'))} -> "
                         f"{_shown(field.get('after'))}")
    return lines


def _shown(value: Any) -> str:
    return "(none)" if value is None else value if isinstance(value, str) else json.dumps(value)


def _stdout_changed(event: dict[str, Any]) -> bool:
    stdout = _ANSI.sub("", str(event.get("stdout") or "")).lstrip()
    return stdout.startswith("changed:")


def clean_message(text: str) -> str:
    """A message without ssh's chatter (`Shared connection to … closed.` and its kind)."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n")
             if not _SSH_CHATTER.match(line.strip())]
    return "\n".join(lines).strip()


def plain_text(text: str) -> str:
    """A line of progress without its decoration for people (`--> `, hook lines' indent)."""
    return text.removeprefix("--> ").removeprefix("    ")


def _failure_data(failure: HostFailure) -> dict[str, Any]:
    data: dict[str, Any] = {"host": failure.host, "task": failure.task}
    if failure.play:
        data["play"] = failure.play
    data.update(reason="unreachable" if failure.unreachable else "failed",
                message=clean_message(failure.message))
    if failure.unreachable:
        fault = classify_ssh_error(failure.message, failure.host)
        data["reason_detail"] = fault.summary()
        if fault.fix:
            data["fix"] = fault.fix
    return data

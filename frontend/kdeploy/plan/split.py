"""A plan split into runs at the hooks that will run: as few ansible-playbook runs as they allow.

Pure: a Plan, its hook points and the names of the hooks that will run in, a sequence of steps
out (a Plan to run, or a hook point). kdeploy runs a command as ONE ansible-playbook (lock play,
hosts play, unlock play): every extra run costs an Ansible start-up and a new SSH connection per
host. So the plays are cut only at points where some hook (Kamal's or an `x-kdeploy` playbook)
will actually run; without hooks the plan comes back whole. Hooks cannot be plays of the same run
instead: a Kamal hook is a local program that needs its own environment and Kamal's failure
message, and a failing hook must stop the command before the next play starts.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

from kdeploy.plan.model import HookPoint, HostsPlay, Plan, PlaybookImport, RoleImport, Unit

# One unit of a plan with its hosts play (None: an imported part playbook).
PlacedUnit = tuple[Unit, HostsPlay | None]
Step = Plan | HookPoint


def plan_units(plan: Plan) -> list[PlacedUnit]:
    """The plan flattened: part imports as they are, each hosts-play task with its play."""
    units: list[PlacedUnit] = []
    for entry in plan.imports:
        if isinstance(entry, HostsPlay):
            units += [(task, entry) for task in entry.tasks]
        else:
            units.append((entry, None))
    return units


def split_plan(plan: Plan, points: Sequence[HookPoint], running: set[str]) -> list[Step]:
    """The plan as runs and hook points, cut only where a hook in `running` sits.

    Runs whose units the plan's tags all deselect are dropped (an ansible-playbook start for
    nothing); the hook points around them stay, in order.
    """
    units = plan_units(plan)
    placed = [(point, _index(point, units)) for point in points if point.hook in running]
    if not placed:
        return [plan]
    cuts = sorted({index for _, index in placed} | {0, len(units)})
    steps: list[Step] = [point for point, index in placed if index == 0]
    for start, end in itertools.pairwise(cuts):
        segment = units[start:end]
        if any(_selected(unit, plan) for unit, _ in segment):
            steps.append(replace(plan, imports=_regroup(segment), hook_points=()))
        steps += [point for point, index in placed if index == end]
    return steps


def _index(point: HookPoint, units: Sequence[PlacedUnit]) -> int:
    # The cut the point sits at. A declared unit must be in the plan: a builder that rebuilt it
    # (dataclasses.replace) after declaring the point would otherwise drop the hook unnoticed.
    anchor = point.before if point.before is not None else point.after
    if anchor is None:
        return 0
    found = next((index for index, (unit, _) in enumerate(units) if unit is anchor), None)
    if found is None:
        raise ValueError(f"the {point.hook} hook sits beside a unit that is not in the plan")
    return found if point.before is not None else found + 1


def _selected(unit: PlaybookImport | RoleImport, plan: Plan) -> bool:
    # Ansible's selection: any --tags tag (or no --tags; `always` runs whatever --tags say), and
    # no --skip-tags tag.
    tags = set(unit.tags)
    return ((not plan.tags or "always" in tags or bool(tags & set(plan.tags)))
            and not tags & set(plan.skip_tags))


def _regroup(segment: Sequence[PlacedUnit]) -> tuple[PlaybookImport | HostsPlay, ...]:
    # Consecutive tasks of the same hosts play become one play again (same name and settings).
    entries: list[PlaybookImport | HostsPlay] = []
    for unit, play in segment:
        if play is None:
            entries.append(unit)  # type: ignore[arg-type]
        elif entries and isinstance(entries[-1], HostsPlay) and entries[-1].name == play.name:
            entries[-1] = replace(entries[-1], tasks=(*entries[-1].tasks, unit))
        else:
            entries.append(replace(play, tasks=(unit,)))
    return tuple(entries)

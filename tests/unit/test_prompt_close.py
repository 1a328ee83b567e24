from __future__ import annotations

import signal

import pexpect
from ansible_runner import runner

from kdeploy.run.prompt_close import PromptCloseSpawn, prompt_close


def test_a_child_that_has_exited_is_closed_without_the_delay() -> None:
    child = PromptCloseSpawn("sh", ["-c", "exit 3"])
    child.expect(pexpect.EOF)
    while child.isalive():
        pass
    child.close()
    assert child.ptyproc.delayafterclose == 0
    assert (child.closed, child.exitstatus) == (True, 3)


def test_a_child_still_alive_is_ended_as_pexpect_ends_it() -> None:
    child = PromptCloseSpawn("sleep", ["30"])
    assert child.isalive()
    child.close()
    assert child.ptyproc.delayafterclose == 0.1  # pexpect's own, left as it was
    assert not child.isalive()
    assert child.signalstatus in (signal.SIGHUP, signal.SIGINT, signal.SIGKILL)


def test_runner_spawns_the_prompt_spawn_only_within() -> None:
    before = runner.pexpect.spawn
    with prompt_close():
        assert runner.pexpect.spawn is PromptCloseSpawn
    assert runner.pexpect.spawn is before is pexpect.spawn


def test_the_spawn_is_put_back_when_the_run_raises() -> None:
    try:
        with prompt_close():
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert runner.pexpect.spawn is not PromptCloseSpawn

"""The CI recipes of examples/ci, read as the e2e test reads them (tests/e2e/ci_recipes.py).

Their structure (lint -> plan -> deploy, pinned host keys, the exit codes they handle, the
artifacts they keep) and every `kdeploy` call they make, parsed by kdeploy's own CLI. The e2e
test `tests/e2e/test_ci_recipes.py` runs the same steps against the sandbox.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import kdeploy.cli as cli_package
from kdeploy.config.dotenv import parse_dotenv

_SPEC = importlib.util.spec_from_file_location(
    "ci_recipes", Path(__file__).resolve().parents[1] / "e2e" / "ci_recipes.py")
assert _SPEC is not None and _SPEC.loader is not None
ci_recipes = importlib.util.module_from_spec(_SPEC)
sys.modules["ci_recipes"] = ci_recipes  # dataclasses look their module up while it loads
_SPEC.loader.exec_module(ci_recipes)

KINDS = ("github", "gitlab")
# The only lines a recipe may leave out of the test: installing on a fresh runner.
SKIPPABLE = re.compile(r"^-?\s*\"?(pip install kdeploy|apt-get update -qq && apt-get install )")


def script(kind: str, job: str) -> str:
    return "\n".join(step.script for step in ci_recipes.load(kind).job(job).steps)


@pytest.mark.parametrize("kind", KINDS)
def test_each_recipe_runs_lint_then_plan_then_deploy(kind: str) -> None:
    recipe = ci_recipes.load(kind)
    assert [job.name for job in recipe.jobs] == ["lint", "plan", "deploy"]
    assert all(script(kind, job.name).strip() for job in recipe.jobs)


@pytest.mark.parametrize("kind", KINDS)
def test_lint_is_config_q_for_the_deploy_that_follows(kind: str) -> None:
    assert ci_recipes.kdeploy_calls(script(kind, "lint")) == [
        ["config", "-q", "-P", "--version", "$SHA"]]


@pytest.mark.parametrize("kind", KINDS)
def test_plan_is_a_check_that_keeps_going_on_exit_4_only(kind: str) -> None:
    text = script(kind, "plan")
    assert ci_recipes.kdeploy_calls(text) == [
        ["deploy", "-P", "--version", "$SHA", "--check", "--diff", "--exit-code", "--output",
         "json"]]
    # The exit code is caught (a CI shell stops at the first failing command otherwise)...
    assert re.search(r"--output json\s*(\\\n\s*)?> plan\.jsonl \|\| rc=\$\?", text), text
    # ...and only 0 and 4 go on.
    assert re.search(r"0\).*;;\s*4\).*;;\s*\*\).*exit \"\$rc\"", text, re.DOTALL), text
    assert "tail -n1 plan.jsonl > plan-summary.json" in text


@pytest.mark.parametrize("kind", KINDS)
def test_deploy_waits_for_the_lock_and_says_what_exit_3_means(kind: str) -> None:
    text = script(kind, "deploy")
    [call] = ci_recipes.kdeploy_calls(text)
    assert call[:4] == ["deploy", "-P", "--version", "$SHA"]
    assert "--lock-wait" in call and call[call.index("--lock-wait-timeout") + 1] == "1200"
    assert call[-2:] == ["--output", "json"]
    assert "> deploy.jsonl || rc=$?" in text
    assert 'if [ "$rc" -eq 3 ]; then' in text and 'exit "$rc"' in text
    assert "tail -n1 deploy.jsonl > deploy-summary.json" in text


@pytest.mark.parametrize("kind", KINDS)
def test_every_kdeploy_call_parses_with_kdeploys_own_cli(kind: str) -> None:
    calls = [call for job in ci_recipes.STAGES for call in ci_recipes.kdeploy_calls(
        script(kind, job))]
    assert len(calls) == 3
    cli_package._register_commands()
    for call in calls:
        # --help is eager: it answers only once every other word has parsed (an unknown
        # option or a bad value is a usage error, exit 2).
        result = CliRunner().invoke(cli_package.cli, [*call, "--help"])
        assert result.exit_code == 0, (call, result.output)


def test_the_cli_check_can_fail() -> None:
    cli_package._register_commands()
    result = CliRunner().invoke(cli_package.cli, ["deploy", "--no-such-option", "--help"])
    assert result.exit_code == 2


@pytest.mark.parametrize("kind", KINDS)
def test_host_keys_are_pinned_never_switched_off(kind: str) -> None:
    path = ci_recipes.load(kind).path
    text = path.read_text()
    assert not re.search(r"StrictHostKeyChecking[\s=]+(no|off)\b", text, re.IGNORECASE)
    assert "UserKnownHostsFile=/dev/null" not in text
    for job in ("plan", "deploy"):
        steps = script(kind, job)
        assert "ssh-keyscan" not in steps  # keys collected by the job itself prove nothing
        assert '"$SSH_KNOWN_HOSTS" >> ~/.ssh/known_hosts' in steps
        assert "StrictHostKeyChecking yes" in steps
        assert 'eval "$(ssh-agent -s)"' in steps
        assert "| ssh-add -" in steps
        assert steps.index("ssh-add") < steps.index("kdeploy deploy")
        assert "ssh-agent -k" in steps  # the key does not outlive the job


def test_github_hands_the_agent_to_later_steps_and_stops_it_even_after_a_failure() -> None:
    for job in ("plan", "deploy"):
        steps = ci_recipes.load("github").job(job).steps
        assert 'echo "SSH_AUTH_SOCK=$SSH_AUTH_SOCK" >> "$GITHUB_ENV"' in steps[1].script
        assert steps[-1].script == "ssh-agent -k" and steps[-1].always


@pytest.mark.parametrize("kind", KINDS)
def test_only_install_lines_are_left_out_and_none_reaches_the_test(kind: str) -> None:
    path = ci_recipes.load(kind).path
    skipped = ci_recipes.skipped_lines(path)
    assert skipped, "the recipe installs kdeploy somewhere"
    assert all(SKIPPABLE.search(line) for line in skipped), skipped
    # A marker YAML swallowed as a comment would let `pip install` into the test run.
    for job in ci_recipes.STAGES:
        assert "pip install" not in script(kind, job)
        assert "apt-get" not in script(kind, job)


def test_github_maps_each_secret_of_the_secrets_file_from_a_ci_secret() -> None:
    recipe = ci_recipes.load("github")
    names = secret_names()
    assert {name: recipe.env.get(name) for name in names} == {
        name: f"${{{{ secrets.{name} }}}}" for name in names}
    for job in ("plan", "deploy"):
        assert recipe.job(job).env == {"DEPLOY_SSH_KEY": "${{ secrets.DEPLOY_SSH_KEY }}",
                                       "SSH_KNOWN_HOSTS": "${{ vars.SSH_KNOWN_HOSTS }}"}
    assert "DEPLOY_SSH_KEY" not in recipe.job("lint").env  # lint needs no host


def test_gitlab_names_each_secret_it_needs_as_a_ci_variable() -> None:
    header = ci_recipes.GITLAB.read_text().split("stages:", 1)[0]
    for name in [*secret_names(), "DEPLOY_SSH_KEY", "SSH_KNOWN_HOSTS"]:
        assert name in header


def secret_names() -> list[str]:
    environ = {"KAMAL_REGISTRY_PASSWORD": "from-ci-1", "DATABASE_PASSWORD": "from-ci-2"}
    values = parse_dotenv((ci_recipes.EXAMPLES / "secrets").read_text(), ".kamal/secrets",
                          environ, run_command=lambda command: pytest.fail(command))
    assert values == environ  # every value comes from the CI's environment
    return list(values)


def test_the_plan_and_the_deploy_keep_their_events_even_when_they_fail() -> None:
    github = yaml.safe_load(ci_recipes.GITHUB.read_text())
    for job, files in (("plan", "plan.jsonl\nplan-summary.json"),
                       ("deploy", "deploy.jsonl\ndeploy-summary.json")):
        [upload] = [step for step in github["jobs"][job]["steps"]
                    if str(step.get("uses", "")).startswith("actions/upload-artifact@")]
        assert upload["if"] == "always()" and upload["with"]["path"].strip() == files
    gitlab = yaml.safe_load(ci_recipes.GITLAB.read_text())
    for job in ("plan", "deploy"):
        assert gitlab[job]["artifacts"] == {
            "when": "always", "paths": [f"{job}.jsonl", f"{job}-summary.json"]}


def test_deploys_queue_in_the_ci_too() -> None:
    github = yaml.safe_load(ci_recipes.GITHUB.read_text())
    assert github["concurrency"]["cancel-in-progress"] is False
    gitlab = yaml.safe_load(ci_recipes.GITLAB.read_text())
    assert gitlab["deploy"]["resource_group"]


def test_the_extractor_orders_jobs_by_needs_and_flattens_gitlab_anchors(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "jobs:\n"
        "  deploy: {needs: [plan], steps: [{run: echo d}]}\n"
        "  plan: {needs: lint, steps: [{uses: x/y@v1}, {run: \"echo p\\npip x  "
        "# kdeploy-ci-test: skip\"}, {run: echo k, if: always()}]}\n"
        "  lint: {steps: [{run: echo l}]}\n")
    recipe = ci_recipes.load_github(workflow)
    assert [job.name for job in recipe.jobs] == ["lint", "plan", "deploy"]
    assert [(s.script, s.always) for s in recipe.job("plan").steps] == [
        ("echo p", False), ("echo k", True)]
    pipeline = tmp_path / "g.yml"
    pipeline.write_text(
        "stages: [lint, deploy]\n.a: &a\n  - echo a\n  - 'pip x  # kdeploy-ci-test: skip'\n"
        "deploy: {stage: deploy, before_script: [*a], script: [echo d]}\n"
        "lint: {stage: lint, script: [echo l]}\n")
    recipe = ci_recipes.load_gitlab(pipeline)
    assert [(job.name, job.steps[0].script) for job in recipe.jobs] == [
        ("lint", "echo l"), ("deploy", "echo a\necho d")]


def test_variables_the_test_does_not_give_are_an_error() -> None:
    recipe = ci_recipes.load("github")
    given = {"github.sha": "v1", "secrets.KAMAL_REGISTRY_PASSWORD": "x"}
    with pytest.raises(KeyError, match=r"secrets\.DATABASE_PASSWORD"):
        ci_recipes.resolve_env(recipe, recipe.job("lint"), given)
    gitlab = ci_recipes.load("gitlab")
    assert ci_recipes.resolve_env(gitlab, gitlab.job("lint"), {"CI_COMMIT_SHA": "abc"})[
        "SHA"] == "abc"


def test_github_steps_share_github_env_and_only_always_steps_follow_a_failure(
        tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "env: {GREETING: '${{ vars.GREETING }}'}\n"
        "jobs:\n"
        "  deploy:\n"
        "    steps:\n"
        "      - run: echo \"AGENT=from-step-1\" >> \"$GITHUB_ENV\"\n"
        "      - run: echo \"$GREETING $AGENT\"; exit 3\n"
        "      - run: echo never\n"
        "      - {run: echo cleanup, if: always()}\n")
    (tmp_path / "checkout").mkdir()
    run = ci_recipes.run_job(ci_recipes.load_github(workflow), "deploy", tmp_path / "checkout",
                             {"PATH": "/usr/bin:/bin"}, {"vars.GREETING": "hello"})
    assert run.returncode == 3
    assert "hello from-step-1" in run.output and "cleanup" in run.output
    assert "never" not in run.output


def test_a_gitlab_job_stops_at_its_first_failing_line(tmp_path: Path) -> None:
    pipeline = tmp_path / "g.yml"
    pipeline.write_text("deploy: {script: ['echo \"$SHA\"', 'false | true', 'exit 5', "
                        "'echo never']}\nvariables: {SHA: $CI_COMMIT_SHA}\n")
    run = ci_recipes.run_job(ci_recipes.load_gitlab(pipeline), "deploy", tmp_path,
                             {"PATH": "/usr/bin:/bin"}, {"CI_COMMIT_SHA": "abc123"})
    # pipefail: `false | true` fails the job, as on GitLab's runner.
    assert (run.returncode, run.output) == (1, "abc123\n")

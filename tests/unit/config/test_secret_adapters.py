"""Each vault adapter's CLI calls, argv for argv as Kamal 2.12's adapters make them.

The expected argv are read off lib/kamal/secrets/adapters/*.rb: each backtick command line as
the shell splits it. The CLIs are stand-ins (secret_stand_ins.py) that record their argv.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from secret_stand_ins import FAIL, StandIns, ok

from kdeploy.config.secret_adapters import ADAPTER_NAMES, AdapterError, camelize, lookup
from kdeploy.config.secret_adapters.commands import extract, fetch
from kdeploy.errors import UsageError


@contextmanager
def fails(kind: type[Exception], message: str) -> Iterator[None]:
    """The block raises kind with exactly this message (one line, no value in it)."""
    with pytest.raises(kind) as error:
        yield
    assert error.value.message == message  # type: ignore[attr-defined]


@pytest.fixture
def cli(tmp_path: Path) -> StandIns:
    return StandIns(tmp_path)


def run_fetch(cli: StandIns, adapter: str, *secrets: str, **options: str) -> str:
    return fetch(adapter, secrets, account=options.get("account"), from_=options.get("from_"),
                 run=cli.runner(**options.get("env", {})))  # type: ignore[arg-type]


# --- lookup -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "adapter"), [
    ("1password", "OnePassword"), ("1Password", "OnePassword"), ("one_password", "OnePassword"),
    ("OnePassword", "OnePassword"), ("lastpass", "LastPass"), ("last_pass", "LastPass"),
    ("gcp", "GcpSecretManager"), ("gcp_secret_manager", "GcpSecretManager"),
    ("bitwarden-sm", "BitwardenSecretsManager"),
    ("bitwarden_secrets_manager", "BitwardenSecretsManager"), ("bitwarden", "Bitwarden"),
    ("aws_secrets_manager", "AwsSecretsManager"), ("doppler", "Doppler"), ("enpass", "Enpass"),
    ("passbolt", "Passbolt"), ("test", "Test"),
])
def test_lookup_accepts_kamals_names_and_aliases(cli: StandIns, name: str, adapter: str) -> None:
    assert type(lookup(name, cli.runner())).__name__ == adapter


@pytest.mark.parametrize(("name", "shown"), [
    ("vault", "vault"), ("base", "base"),
    ("bitwarden-secrets-manager", "bitwarden-secrets-manager"),
    ("TEST", "TEST"), ("Vault", "Vault"),
])
def test_unknown_adapter_is_named(cli: StandIns, name: str, shown: str) -> None:
    with fails(UsageError, f"Unknown secrets adapter: {shown}"):
        lookup(name, cli.runner())


def test_every_documented_name_resolves(cli: StandIns) -> None:
    assert len({type(lookup(name, cli.runner())) for name in ADAPTER_NAMES}) == 10


def test_camelize_is_activesupports() -> None:
    assert [camelize(n) for n in ("one_password", "one_PASSWORD", "ONE_password", "a/b_c")] == [
        "OnePassword", "OnePassword", "ONEPassword", "A::BC"]


# --- test adapter, account, JSON ---------------------------------------------------------------

def test_test_adapter_reverses_prefixed_names_into_kamals_json(cli: StandIns) -> None:
    printed = run_fetch(cli, "test", "a", "LPARENbRPAREN", 'é"\\', account="x", from_="v")
    assert printed == '{"v/a":"a/v","v/LPARENbRPAREN":")b(/v","v/é\\"\\\\":"\\\\\\"é/v"}'
    assert cli.calls() == []


def test_inline_fetch_is_shell_escaped(cli: StandIns) -> None:
    printed = fetch("test", ["a b"], account="x", inline=True, run=cli.runner())
    assert printed == '\\{\\"a\\ b\\":\\"b\\ a\\"\\}'


@pytest.mark.parametrize("adapter", ["test", "1password", "bitwarden", "lastpass", "gcp"])
def test_adapters_that_need_an_account_refuse_without_one(cli: StandIns, adapter: str) -> None:
    with fails(UsageError, "No value provided for required options '--account'"):
        run_fetch(cli, adapter, "a")
    assert cli.calls() == []


@pytest.mark.parametrize(("adapter", "message"), [
    ("1password", "1Password CLI is not installed"),
    ("bitwarden", "Bitwarden CLI is not installed"),
    ("bitwarden-sm", "Bitwarden Secrets Manager CLI is not installed"),
    ("lastpass", "LastPass CLI is not installed"),
    ("aws_secrets_manager", "AWS CLI is not installed"),
    ("gcp", "gcloud CLI is not installed"),
    ("doppler", "Doppler CLI is not installed"),
    ("enpass", "Enpass CLI is not installed"),
    ("passbolt", "Passbolt CLI is not installed"),
])
def test_a_missing_cli_is_named(cli: StandIns, adapter: str, message: str) -> None:
    with fails(AdapterError, message):
        run_fetch(cli, adapter, "a", account="me", from_="v")


@pytest.mark.parametrize(("program", "version_argv", "adapter"), [
    ("op", ["op", "--version"], "1password"), ("bw", ["bw", "--version"], "bitwarden"),
    ("bws", ["bws", "--version"], "bitwarden-sm"), ("lpass", ["lpass", "--version"], "lastpass"),
    ("aws", ["aws", "--version"], "aws_secrets_manager"),
    ("gcloud", ["gcloud", "--version"], "gcp"), ("doppler", ["doppler", "--version"], "doppler"),
    ("enpass-cli", ["enpass-cli", "version"], "enpass"),
    ("passbolt", ["passbolt", "--version"], "passbolt"),
])
def test_a_failing_version_check_counts_as_missing(cli: StandIns, program: str,
                                                   version_argv: list[str], adapter: str) -> None:
    cli.add(program, {tuple(version_argv[1:]): FAIL})
    with pytest.raises(AdapterError, match=r"CLI is not installed$"):
        run_fetch(cli, adapter, "a", account="me", from_="v")
    assert cli.calls() == [version_argv]


# --- 1Password -------------------------------------------------------------------------------

def field(reference: str, value: str) -> dict[str, str]:
    return {"reference": reference, "value": value}


def test_one_password_signed_in(cli: StandIns) -> None:
    cli.add("op", {
        ("item", "get", "item", "--vault", "v", "--format", "json", "--account", "acct",
         "--fields", "label=user,label=pass"): ok([field("op://v/item/user", "u1"),
                                                   field("op://v/item/pass", "p1")]),
        ("item", "get", "other", "--vault", "v", "--format", "json", "--account", "acct",
         "--fields", "label=password"): ok(field("op://v/other/password", "p2")),
        ("item", "get", "deep", "--vault", "v", "--format", "json", "--account", "acct",
         "--fields", "label=section.key"): ok(field("op://v/deep/section/key", "p3")),
    })
    printed = run_fetch(cli, "1password", "item/user", "item/pass", "other", "deep/section/key",
                        account="acct", from_="op://v")
    assert printed == ('{"v/item/user":"u1","v/item/pass":"p1","v/other":"p2",'
                       '"v/deep/section/key":"p3"}')
    assert cli.calls() == [
        ["op", "--version"],
        ["op", "account", "get", "--account", "acct"],
        ["op", "item", "get", "item", "--vault", "v", "--format", "json", "--account", "acct",
         "--fields", "label=user,label=pass"],
        ["op", "item", "get", "other", "--vault", "v", "--format", "json", "--account", "acct",
         "--fields", "label=password"],
        ["op", "item", "get", "deep", "--vault", "v", "--format", "json", "--account", "acct",
         "--fields", "label=section.key"],
    ]


def test_one_password_signs_in_and_passes_the_session(cli: StandIns) -> None:
    cli.add("op", {
        ("account", "get", "--account", "acct"): FAIL,
        ("signin", "--account", "acct", "--force", "--raw"): ok("tok123\n"),
        ("item", "get", "i", "--vault", "v", "--format", "json", "--account", "acct",
         "--session", "tok123"): ok({"fields": [field("op://v/i/a", "1"),
                                                field("op://v/i/b", "2")]}),
    })
    printed = run_fetch(cli, "1password", account="acct", from_="op://v/i")
    assert printed == '{"v/i/a":"1","v/i/b":"2"}'
    assert cli.calls()[2:] == [
        ["op", "signin", "--account", "acct", "--force", "--raw"],
        ["op", "item", "get", "i", "--vault", "v", "--format", "json", "--account", "acct",
         "--session", "tok123"],
    ]


def test_one_password_failures(cli: StandIns) -> None:
    cli.add("op", {("account", "get", "--account", "acct"): FAIL,
                   ("signin", "--account", "acct", "--force", "--raw"): FAIL})
    with fails(AdapterError, "Failed to login to 1Password"):
        run_fetch(cli, "1password", "v/i", account="acct")
    cli.add("op", {("item", "get", "i", "--vault", "v", "--format", "json", "--account", "acct",
                    "--fields", "label=a,label=b"): FAIL})
    with fails(AdapterError, "Could not read a, b from i in the v 1Password vault"):
        run_fetch(cli, "1password", "v/i/a", "v/i/b", account="acct")


# --- Bitwarden -------------------------------------------------------------------------------

def status(value: str) -> tuple[int, str]:
    return ok({"status": value})


def test_bitwarden_unlocks_syncs_and_reads_items_with_the_session(cli: StandIns) -> None:
    cli.add("bw", {
        ("status",): [status("locked"), status("unlocked")],
        ("unlock", "--raw"): ok("sess-1\n"),
        ("get", "item", "web"): ok({"login": {"password": "pw"}}),
        ("get", "item", "db"): ok({"fields": [{"name": "user", "value": "u"},
                                             {"name": "host", "value": "h"}]}),
        ("get", "item", "note"): ok({"fields": [{"name": "k1", "value": "v1"}]}),
    })
    printed = run_fetch(cli, "bitwarden", "web", "db/user", "db/host", "note", account="me@x")
    assert printed == '{"web":"pw","db/user":"u","db/host":"h","note/k1":"v1"}'
    assert cli.calls() == [["bw", "--version"], ["bw", "status"], ["bw", "unlock", "--raw"],
                           ["bw", "status"], ["bw", "sync"], ["bw", "get", "item", "web"],
                           ["bw", "get", "item", "db"], ["bw", "get", "item", "note"]]
    # BW_SESSION is set only once there is a session (Kamal: `BW_SESSION=... bw ...`).
    assert cli.sessions() == [None, None, None, "sess-1", "sess-1", "sess-1", "sess-1", "sess-1"]


def test_bitwarden_logs_in_with_the_account(cli: StandIns) -> None:
    cli.add("bw", {("status",): [status("unauthenticated"), status("unlocked")],
                   ("get", "item", "a"): ok({"login": {"password": ""}})})
    assert run_fetch(cli, "bitwarden", "a", account="me@x") == '{"a":""}'
    assert cli.calls()[1:4] == [["bw", "status"], ["bw", "login", "me@x"], ["bw", "status"]]


@pytest.mark.parametrize(("answers", "secret", "message"), [
    ({("status",): status("locked")}, "a", "Failed to login to and unlock Bitwarden"),
    ({("status",): status("unlocked"), ("sync",): FAIL}, "a", "Failed to sync Bitwarden"),
    ({("status",): status("unlocked"), ("get", "item", "a"): FAIL}, "a",
     "Could not read a from Bitwarden"),
    ({("status",): status("unlocked"), ("get", "item", "a"): ok({"type": 2})}, "a",
     "Item a is not a login type item and no fields were specified"),
    ({("status",): status("unlocked"), ("get", "item", "a"): ok({"fields": []})}, "a/x",
     "Could not find field x in item a in Bitwarden"),
    ({("status",): ok("not json")}, "a", "`bw status` did not print JSON"),
])
def test_bitwarden_failures(cli: StandIns, answers: dict, secret: str, message: str) -> None:
    cli.add("bw", answers)
    with fails(AdapterError, message):
        run_fetch(cli, "bitwarden", secret, account="me@x")


# --- Bitwarden Secrets Manager ---------------------------------------------------------------

@pytest.mark.parametrize(("secrets", "from_", "argv"), [
    (["all"], None, [["bws", "secret", "list"]]),
    (["all"], "proj-1", [["bws", "secret", "list", "proj-1"]]),
    (["proj-2/all"], None, [["bws", "secret", "list", "proj-2"]]),
    (["u1", "u2"], None, [["bws", "secret", "get", "u1"], ["bws", "secret", "get", "u2"]]),
])
def test_bitwarden_secrets_manager(cli: StandIns, secrets: list[str], from_: str | None,
                                   argv: list[list[str]]) -> None:
    answers = {tuple(call[1:]): ok([{"key": "K1", "value": "v1"}, {"key": "K2", "value": "v2"}])
               for call in argv if "list" in call}
    answers |= {("secret", "get", "u1"): ok({"key": "K1", "value": "v1"}),
                ("secret", "get", "u2"): ok({"key": "K2", "value": "v2"})}
    cli.add("bws", answers)
    printed = fetch("bitwarden-sm", secrets, from_=from_, run=cli.runner())
    assert printed == '{"K1":"v1","K2":"v2"}'
    assert cli.calls() == [["bws", "--version"], ["bws", "project", "list"], *argv]


@pytest.mark.parametrize(("answers", "secrets", "message"), [
    ({("project", "list"): FAIL}, ["a"], "Could not authenticate to Bitwarden Secrets Manager. "
     "Did you set a valid access token?"),
    ({}, [], "You must specify what to retrieve from Bitwarden Secrets Manager"),
    ({("secret", "get", "u1"): FAIL}, ["u1"], "Could not read u1 from Bitwarden Secrets Manager"),
    ({("secret", "list"): FAIL}, ["all"], "Could not read secrets from Bitwarden Secrets Manager"),
])
def test_bitwarden_secrets_manager_failures(cli: StandIns, answers: dict, secrets: list[str],
                                            message: str) -> None:
    cli.add("bws", answers)
    with fails(AdapterError, message):
        fetch("bitwarden-sm", secrets, run=cli.runner())


# --- LastPass --------------------------------------------------------------------------------

def test_last_pass_logged_in(cli: StandIns) -> None:
    cli.add("lpass", {
        ("status", "--color", "never"): ok("Logged in as me@x.\n"),
        ("show", "f/a", "f/b c", "--json"): ok([{"fullname": "f/a", "password": "1"},
                                                 {"fullname": "f/b c", "password": "2"}]),
    })
    assert run_fetch(cli, "lastpass", "a", "b c", account="me@x", from_="f") == \
        '{"f/a":"1","f/b c":"2"}'
    assert cli.calls() == [["lpass", "--version"], ["lpass", "status", "--color", "never"],
                           ["lpass", "show", "f/a", "f/b c", "--json"]]


def test_last_pass_logs_in_and_names_what_is_missing(cli: StandIns) -> None:
    cli.add("lpass", {
        ("status", "--color", "never"): ok("Not logged in.\n"),
        ("show", "a", "b", "--json"): ok([{"fullname": "a", "password": "1"}]),
    })
    with fails(AdapterError, "Could not find b in LastPass"):
        run_fetch(cli, "lastpass", "a", "b", account="me@x")
    assert ["lpass", "login", "me@x"] in cli.calls()


def test_last_pass_failures(cli: StandIns) -> None:
    cli.add("lpass", {("login", "me@x"): FAIL})
    with fails(AdapterError, "Failed to login to LastPass"):
        run_fetch(cli, "lastpass", "a", account="me@x")
    cli.add("lpass", {("status", "--color", "never"): ok("Logged in as me@x.\n"),
                      ("show", "a", 'b"', "--json"): FAIL})
    with pytest.raises(AdapterError) as error:
        run_fetch(cli, "lastpass", "a", 'b"', account="me@x")
    assert error.value.message == 'Could not read ["a", "b\\""] from LastPass'


# --- AWS Secrets Manager ---------------------------------------------------------------------

AWS_VALUES = {"SecretValues": [
    {"Name": "app/db", "SecretString": '{"user": "u", "port": 5432, "opts": {"ssl": true}}'},
    {"Name": "app/token", "SecretString": "plain text"},
    {"Name": "app/count", "SecretString": "42"},
    {"Name": "app/quoted", "SecretString": '"q"'},
], "Errors": []}


@pytest.mark.parametrize(("account", "profile"), [(None, []), ("prod", ["--profile", "prod"])])
def test_aws_secrets_manager(cli: StandIns, account: str | None, profile: list[str]) -> None:
    argv = ("secretsmanager", "batch-get-secret-value", "--secret-id-list", "app/db",
            "app/token", "app/count", "app/quoted", *profile, "--output", "json")
    cli.add("aws", {argv: ok(AWS_VALUES)})
    printed = fetch("aws_secrets_manager", ["db", "token", "count", "quoted"], from_="app",
                    account=account, run=cli.runner())
    # Kamal 2.12: non-string values come back as JSON, a JSON scalar as one value.
    assert printed == ('{"app/db/user":"u","app/db/port":"5432","app/db/opts":"{\\"ssl\\":true}",'
                       '"app/token":"plain text","app/count":"42","app/quoted":"q"}')
    assert cli.calls() == [["aws", "--version"], ["aws", *argv]]


def test_aws_secrets_manager_failures(cli: StandIns) -> None:
    argv = ("secretsmanager", "batch-get-secret-value", "--secret-id-list", "a", "b",
            "--output", "json")
    cli.add("aws", {argv: ok({"SecretValues": [], "Errors": [
        {"SecretId": "a", "Message": "not found"}, {"SecretId": "b", "Message": "denied"}]})})
    with fails(AdapterError, "a: not found b: denied"):
        fetch("aws_secrets_manager", ["a", "b"], run=cli.runner())
    cli.add("aws", {argv: (255, "secret output")})
    with pytest.raises(AdapterError) as error:
        fetch("aws_secrets_manager", ["a", "b"], run=cli.runner())
    assert error.value.message == 'Could not read ["a", "b"] from AWS Secrets Manager'


# --- Google Secret Manager -------------------------------------------------------------------

def payload(text: str) -> tuple[int, str]:
    return ok({"payload": {"data": base64.b64encode(text.encode()).decode()}})


@pytest.mark.parametrize(("account", "flags"), [
    ("default", []),
    ("me@x", ["--account=me@x"]),
    ("me@x|sa@x,sb@x", ["--account=me@x", "--impersonate-service-account=sa@x,sb@x"]),
    ("default|sa@x", ["--impersonate-service-account=sa@x"]),
])
def test_gcp_secret_manager(cli: StandIns, account: str, flags: list[str]) -> None:
    first = ("secrets", "versions", "access", "latest", "--secret=s1", *flags, "--format=json")
    second = ("secrets", "versions", "access", "3", "--secret=s2", "--project=proj", *flags,
              "--format=json")
    cli.add("gcloud", {("auth", "list", "--format=json"): ok([{"account": "me@x"}]),
                       first: payload("one"), second: payload("twö")})
    printed = fetch("gcp", ["s1", "proj/s2/3"], account=account, run=cli.runner())
    assert printed == '{"default/s1":"one","proj/s2":"twö"}'
    assert cli.calls() == [["gcloud", "--version"], ["gcloud", "auth", "list", "--format=json"],
                           ["gcloud", *first], ["gcloud", *second]]


def test_gcp_from_is_the_project(cli: StandIns) -> None:
    argv = ("secrets", "versions", "access", "7", "--secret=s", "--project=p", "--format=json")
    cli.add("gcloud", {("auth", "list", "--format=json"): ok([{}]), argv: payload("x")})
    assert fetch("gcp", ["s/7"], account="default", from_="p", run=cli.runner()) == '{"p/s":"x"}'


def test_gcp_failures(cli: StandIns) -> None:
    cli.add("gcloud", {("auth", "list", "--format=json"): ok([])})
    with fails(AdapterError, "could not login to gcloud"):
        fetch("gcp", ["s"], account="default", run=cli.runner())
    assert cli.calls()[-2:] == [["gcloud", "auth", "login"],
                                ["gcloud", "auth", "list", "--format=json"]]
    cli.add("gcloud", {("auth", "list", "--format=json"): ok([{}]),
                       ("secrets", "versions", "access", "latest", "--secret=s",
                        "--format=json"): FAIL})
    with fails(AdapterError, "Could not read default/s from Google Secret Manager"):
        fetch("gcp", ["s"], account="default", run=cli.runner())


# --- Doppler ---------------------------------------------------------------------------------

def computed(**values: str) -> tuple[int, str]:
    return ok({name: {"computed": value, "raw": "raw-" + value} for name, value in values.items()})


def test_doppler_with_project_and_config(cli: StandIns) -> None:
    argv = ("secrets", "get", "A", "B", "--json", "-p", "proj", "-c", "prd")
    cli.add("doppler", {argv: computed(A="1", B="2")})
    assert fetch("doppler", ["A", "B"], from_="proj/prd", run=cli.runner()) == '{"A":"1","B":"2"}'
    assert cli.calls() == [["doppler", "--version"], ["doppler", "me", "--json"],
                           ["doppler", *argv]]


def test_doppler_with_a_service_token_and_login(cli: StandIns) -> None:
    cli.add("doppler", {("me", "--json"): FAIL,
                        ("secrets", "get", "A", "--json"): computed(A="1")})
    assert fetch("doppler", ["A"], run=cli.runner(DOPPLER_TOKEN="dp.st.x")) == '{"A":"1"}'
    assert cli.calls()[2:] == [["doppler", "login", "-y"], ["doppler", "secrets", "get", "A",
                                                            "--json"]]


def test_doppler_failures(cli: StandIns) -> None:
    cli.add("doppler", {})
    with fails(AdapterError, "Missing project or config from '--from=project/config' option"):
        fetch("doppler", ["A"], run=cli.runner())
    cli.add("doppler", {("me", "--json"): FAIL, ("login", "-y"): FAIL})
    with fails(AdapterError, "Failed to login to Doppler"):
        fetch("doppler", ["A"], from_="p/c", run=cli.runner())


# --- Enpass ----------------------------------------------------------------------------------

def test_enpass(cli: StandIns) -> None:
    vault = "/home/me/Enpass Vaults/primary"
    cli.add("enpass-cli", {("-json", "-vault", vault, "show", "FooBar", "Other"): ok([
        {"title": "FooBar", "label": "DB_PASSWORD", "password": "db"},
        {"title": "FooBar", "label": "API", "password": "api"},
        {"title": "FooBar", "label": "EMPTY", "password": ""},
        {"title": "Other", "label": "", "password": "o"},
        {"title": "Unasked", "label": "", "password": "u"},
    ])})
    printed = fetch("enpass", ["FooBar/DB_PASSWORD", "FooBar/API", "Other"], from_=vault,
                    run=cli.runner())
    assert printed == '{"FooBar/DB_PASSWORD":"db","FooBar/API":"api","Other":"o"}'
    assert cli.calls() == [["enpass-cli", "version"],
                           ["enpass-cli", "-json", "-vault", vault, "show", "FooBar", "Other"]]


def test_enpass_duplicate_key(cli: StandIns) -> None:
    cli.add("enpass-cli", {("-json", "-vault", "/v", "show", "A"): ok([
        {"title": "A", "label": "x", "password": "1"},
        {"title": "A", "label": "x", "password": "2"}])})
    with fails(AdapterError, "A/x is present more than once"):
        fetch("enpass", ["A"], from_="/v", run=cli.runner())


# --- Passbolt --------------------------------------------------------------------------------

def test_passbolt_root_and_nested_folders(cli: StandIns) -> None:
    cli.add("passbolt", {
        ("list", "folders", "--filter", 'Name == "f"', "--json"): ok(
            [{"id": "F1", "name": "f", "folder_parent_id": ""}]),
        ("list", "folders", "--filter", 'Name == "g" && FolderParentID == "F1"', "--json"): ok(
            [{"id": "G1", "name": "g", "folder_parent_id": "F1"}]),
        ("list", "resources", "--filter",
         'Name == "a" || (Name == "b" && FolderParentID == "F1") || '
         '(Name == "c" && FolderParentID == "G1")',
         "--folder", "F1", "--folder", "G1", "--column", "name", "--column", "password",
         "--json"): ok([{"name": "a", "password": "1"}, {"name": "b", "password": "2"},
                        {"name": "c", "password": "3"}]),
    })
    assert fetch("passbolt", ["a", "f/b", "f/g/c"], run=cli.runner()) == \
        '{"a":"1","b":"2","c":"3"}'
    assert [call[:3] for call in cli.calls()] == [
        ["passbolt", "--version"], ["passbolt", "verify"], ["passbolt", "list", "folders"],
        ["passbolt", "list", "folders"], ["passbolt", "list", "resources"]]


def test_passbolt_filter_quotes_names_as_kamal_does(cli: StandIns) -> None:
    # `name.shellescape.inspect`: a space is backslash-escaped, then the backslash doubled.
    argv = ("list", "resources", "--filter", 'Name == "my\\\\ key"', "--column", "name",
            "--column", "password", "--json")
    cli.add("passbolt", {argv: ok([{"name": "my key", "password": "1"}])})
    assert fetch("passbolt", ["my key"], run=cli.runner()) == '{"my key":"1"}'
    assert cli.calls()[-1] == ["passbolt", *argv]


@pytest.mark.parametrize(("answers", "secrets", "message"), [
    ({("verify",): FAIL}, ["a"], "Failed to login to Passbolt"),
    ({}, [], "No secrets given to fetch"),
    ({("list", "folders", "--filter", 'Name == "f"', "--json"): ok([])}, ["f/a"],
     "Could not find the following folders in Passbolt: f"),
    ({("list", "resources", "--filter", 'Name == "a" || Name == "b"', "--column", "name",
       "--column", "password", "--json"): ok([{"name": "a", "password": "1"}])}, ["a", "b"],
     "Could not find the following secrets in Passbolt: b"),
])
def test_passbolt_failures(cli: StandIns, answers: dict, secrets: list[str], message: str) -> None:
    cli.add("passbolt", answers)
    with fails(AdapterError, message):
        fetch("passbolt", secrets, run=cli.runner())


# --- extract ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "secrets", "value"), [
    ("B", '{"A":"1","B":"2"}', "2"),
    ("B", '{"v/i/B":"3","x/B":"4"}', "3"),
    ("B", '{"x/B":"4","B":"2"}', "2"),
    ("B", '{"B":false,"x/B":"4"}', "4"),
    ("N", '{"N":12}', "12"),
    ("T", '{"T":true}', "true"),
    ("M", '{"M":"two\\nlines"}', "two\nlines"),
])
def test_extract(name: str, secrets: str, value: str) -> None:
    assert extract(name, secrets) == value


def test_extract_failures() -> None:
    with fails(AdapterError, "Could not find secret C"):
        extract("C", '{"A":"1","xC":"2"}')
    with pytest.raises(UsageError, match="are not JSON"):
        extract("C", "nojson")
    with pytest.raises(UsageError, match="not a JSON object"):
        extract("C", '["C"]')


# --- the runner ------------------------------------------------------------------------------

def test_runner_keeps_stderr_on_the_terminal_unless_quiet(
        cli: StandIns, capfd: pytest.CaptureFixture[str]) -> None:
    script = cli.bin / "talk"
    script.write_text("#!/bin/sh\necho out; echo \"err $BW_SESSION\" >&2; exit 3\n")
    script.chmod(0o755)
    run = cli.runner()
    loud = run(["talk"], env={"BW_SESSION": "s1"})
    assert (loud.stdout, loud.ok, capfd.readouterr().err) == ("out\n", False, "err s1\n")
    quiet = run(["talk"], quiet=True)
    assert (quiet.stdout, quiet.ok, capfd.readouterr().err) == ("out\n", False, "")
    assert run(["not-installed"]).ok is False

#!/usr/bin/env bash
# The test command from README.md: install what the tests need, then run the whole suite
# (unit, package, peer and e2e; the e2e tests bring the sandbox up themselves and take it down).
#
# With arguments it is one plain pytest over them. Without, three groups run at once, each its
# own pytest with its output in a log that is printed when it ends (see docs/sandbox.md):
#   hosts-free  tests/ without tests/e2e (unit, package, peer: no sandbox)
#   e2e-0       e2e files not named below, on sandbox instance 0
#   e2e-1       the E2E_GROUP_1 files, on sandbox instance 1 (own bridge, hosts, subnet, registry)
# then the SOLO file alone: it changes what the whole machine shares (iptables, a root dockerd).
# A new e2e file lands in e2e-0 by itself; move it to E2E_GROUP_1 when the groups drift apart.
set -uo pipefail
cd "$(dirname "$0")/.."
bash .ci/install.sh || exit 1

PYTEST=(.venv/bin/pytest -q -p no:cacheprovider)
if [ "$#" -gt 0 ]; then
  exec "${PYTEST[@]}" "$@"
fi

# About half of the e2e run (by test count and the slow deploy-heavy files).
E2E_GROUP_1=(
  test_setup_unhappy.py test_maintenance_on_hosts.py
  test_lock_audit_on_hosts.py test_interrupts.py test_host_keys.py
  test_accessory_destinations.py test_proxy_zero_downtime.py test_ci_recipes.py
  test_kamal_2_12_on_hosts.py test_proxy_boot_config.py test_registry_setup.py test_export.py
  test_sandbox.py test_deploy_lifecycle.py
)
# Run after the groups, alone: a root-namespace dockerd and FORWARD policies are machine-wide.
SOLO=(test_sandbox_beside_docker.py)

group_0=()
for path in tests/e2e/test_*.py; do
  name=$(basename "$path")
  case " ${E2E_GROUP_1[*]} ${SOLO[*]} " in
    *" $name "*) ;;
    *) group_0+=("$path") ;;
  esac
done
group_1=("${E2E_GROUP_1[@]/#/tests/e2e/}")
solo=("${SOLO[@]/#/tests/e2e/}")

logs=$(mktemp -d /tmp/kdeploy-ci.XXXXXX)
declare -A names summary  # pid -> group; group -> its summary line

start() {  # start NAME INSTANCE PYTEST-ARGS...: one group in the background, output to its log
  local name=$1 instance=$2
  shift 2
  KDEPLOY_SANDBOX_INSTANCE=$instance "${PYTEST[@]}" --junitxml="$logs/$name.xml" "$@" \
    >"$logs/$name.log" 2>&1 &
  names[$!]=$name
}

finish_all() {  # print each group's log as it ends; returns 1 when any group failed
  local pid rc name status=0
  while [ "${#names[@]}" -gt 0 ]; do
    wait -n -p pid "${!names[@]}"
    rc=$?
    name=${names[$pid]}
    unset "names[$pid]"
    echo "===== $name (exit $rc) ====="
    cat "$logs/$name.log"
    file_times "$logs/$name.xml"
    summary[$name]="$name: exit $rc, $(grep -E '(passed|failed|error|no tests ran)' \
      "$logs/$name.log" | tail -n 1 | tr -d '=' | xargs)"
    [ "$rc" -eq 0 ] || status=1
  done
  return "$status"
}

file_times() {  # the seconds each test file took in a group (for moving files between groups)
  [ -f "$1" ] || return 0
  .venv/bin/python - "$1" <<'PY'
import collections, sys, xml.etree.ElementTree as tree
seconds = collections.Counter()
for case in tree.parse(sys.argv[1]).iter("testcase"):
    parts = case.get("classname", "?").split(".")
    name = next((part for part in parts if part.startswith("test_")), parts[-1])
    seconds[name] += float(case.get("time", 0))
print("seconds per file (slowest 20):",
      ", ".join(f"{name} {total:.0f}" for name, total in seconds.most_common(20)))
PY
}

# Up before the groups start, one after the other: the image build stays out of the parallel
# part, and each instance records its host keys in known_hosts before any test touches the file.
# A failure here is left to the e2e fixture, which reports it (or skips, outside CI).
for instance in 0 1; do
  KDEPLOY_SANDBOX_INSTANCE=$instance .venv/bin/kdeploy sandbox up --hosts 3 \
    >"$logs/up-$instance.log" 2>&1 || cat "$logs/up-$instance.log"
done

failed=0
start hosts-free 0 tests --ignore=tests/e2e
start e2e-0 0 "${group_0[@]}"
start e2e-1 1 "${group_1[@]}"
finish_all || failed=1
start e2e-solo 0 "${solo[@]}"
finish_all || failed=1

echo "===== summary ====="
for name in hosts-free e2e-0 e2e-1 e2e-solo; do
  echo "${summary[$name]}"
done
rm -rf "$logs"
exit "$failed"

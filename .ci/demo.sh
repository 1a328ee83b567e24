#!/usr/bin/env bash
# The main job from README.md: on a fresh Debian 12 machine (root), install kdeploy, build a
# 3-host sandbox (own sshd + dockerd per host, a real registry), run a real `kdeploy setup` of
# the sandbox's example project at v1 and a `kdeploy deploy` of v2, then show what runs on every
# host and ask each web host for /version.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install.sh
kdeploy="$PWD/.venv/bin/kdeploy"

"$kdeploy" sandbox up --hosts 3
status=$("$kdeploy" sandbox status --json)
example=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["example_dir"])' <<<"$status")

cd "$example"
"$kdeploy" setup -P --version v1
"$kdeploy" deploy -P --version v2

echo
echo "--> Containers on every sandbox host"
python3 - "$status" <<'PY'
import json, subprocess, sys
status = json.loads(sys.argv[1])
ssh = ["ssh", "-i", status["key_path"], "-o", "StrictHostKeyChecking=no",
       "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"]
for host in status["hosts"]:
    print(f"{host['name']} ({host['address']}):")
    listing = subprocess.run(
        [*ssh, f"root@{host['address']}",
         "docker ps --format '  {{.Names}}\t{{.Image}}\t{{.Status}}'"],
        capture_output=True, text=True, check=True).stdout
    print(listing.rstrip() or "  (no containers)")
PY

echo
echo "--> GET /version from the web container on every web host"
# Roles without a proxy publish no port (as in Kamal), so ask from inside each host.
# `config` checks what a deploy of that version would check (-P: nothing is built). An assignment,
# not a `for` over $(...), so that a failure stops the script.
web_config=$("$kdeploy" config --json -r web -P --version v2)
web_hosts=$(python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["hosts"]))' <<<"$web_config")
key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["key_path"])' <<<"$status")
for host in $web_hosts; do
  version=$(ssh -i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR -o BatchMode=yes "root@$host" \
    'docker exec "$(docker ps -q --filter label=service=kdeploy-demo --filter label=role=web | head -n1)" wget -qO- http://127.0.0.1/version')
  echo "  $host: $version"
done

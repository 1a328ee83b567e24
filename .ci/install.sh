#!/usr/bin/env bash
# Install everything kdeploy, its tests and its sandbox need on a fresh Debian 12 machine (root).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  docker.io           # dockerd for the sandbox hosts (and the client for building images)
  docker-registry     # the sandbox's real registry
  openssh-server openssh-client   # one sshd per sandbox host
  busybox-static      # base image of the demo app and fake accessory
  iproute2 util-linux # network namespaces, veth, nsenter/unshare
  iptables            # the sandbox's accept rule for its bridge; the e2e test beside a dockerd
  python3-requests    # the Python library community.docker needs on each host
  python3-venv
  ruby                # renders config ERB exactly as Kamal does
  git
)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/kdeploy ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

# A wheel's install compiles every module to bytecode; an editable install does not. Under
# PYTHONDONTWRITEBYTECODE (set in many CI images) every kdeploy and ansible-playbook start would
# then compile the working tree's modules again, each worker the action plugins too: about 0.3 s
# of CPU per 3-host deploy (docs/performance.md). Python checks each file's mtime, so an edit
# only makes that one file compile again until the next install.
.venv/bin/python -m compileall -q frontend plugins >/dev/null

# The dev venv sees the working tree as the installed collection kdeploy.deploy (a wheel user's
# venv has the real copy there): its plain ansible-playbook, ansible-doc and ansible-lint find it.
# A link, never a copy, so it cannot go stale; it lives in the venv, not in git.
site_packages=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
collection="$site_packages/ansible_collections/kdeploy/deploy"
mkdir -p "$(dirname "$collection")"
# An older install may have left a real copy there, which `ln -sfn` would link into, not replace.
if [ -d "$collection" ] && [ ! -L "$collection" ]; then rm -rf "$collection"; fi
ln -sfn "$(pwd)" "$collection"

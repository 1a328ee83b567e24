"""What the hosts receive: Ansible group and variable names, the inventory, the proxy's data.

Between config (which only loads, validates and models) and plan: every place where a config key
becomes something a host sees (an inventory variable, a kamal-proxy argv, a Caddy route, a
docker_container option) is here. docs/ansible-interface.md is the contract it renders.
"""

"""Running plans: the one place that starts Ansible, and everything a command's run needs.

`execute.execute_plan` runs a command's plan with its hooks (`hooked`), releases a lock the run
took when it fails (`lock_release`), settles the hosts after a stop signal (`interrupt`) and says
what failed (`failure`). Below it: the runner, the private data dir, the secrets FIFO, the
process owner, Kamal's hook executables and ssh's own messages. Nothing here imports click: the
front end (cli/run_command.py) chooses the output and hands it in.
"""

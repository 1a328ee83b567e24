"""Running plans: the one place that starts Ansible, and what a run needs around it.

The private data dir, the secrets FIFO, the process owner, Kamal's hook executables, the lock
details, the settle step after an interrupt and ssh's own messages. Usable without click.
"""

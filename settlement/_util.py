"""Small helpers shared by the package."""

import os
import sys


_CHILDREN_HOOKED = False


def children_die_with_this_process() -> None:
    """Linux: the processes forked from this one from now on (document render workers, settle
    workers) get SIGKILL when it dies. Without this, a `settle statements` or `settle run` killed
    with SIGKILL (kill -9, the OOM killer) leaves its idle workers waiting for work forever.
    Elsewhere nothing changes."""
    global _CHILDREN_HOOKED
    if _CHILDREN_HOOKED or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def in_child() -> None:
        if os.getppid() == parent:  # a direct child only, never a grandchild
            prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before the signal was set
                os._exit(1)

    os.register_at_fork(after_in_child=in_child)
    _CHILDREN_HOOKED = True

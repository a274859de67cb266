"""Runs gcloud-tasks-emulator (in its own virtualenv, `python dev/tasks_emulator.py start -p PORT ...`) with one fix.

The emulator dispatches from a snapshot of each queue's tasks; a task deleted or purged after the snapshot makes its
`submit_task` raise NotFound, which ends that queue's dispatch thread for good: every later task is created and never
delivered. Cloud Tasks skips a task that is gone. So does this: the dispatcher's call (never the RunTask RPC's, which
answers NotFound to its caller) treats a vanished task as nothing to do. Standalone: it runs in the emulator's venv.
"""

from __future__ import annotations

import logging

from gcloud_tasks_emulator import server
from gcloud_tasks_emulator.__main__ import main
from google.api_core.exceptions import NotFound

_submit_task = server.QueueState.submit_task


def _submit_unless_gone(self, task_name, force_run=False):  # type: ignore[no-untyped-def]
    try:
        return _submit_task(self, task_name, force_run=force_run)
    except NotFound:
        if force_run:
            raise
        logging.getLogger(__name__).info("[TASKS] %s is gone (deleted or purged); not dispatched", task_name)
        return None


server.QueueState.submit_task = _submit_unless_gone

if __name__ == "__main__":
    main()

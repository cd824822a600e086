"""``import hbmon.auto``: a heartbeat with no code, when ``$HBMON_NAME`` is set.

With ``HBMON_NAME`` set (and optionally ``HBMON_INTERVAL``, a duration such as ``30s`` or
``2m``, and ``HBMON_FILE``) importing this module starts a keepalive Heartbeat under that
name: the process beats while it runs, ends ``stopped`` on SIGTERM/SIGHUP/SIGINT and on a
normal exit. Without ``HBMON_NAME`` it does nothing, so the import can stay in code that
also runs unmonitored. To monitor a program you do not edit::

    python -c "import hbmon.auto, runpy; runpy.run_path('app.py', run_name='__main__')"

Nothing is installed into ``site-packages`` to run it at every interpreter start (no
``.pth`` file): a heartbeat in every Python process of a machine would be a surprise.
"""

import atexit
import os

from . import DEFAULT_INTERVAL, Heartbeat

#: The running heartbeat, or None when ``$HBMON_NAME`` was unset.
heartbeat = None


def _start(environ):
    name = environ.get("HBMON_NAME")
    if not name:
        return None
    # A string is read in hbmon's duration notation; a bad one raises HbmonError naming it.
    hb = Heartbeat(name, interval=environ.get("HBMON_INTERVAL") or DEFAULT_INTERVAL, keepalive=True).start()
    atexit.register(hb.stop)
    return hb


heartbeat = _start(os.environ)

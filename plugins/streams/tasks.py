"""The sending loop on the task queue: one chain of ``streams.pump`` tasks, kept alive.

A pump sends every due destination a round (``delivery.send_round``), then schedules the next
pump a second later: records reach a destination within about a second or two of their commit,
at no cost to the write path (nothing is enqueued per record). The chain has an id kept in
huey's storage with a heartbeat; a pump whose chain is not the current one stops, so there is
one chain however many consumers run. The minute's watchdog starts a new chain when the
heartbeat is older than ``STALE_SECONDS`` (the consumer running the chain was killed, or the
queue lost the scheduled pump), and adding or resuming a destination starts one at once.
"""

import logging
import time
import uuid

from huey import crontab

from plugins.streams import delivery

log = logging.getLogger(__name__)

HEARTBEAT = "streams.heartbeat"
INTERVAL = 1.0  # seconds between two pumps
STALE_SECONDS = 60


def register(huey, app):
    """Register the pump and the watchdog on ``huey``; keep ``kick`` on ``app``."""
    settings = delivery.Settings.from_config(app.config)

    @huey.task(name="streams.pump")
    def pump(chain):
        current = huey.get(HEARTBEAT, peek=True)
        if current is not None and current[0] != chain:
            return  # another chain took over
        huey.put(HEARTBEAT, (chain, time.time()))
        pump_once(app, settings, beat=lambda: huey.put(HEARTBEAT, (chain, time.time())))
        if not huey.immediate:
            pump.schedule(args=(chain,), delay=INTERVAL)

    @huey.periodic_task(crontab(minute="*"), name="streams.watchdog")
    def watchdog():
        current = huey.get(HEARTBEAT, peek=True)
        if current is None or time.time() - current[1] > STALE_SECONDS:
            kick()

    def kick():
        """Start a new chain of pumps (the current one, if any, stops at its next pump)."""
        chain = uuid.uuid4().hex
        try:
            huey.put(HEARTBEAT, (chain, time.time()))
            pump(chain)
        except Exception:
            log.exception("could not start sending log streams; the watchdog will")

    app.extensions["streams.kick"] = kick
    app.extensions["streams.settings"] = settings
    app.extensions["streams.tasks"] = {"pump": pump, "watchdog": watchdog}


def pump_once(app, settings, beat=None):
    """Give every due destination one round, each in an app context of its own; return the
    records acknowledged. ``beat`` is called before each round (the chain's heartbeat: many
    long rounds must not look like a dead chain)."""
    sent = 0
    try:
        with app.app_context():
            due = delivery.due_destinations()
    except Exception:
        log.exception("log streams: could not read the destinations; trying again")
        return 0
    for destination_id in due:
        if beat is not None:
            beat()
        with app.app_context():
            try:
                sent += delivery.send_round(destination_id, settings)
            except Exception:
                log.exception("log stream %s: the round failed", destination_id)
    return sent

"""Notifications: how any code asks for an email to a platform user, in its own transaction.

``notify`` hands a ``Notification`` to the ``send_notification`` hook, which the Email plugin
implements by writing an outbox row in the caller's transaction: the action and its message
commit together or not at all, and the message is sent after commit. Without the Email plugin
nothing is sent, and the action still succeeds.
"""

from dataclasses import dataclass
from dataclasses import field

from flask import current_app

from core.plugins import hooks


@dataclass(frozen=True)
class Notification:
    """One message to platform users.

    ``kind`` names what happened (``task.assigned``, ``login.locked``); ``recipients`` are
    ``core.people.User`` objects (only users the platform knows receive mail); ``template``
    names a Jinja template pair, ``<template>.txt`` and ``<template>.html``, rendered with
    ``context`` (plus ``recipient``); ``sender`` is the user who caused it, or None.
    ``private`` marks a Private Message: only its sender and recipients ever see it listed.
    """

    kind: str
    recipients: tuple
    subject: str
    template: str
    context: dict = field(default_factory=dict)
    sender: object = None
    private: bool = False


def notify(notification):
    """Queue ``notification`` in the caller's transaction (through ``send_notification``).

    Returns the ids of the queued messages (empty without the Email plugin).
    """
    queued = []
    for answer in hooks(current_app).send_notification(notification=notification):
        queued.extend(answer or ())
    return queued

"""What accounts announce to the apps above it, which it never imports (accounts < streams < viewers).

``relation_changed`` is sent once a follow, unfollow, block or unblock has committed, with ``user_id``
(who acted) and ``other_id``. An app that keeps state about a pair of users (the chat rights in a
creator's room) connects a receiver in its ``AppConfig.ready``.
"""

from django.dispatch import Signal

relation_changed = Signal()

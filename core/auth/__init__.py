"""Signing in, as core's own domain: no plugin can skip a rule or a record of it.

- ``views``: the sign-in and sign-out pages, the password check and the rules around it;
- ``throttle``: the sign-in limits (account, known browser, IP) and their locks;
- ``clients``: who is asking (IP behind the trusted proxies, browser family), and the allow list;
- ``signins``: the sign-in log every attempt is written to, and the known browser+IP pairs;
- ``sessions``: server-side sessions, so signing out or a role change ends them at once;
- ``unlocks``: the one-time "unlock and sign in" links;
- ``mail``: the notice a lock sends to the account's owner.
"""

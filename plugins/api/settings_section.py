"""The API section of the Settings tab: the owner's and admins' tokens."""


def sections(viewer):
    """Return the API section's HTML for ``viewer`` (an admin), as a list."""
    return []

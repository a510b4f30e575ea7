"""Log streams: every record of the tabs chosen, as it happens, POSTed to a destination's URL,
signed (docs/streams.md)."""

"""The list machinery every list tab is assembled from.

A list tab (Activity, Email, Logins, or a plugin's) is three things it declares:

1. its filters, a ``filters.FilterSet`` of qualifiers (key, URL parameter, column, how a value
   is checked, choices, how a negation treats NULL, people, a day range, the words index);
2. its one query function, ``records(viewer, filters)``, which applies the viewer's visibility
   and row scope in SQL (``sql`` has the helpers it needs: day ranges, the commit horizon);
3. its templates (the filter bar, the rows, the detail view).

``feed.Feed`` takes the three and gives the tab its panel and routes: keyset pages, the capped
total, the "N new" poll, one record in full, and the viewer's saved searches (``saved``).
Every one of them goes through the tab's query function, so they cannot disagree about what a
viewer may see.
"""

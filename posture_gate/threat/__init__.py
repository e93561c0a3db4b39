"""Threat data from pinned offline files: CISA KEV (known exploited) and FIRST EPSS.

`data` holds the plain records (imported by model.py, so it imports nothing of ours but
strictjson); `kev` and `epss` read the files strictly; `feeds` loads both, checks their age
and attaches the records to findings through every alias.
"""

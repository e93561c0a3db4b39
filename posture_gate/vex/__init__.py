"""VEX in: OpenVEX and CycloneDX VEX statements suppress the dependency and OS-package
findings they say do not affect the audited package version.

`data` holds the decision carried on a suppressed finding (imported by model.py, so it
imports nothing of ours but strictjson); `purl` compares package URLs; `openvex` and
`cyclonedx` read the documents strictly; `apply` loads files and marks findings.
"""

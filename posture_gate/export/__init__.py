"""Documents posture-gate writes for other tools to read (OpenVEX)."""

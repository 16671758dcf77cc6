"""Fault injection with real processes: a database restarted, a broker restarted, a full disk,
helper processes killed. Each test owns its own failing part (a private PostgreSQL cluster, a
private Mosquitto, a tmpfs), so the shared services the rest of the suite uses are never touched."""

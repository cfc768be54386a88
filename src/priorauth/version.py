"""Engine version, recorded on every determination so a replay can tell which code decided."""

ENGINE_VERSION = "0.1.0"

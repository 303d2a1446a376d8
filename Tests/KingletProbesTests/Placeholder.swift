// Tests for KingletProbes.

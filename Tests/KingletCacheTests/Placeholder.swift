// Tests for KingletCache.

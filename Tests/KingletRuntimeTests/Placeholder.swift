// Tests for KingletRuntime.

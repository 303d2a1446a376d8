// Tests for KingletDocument.

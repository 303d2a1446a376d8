// Tests for KingletPod.

/// KingletRuntime: runs containers as supervised child processes (the exec runtime).

// A writer process for the cache crash-injection tests: commits records until killed.

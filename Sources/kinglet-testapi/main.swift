print("kinglet-testapi: not built yet")

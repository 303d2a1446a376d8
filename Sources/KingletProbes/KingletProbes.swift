/// KingletProbes: container probes (tcpSocket, httpGet) run on the event loop without blocking.

/// KingletCache: the memory-mapped flat file holding pod records and device twins.

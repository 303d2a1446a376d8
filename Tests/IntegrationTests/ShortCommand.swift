import KingletTestPeers

/// CloudStack and the end-to-end tests call `ShortCommand.run`; the peers library names it
/// `PeerProcess.run` (Sources/KingletTestPeers/ShortCommand.swift).
typealias ShortCommand = PeerProcess

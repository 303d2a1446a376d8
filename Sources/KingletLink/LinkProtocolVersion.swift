/// KingletLink: the agent's cloud link (docs/protocol.md). Placeholder until the link lands.
public enum LinkProtocolVersion { public static let current = 1 }

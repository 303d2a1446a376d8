/// KingletRelay: the relay controller. Placeholder.
public enum RelayPlaceholder {}

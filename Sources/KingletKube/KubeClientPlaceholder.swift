/// KingletKube: the relay's Kubernetes client on AsyncHTTPClient. Placeholder.
public enum KubeClientPlaceholder {}

/// KingletTestAPI: an etcd-backed stand-in for kube-apiserver (test support). Placeholder.
public enum TestAPIPlaceholder {}

/// KingletImages: OCI images on the board. Image references, the distribution API (v2)
/// pull with its authentication flows, manifests and indexes with the board's platform,
/// blobs verified by digest, gzip layers unpacked with OCI whiteouts into a
/// content-addressed store under the state folder, and garbage collection under disk
/// pressure.

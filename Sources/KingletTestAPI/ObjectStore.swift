import Foundation

/// Options of a DELETE (query parameters and/or a DeleteOptions body).
public struct DeleteOptions: Sendable {
    public var gracePeriodSeconds: Int?
    public var preconditionUID: String?
    public var preconditionResourceVersion: String?
    public init(gracePeriodSeconds: Int? = nil, preconditionUID: String? = nil, preconditionResourceVersion: String? = nil) {
        self.gracePeriodSeconds = gracePeriodSeconds
        self.preconditionUID = preconditionUID
        self.preconditionResourceVersion = preconditionResourceVersion
    }
}

/// One page of a list.
public struct ListPage: Sendable {
    public var items: [JSON]
    public var resourceVersion: Int
    public var continueToken: String?
}

/// Objects in etcd with kube-apiserver's semantics: resourceVersion is the etcd
/// mod_revision, writes are compare-and-swap, status is a separate subresource, pods
/// are defaulted and deleted gracefully. Independent of HTTP.
public final class ObjectStore: Sendable {
    public let etcd: EtcdClient
    /// What is served: the built-in resources and those of the stored CRDs.
    public let registry = ResourceRegistry()
    let recent = RecentObjects()

    public init(etcd: EtcdClient) { self.etcd = etcd }

    // MARK: Encoding

    func decode(_ kv: EtcdKeyValue, resource: ResourceType) throws(APIError) -> JSON {
        var object: JSON
        do { object = try JSONParser.parse(kv.value) } catch {
            throw APIError(code: 500, reason: "InternalError", message: "stored object \(kv.key) is not JSON: \(error)")
        }
        object.set(["metadata", "resourceVersion"], .string(String(kv.modRevision)))
        // Every served version of a CRD reads the same stored objects (conversion "None").
        if resource.isCustom { object["apiVersion"] = .string(resource.apiVersion) }
        return object
    }

    /// Reloads the CustomResourceDefinitions from etcd into the registry.
    public func refreshCustomResources() async throws(APIError) {
        let resource = ResourceType.customResourceDefinitions
        let page = try await mapEtcd { try await etcd.list(prefix: resource.storagePrefix) }
        var crds: [JSON] = []
        for kv in page.values { crds.append(try decode(kv, resource: resource)) }
        registry.replaceCustom(with: crds)
    }

    func encode(_ object: JSON) -> [UInt8] {
        var stored = object
        stored.set(["metadata", "resourceVersion"], nil)
        return stored.serialized
    }

    static func name(_ object: JSON) -> String { object.at(["metadata", "name"])?.stringValue ?? "" }

    static func resourceVersionNumber(_ text: String?, _ resource: ResourceType, _ name: String) throws(APIError) -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let number = Int(text), number > 0 else {
            throw .badRequest("invalid resourceVersion \"\(text)\" for \(resource.plural) \"\(name)\"")
        }
        return number
    }

    func mapEtcd<T>(_ body: () async throws -> T) async throws(APIError) -> T {
        do { return try await body() } catch let error as APIError { throw error } catch let error as EtcdError {
            if case .compacted = error { throw APIError.expired("The resourceVersion for the provided list is too old.") }
            throw APIError(code: 500, reason: "InternalError", message: error.description)
        } catch {
            throw APIError(code: 503, reason: "ServiceUnavailable", message: "etcd: \(error)")
        }
    }

    // MARK: Read

    public func get(_ resource: ResourceType, namespace: String?, name: String) async throws(APIError) -> JSON {
        let key = resource.key(namespace: namespace, name: name)
        let kv = try await mapEtcd { try await etcd.get(key).value }
        guard let kv else { throw .notFound(resource, name) }
        return try decode(kv, resource: resource)
    }

    /// Lists objects, filtered, optionally paged (`limit`, `continue` as the real server).
    public func list(_ resource: ResourceType, namespace: String?, labels: LabelSelector = .everything,
                     fields: FieldSelector = .everything, limit: Int = 0, continueToken: String? = nil) async throws(APIError) -> ListPage
    {
        let prefix = resource.listPrefix(namespace: namespace)
        var startKey: String? = nil
        var revision = 0
        if let continueToken, !continueToken.isEmpty {
            guard let data = Self.decodeContinue(continueToken), let token = try? JSONParser.parse([UInt8](data)),
                  let key = token["start"]?.stringValue, let rv = token["rv"]?.intValue, key.hasPrefix(prefix) else {
                throw .badRequest("continue key is not valid")
            }
            startKey = key
            revision = rv
        }
        var items: [JSON] = []
        while true {
            let batch = limit > 0 ? max(limit - items.count, 1) : 0
            let page: (revision: Int, values: [EtcdKeyValue], more: Bool)
            do {
                page = try await mapEtcd { try await etcd.list(prefix: prefix, startKey: startKey, revision: revision, limit: batch) }
            } catch {
                guard error.code == 410, continueToken != nil else { throw error }
                throw .expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
            }
            if revision == 0 { revision = page.revision }
            for kv in page.values {
                let object = try decode(kv, resource: resource)
                if labels.matches(object.at(["metadata", "labels"])?.stringMap ?? [:]), fields.matches(object) { items.append(object) }
            }
            guard page.more, let last = page.values.last else { return ListPage(items: items, resourceVersion: revision, continueToken: nil) }
            startKey = last.key + "\u{0}"
            if limit > 0, items.count >= limit {
                let token: JSON = ["rv": .int(revision), "start": .string(startKey!)]
                return ListPage(items: items, resourceVersion: revision, continueToken: Self.encodeContinue(token))
            }
        }
    }

    /// Continue tokens are unpadded base64url, as kube-apiserver's, so they survive a query string.
    static func encodeContinue(_ token: JSON) -> String {
        Data(token.serialized).base64EncodedString().replacingOccurrences("+", "-").replacingOccurrences("/", "_")
            .replacingOccurrences("=", "")
    }

    static func decodeContinue(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences("-", "+").replacingOccurrences("_", "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    // MARK: Create

    public func create(_ resource: ResourceType, namespace: String?, object input: JSON) async throws(APIError) -> JSON {
        guard input.isObject else { throw .badRequest("the body of the request was not a JSON object") }
        var object = input
        if let kind = object["kind"]?.stringValue, kind != resource.kind {
            throw .badRequest("the kind of the provided object (\(kind)) does not match the resource (\(resource.kind))")
        }
        if resource.isCustom, let apiVersion = object["apiVersion"]?.stringValue, apiVersion != resource.apiVersion {
            throw .badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (\(resource.apiVersion))")
        }
        object["kind"] = .string(resource.kind)
        object["apiVersion"] = .string(resource.apiVersion)
        var metadata = object["metadata"] ?? .object([:])
        if resource.namespaced {
            if let bodyNamespace = metadata["namespace"]?.stringValue, !bodyNamespace.isEmpty, bodyNamespace != namespace {
                throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            metadata["namespace"] = namespace.map(JSON.string)
        } else {
            metadata["namespace"] = nil
        }
        let generateName = metadata["generateName"]?.stringValue ?? ""
        let explicitName = metadata["name"]?.stringValue ?? ""
        metadata["uid"] = .string(ObjectMeta.uid())
        metadata["creationTimestamp"] = .string(ObjectMeta.timestamp())
        metadata["generation"] = 1
        for field in ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"] {
            metadata[field] = nil
        }
        object["metadata"] = metadata
        if let namespace, resource.namespaced {
            let nsKey = ResourceType.all[0].key(namespace: nil, name: namespace)
            if try await mapEtcd({ try await etcd.get(nsKey, serializable: true).value }) == nil {
                throw .notFound(ResourceType.all[0], namespace)
            }
        }
        try prepareCreate(resource, &object)
        for attempt in 0..<5 {
            let name = explicitName.isEmpty ? ObjectMeta.generatedName(generateName) : explicitName
            if let problem = ObjectMeta.nameProblem(name) {
                throw .invalid(resource, name, field: "metadata.name", "Invalid value: \"\(name)\": \(problem)")
            }
            object.set(["metadata", "name"], .string(name))
            let key = resource.key(namespace: namespace, name: name)
            let result = try await mapEtcd { try await etcd.create(key, value: encode(object)) }
            switch result {
            case .written(let revision):
                object.set(["metadata", "resourceVersion"], .string(String(revision)))
                recent.remember(key, revision: revision, object: object)
                return object
            case .conflict:
                if explicitName.isEmpty, attempt < 4 { continue }
                throw .alreadyExists(resource, name)
            }
        }
        throw .alreadyExists(resource, explicitName)
    }

    func prepareCreate(_ resource: ResourceType, _ object: inout JSON) throws(APIError) {
        if resource.isCustom {
            // As the apiextensions server: with the status subresource, create cannot set status.
            if resource.hasStatus { object["status"] = nil }
            return
        }
        defer { ZeroValues.fill(&object, kind: resource.kind) }
        switch resource.kind {
        case "CustomResourceDefinition":
            try CustomResourceDefinitions.validate(object)
            object["status"] = CustomResourceDefinitions.status(object, old: nil)
        case "Pod":
            guard let containers = object.at(["spec", "containers"])?.arrayValue, !containers.isEmpty else {
                throw .invalid(resource, Self.name(object), field: "spec.containers", "Required value")
            }
            PodRules.applyDefaults(&object)
            object["status"] = ["phase": "Pending", "qosClass": .string(PodRules.qosClass(object["spec"] ?? [:]))]
        case "Namespace":
            object["status"] = ["phase": "Active"]
            if object.at(["spec", "finalizers"]) == nil { object.set(["spec", "finalizers"], ["kubernetes"]) }
            object.set(["metadata", "labels", "kubernetes.io/metadata.name"], .string(Self.name(object)))
        case "Secret":
            if object["type"] == nil { object["type"] = "Opaque" }
        default: break
        }
    }

    // MARK: Update

    /// Reads, transforms and writes back with compare-and-swap, retrying on races unless
    /// the caller pinned a resourceVersion. A transform that changes nothing writes nothing.
    /// When the caller pins a version this server wrote or read last, the object comes from
    /// memory and the write is one etcd transaction (the Lease renewal path).
    func guaranteedUpdate(_ resource: ResourceType, namespace: String?, name: String, expectedVersion: Int?,
                          _ transform: (JSON) throws(APIError) -> JSON) async throws(APIError) -> JSON
    {
        let key = resource.key(namespace: namespace, name: name)
        var state: (revision: Int, object: JSON)?
        if let expectedVersion, let cached = recent.recall(key, revision: expectedVersion) {
            state = (expectedVersion, cached)
        } else {
            let kv = try await mapEtcd { try await etcd.get(key, serializable: true).value }
            if let kv { state = (kv.modRevision, try decode(kv, resource: resource)) }
        }
        for _ in 0..<20 {
            guard let (revision, old) = state else { throw .notFound(resource, name) }
            if let expectedVersion, expectedVersion != revision { throw .staleResourceVersion(resource, name) }
            var new = try transform(old)
            new.set(["metadata", "resourceVersion"], old.at(["metadata", "resourceVersion"]))
            if new == old { return old }
            let finished = new.at(["metadata", "deletionTimestamp"]) != nil
                && (new.at(["metadata", "finalizers"])?.arrayValue ?? []).isEmpty
                && (resource.kind != "Pod" || new.at(["metadata", "deletionGracePeriodSeconds"])?.intValue == 0)
            let value = encode(new)
            let result = try await mapEtcd {
                if finished { return try await etcd.delete(key, modRevision: revision) }
                return try await etcd.update(key, value: value, modRevision: revision)
            }
            switch result {
            case .written(let written):
                new.set(["metadata", "resourceVersion"], .string(String(written)))
                if finished { recent.forget(key) } else { recent.remember(key, revision: written, object: new) }
                return new
            case .conflict(let now):
                if expectedVersion != nil, now != nil { throw .staleResourceVersion(resource, name) }
                state = nil
                if let now { state = (now.modRevision, try decode(now, resource: resource)) }
            }
        }
        throw .conflict(resource, name, "too many concurrent writers, please retry")
    }

    /// PUT of the main resource (`subresource` nil) or of `status`.
    public func update(_ resource: ResourceType, namespace: String?, name: String, object input: JSON,
                       subresource: String? = nil) async throws(APIError) -> JSON
    {
        guard input.isObject else { throw .badRequest("the body of the request was not a JSON object") }
        if let bodyName = input.at(["metadata", "name"])?.stringValue, bodyName != name {
            throw .badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if resource.namespaced, let bodyNamespace = input.at(["metadata", "namespace"])?.stringValue, !bodyNamespace.isEmpty,
           bodyNamespace != namespace {
            throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        let expected = try Self.resourceVersionNumber(input.at(["metadata", "resourceVersion"])?.stringValue, resource, name)
        return try await guaranteedUpdate(resource, namespace: namespace, name: name, expectedVersion: expected) { old throws(APIError) in
            try Self.merged(resource, old: old, new: input, subresource: subresource)
        }
    }

    /// PATCH: applied to the current object, then stored as an update of it.
    public func patch(_ resource: ResourceType, namespace: String?, name: String, type: PatchType, patch: JSON,
                      subresource: String? = nil) async throws(APIError) -> JSON
    {
        try await guaranteedUpdate(resource, namespace: namespace, name: name, expectedVersion: nil) { old throws(APIError) in
            var patched = try Patches.apply(type, patch: patch, to: old, resource: resource)
            if let version = patched.at(["metadata", "resourceVersion"])?.stringValue,
               version != old.at(["metadata", "resourceVersion"])?.stringValue {
                throw .staleResourceVersion(resource, name)
            }
            patched.set(["metadata", "resourceVersion"], old.at(["metadata", "resourceVersion"]))
            return try Self.merged(resource, old: old, new: patched, subresource: subresource)
        }
    }

    /// The object to store when `new` replaces `old`: identity fields stay, and the status
    /// subresource and the main resource each only change their own part.
    static func merged(_ resource: ResourceType, old: JSON, new: JSON, subresource: String?) throws(APIError) -> JSON {
        let name = Self.name(old)
        if subresource == "status" {
            guard resource.hasStatus else { throw .pageNotFound("status") }
            var result = old
            result["status"] = new["status"]
            ZeroValues.fill(&result, kind: resource.kind)
            return result
        }
        if let subresource { throw .badRequest("unsupported subresource \(subresource)") }
        var result = new
        result["kind"] = old["kind"]
        result["apiVersion"] = old["apiVersion"]
        if resource.hasStatus { result["status"] = old["status"] }
        var metadata = result["metadata"] ?? .object([:])
        for field in ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "generation", "generateName"] {
            metadata[field] = old.at(["metadata", field])
        }
        if metadata["deletionTimestamp"] != nil, let newFinalizers = metadata["finalizers"]?.arrayValue,
           let oldFinalizers = old.at(["metadata", "finalizers"])?.arrayValue,
           newFinalizers.contains(where: { !oldFinalizers.contains($0) }) {
            throw .invalid(resource, name, field: "metadata.finalizers", "Forbidden: no new finalizers can be added if the object is being deleted")
        }
        result["metadata"] = metadata
        if resource.kind == "Pod" {
            try PodRules.validateSpecUpdate(old: old["spec"] ?? [:], new: result["spec"] ?? [:], name: name, resource: resource)
        }
        if resource.kind == "CustomResourceDefinition" {
            try CustomResourceDefinitions.validate(result)
            if result.at(["spec", "group"]) != old.at(["spec", "group"]) {
                throw .invalid(resource, name, field: "spec.group", "Invalid value: \"\(result.at(["spec", "group"])?.stringValue ?? "")\": field is immutable")
            }
            result["status"] = CustomResourceDefinitions.status(result, old: old)
        }
        ZeroValues.fill(&result, kind: resource.kind)
        if Self.specChanged(resource, old: old, new: result), let generation = old.at(["metadata", "generation"])?.intValue {
            result.set(["metadata", "generation"], .int(generation + 1))
        }
        return result
    }

    /// Whether an update bumps `metadata.generation`: a change of `spec` for built-in
    /// kinds; for custom resources any change outside metadata (and status, when it is a
    /// subresource), as the apiextensions server's strategy compares them.
    static func specChanged(_ resource: ResourceType, old: JSON, new: JSON) -> Bool {
        guard resource.isCustom else { return new["spec"] != old["spec"] }
        var before = old, after = new
        for field in ["metadata", "kind", "apiVersion"] { before[field] = nil; after[field] = nil }
        if resource.hasStatus { before["status"] = nil; after["status"] = nil }
        return before != after
    }

    // MARK: Delete

    /// DELETE. Returns the object as it is after the call: still present with a
    /// deletionTimestamp when the delete is graceful (a running pod) or waits on
    /// finalizers, else as it was when removed.
    public func delete(_ resource: ResourceType, namespace: String?, name: String, options: DeleteOptions) async throws(APIError) -> (object: JSON, removed: Bool) {
        let key = resource.key(namespace: namespace, name: name)
        for _ in 0..<20 {
            let kv = try await mapEtcd { try await etcd.get(key).value }
            guard let kv else { throw .notFound(resource, name) }
            var object = try decode(kv, resource: resource)
            if let uid = options.preconditionUID, uid != object.at(["metadata", "uid"])?.stringValue {
                throw .conflict(resource, name, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(object.at(["metadata", "uid"])?.stringValue ?? "")")
            }
            if let version = options.preconditionResourceVersion, version != String(kv.modRevision) {
                throw .conflict(resource, name, "Precondition failed: ResourceVersion in precondition: \(version), ResourceVersion in object meta: \(kv.modRevision)")
            }
            let grace = resource.kind == "Pod" ? PodRules.gracePeriod(pod: object, requested: options.gracePeriodSeconds) : 0
            let finalizers = object.at(["metadata", "finalizers"])?.arrayValue ?? []
            if grace > 0 || !finalizers.isEmpty {
                if let current = object.at(["metadata", "deletionGracePeriodSeconds"])?.intValue,
                   object.at(["metadata", "deletionTimestamp"]) != nil, current <= grace {
                    return (object, false)
                }
                object.set(["metadata", "deletionTimestamp"], .string(ObjectMeta.timestamp(Date().addingTimeInterval(Double(grace)))))
                object.set(["metadata", "deletionGracePeriodSeconds"], .int(grace))
                let value = encode(object)
                let result = try await mapEtcd { try await etcd.update(key, value: value, modRevision: kv.modRevision) }
                guard case .written(let revision) = result else { continue }
                object.set(["metadata", "resourceVersion"], .string(String(revision)))
                return (object, false)
            }
            let result = try await mapEtcd { try await etcd.delete(key, modRevision: kv.modRevision) }
            guard case .written = result else { continue }
            recent.forget(key)
            if resource.kind == "Namespace" { try await deleteContents(ofNamespace: name) }
            if resource.kind == "CustomResourceDefinition" { try await deleteCustomResources(of: object) }
            return (object, true)
        }
        throw .conflict(resource, name, "too many concurrent writers, please retry")
    }

    /// A deleted namespace takes its objects with it (the namespace controller's job in a
    /// real cluster; done at once here).
    func deleteContents(ofNamespace namespace: String) async throws(APIError) {
        for resource in registry.all where resource.namespaced {
            let prefix = resource.listPrefix(namespace: namespace)
            try await mapEtcd { try await etcd.deletePrefix(prefix) }
        }
    }

    /// A deleted CRD takes its objects with it (the apiextensions finalizer's job, done at
    /// once here), and stops being served.
    func deleteCustomResources(of crd: JSON) async throws(APIError) {
        for resource in CustomResourceDefinitions.servedResources(crd).prefix(1) {
            let prefix = resource.storagePrefix
            try await mapEtcd { try await etcd.deletePrefix(prefix) }
        }
        try await refreshCustomResources()
    }

    /// Creates the namespaces every cluster has, if missing.
    public func ensureSystemNamespaces() async throws(APIError) {
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            do { _ = try await create(ResourceType.all[0], namespace: nil, object: ["metadata": ["name": .string(name)]]) }
            catch { if error.code != 409 { throw error } }
        }
    }
}

import Foundation
import Hummingbird
import Logging
import NIOCore

/// Answers every HTTP request: authentication, discovery, the admin endpoint, and the
/// resource API on top of `ObjectStore`.
public struct APIResponder: HTTPResponder {
    public typealias Context = BasicRequestContext

    let store: ObjectStore
    let token: String?
    let bookmarkInterval: Double
    let serverAddress: String
    let logger: Logger

    static let maxBody = 16 << 20

    public func respond(to request: Request, context: Context) async throws -> Response {
        do {
            if let token, !isHealthPath(request.uri.path) {
                guard request.headers[.authorization] == "Bearer \(token)" else { throw APIError.unauthorized }
            }
            return try await route(request)
        } catch let error as APIError {
            if error.code >= 500 { logger.error("\(request.method) \(request.uri): \(error)") }
            return Self.json(error.status, status: error.code)
        } catch {
            logger.error("\(request.method) \(request.uri): \(error)")
            return Self.json(APIError(code: 500, reason: "InternalError", message: "\(error)").status, status: 500)
        }
    }

    func isHealthPath(_ path: String) -> Bool { ["/healthz", "/readyz", "/livez", "/version"].contains(path) }

    static func json(_ value: JSON, status: Int = 200) -> Response {
        Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized)))
    }

    static func text(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func route(_ request: Request) async throws -> Response {
        let path = request.uri.path
        let query = QueryParameters(request.uri.query)
        let resourcePath: ResourcePath?
        do {
            resourcePath = try ResourcePath.parse(path, registry: store.registry)
        } catch {
            // Perhaps a CRD another server on this etcd wrote: look again.
            try await store.refreshCustomResources()
            resourcePath = try ResourcePath.parse(path, registry: store.registry)
        }
        if let resourcePath {
            let response = try await resourceRequest(request, resourcePath, query)
            if resourcePath.resource.kind == "CustomResourceDefinition", request.method != .get {
                try await store.refreshCustomResources()
            }
            return response
        }
        guard request.method == .get || path.hasPrefix("/admin/") else { throw APIError.methodNotAllowed("the server does not allow this method on the requested resource") }
        switch path {
        case "/healthz", "/readyz", "/livez":
            _ = try await store.mapEtcd { try await store.etcd.currentRevision() }
            return Self.text("ok")
        case "/version": return Self.json(Discovery.version)
        case "/api": return Self.json(Discovery.coreVersions(serverAddress: serverAddress))
        case "/apis":
            try await store.refreshCustomResources()
            return Self.json(Discovery.groupList(store.registry.all))
        case "/openapi/v2":
            // An empty OpenAPI v2 document: kubectl finds no schema and leaves validation to the server.
            return Response(status: .ok, headers: [.contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"],
                            body: ResponseBody(byteBuffer: ByteBuffer()))
        case "/openapi/v3": return Self.json(["paths": [:]])
        case "/admin/compact":
            // Test support: compacts etcd's history at its current revision, so that lists and
            // watches from older resourceVersions answer 410 Expired.
            guard request.method == .post else { throw APIError.methodNotAllowed("POST /admin/compact") }
            let revision = try await store.mapEtcd { try await store.etcd.currentRevision() }
            try await store.mapEtcd { try await store.etcd.compact(revision: revision) }
            return Self.json(["revision": .int(revision)])
        default:
            let parts = path.split(separator: "/").map(String.init)
            if parts.first == "apis", parts.count == 2 || parts.count == 3 { try await store.refreshCustomResources() }
            let served = store.registry.all
            if parts.count == 2, parts[0] == "api", let list = Discovery.resourceList(groupVersion: parts[1], served) { return Self.json(list) }
            if parts.count == 2, parts[0] == "apis", let group = Discovery.groupDocument(parts[1], served) { return Self.json(group) }
            if parts.count == 3, parts[0] == "apis", let list = Discovery.resourceList(groupVersion: "\(parts[1])/\(parts[2])", served) {
                return Self.json(list)
            }
            throw APIError.pageNotFound(path)
        }
    }

    func body(_ request: Request) async throws -> JSON {
        var request = request
        let buffer = try await request.collectBody(upTo: Self.maxBody)
        let bytes = Array(buffer.readableBytesView)
        if bytes.isEmpty { return .null }
        do { return try JSONParser.parse(bytes) } catch {
            throw APIError.badRequest("the request body is not valid JSON: \(error)")
        }
    }

    func resourceRequest(_ request: Request, _ path: ResourcePath, _ query: QueryParameters) async throws -> Response {
        let resource = path.resource
        let accept = request.headers[.accept]
        switch (request.method, path.name) {
        case (.get, nil):
            if query.flag("watch") { return try await watch(request, path, query) }
            return try await list(path, query, accept: accept)
        case (.get, let name?):
            let object = try await store.get(resource, namespace: path.namespace, name: name)
            if Tables.wantsTable(accept: accept) {
                return Self.json(Tables.table(resource, objects: [object], listMetadata: ["resourceVersion": object.at(["metadata", "resourceVersion"]) ?? ""],
                                              includeObject: query["includeObject"]))
            }
            return Self.json(object)
        case (.post, nil):
            let created = try await store.create(resource, namespace: path.namespace, object: try await body(request))
            return Self.json(created, status: 201)
        case (.put, let name?):
            return Self.json(try await store.update(resource, namespace: path.namespace, name: name, object: try await body(request),
                                                    subresource: path.subresource))
        case (.patch, let name?):
            let type = PatchType(contentType: request.headers[.contentType] ?? "")
            if resource.isCustom, type == nil || type == .strategicMerge {
                // As the apiextensions server: custom resources have no Go struct to carry patch strategies.
                throw APIError(code: 415, reason: "UnsupportedMediaType",
                               message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
            }
            guard let type else {
                throw APIError(code: 415, reason: "UnsupportedMediaType",
                               message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json")
            }
            return Self.json(try await store.patch(resource, namespace: path.namespace, name: name, type: type,
                                                   patch: try await body(request), subresource: path.subresource))
        case (.delete, let name?):
            let options = try deleteOptions(try await body(request), query)
            let (object, _) = try await store.delete(resource, namespace: path.namespace, name: name, options: options)
            return Self.json(object)
        case (.delete, nil):
            return try await deleteCollection(path, query, try deleteOptions(try await body(request), query))
        default:
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    func deleteOptions(_ body: JSON, _ query: QueryParameters) throws -> DeleteOptions {
        var options = DeleteOptions()
        options.gracePeriodSeconds = body["gracePeriodSeconds"]?.intValue
        options.preconditionUID = body.at(["preconditions", "uid"])?.stringValue
        options.preconditionResourceVersion = body.at(["preconditions", "resourceVersion"])?.stringValue
        if let grace = try query.integer("gracePeriodSeconds") { options.gracePeriodSeconds = grace }
        if let uid = query["preconditions.uid"] { options.preconditionUID = uid }
        if let version = query["preconditions.resourceVersion"] { options.preconditionResourceVersion = version }
        if let policy = body["propagationPolicy"]?.stringValue ?? query["propagationPolicy"],
           !["Orphan", "Background", "Foreground"].contains(policy) {
            throw APIError.badRequest("propagationPolicy \(policy) is not one of Orphan, Background, Foreground")
        }
        return options
    }

    func filter(_ resource: ResourceType, _ query: QueryParameters) throws -> ObjectFilter {
        ObjectFilter(labels: try LabelSelector(parsing: query["labelSelector"] ?? ""),
                     fields: try FieldSelector(parsing: query["fieldSelector"] ?? "", for: resource))
    }

    func list(_ path: ResourcePath, _ query: QueryParameters, accept: String?) async throws -> Response {
        let resource = path.resource
        let filter = try filter(resource, query)
        let page = try await store.list(resource, namespace: path.namespace, labels: filter.labels, fields: filter.fields,
                                        limit: try query.integer("limit") ?? 0, continueToken: query["continue"])
        var metadata: JSON = ["resourceVersion": .string(String(page.resourceVersion))]
        if let token = page.continueToken { metadata["continue"] = .string(token) }
        if Tables.wantsTable(accept: accept) {
            return Self.json(Tables.table(resource, objects: page.items, listMetadata: metadata, includeObject: query["includeObject"]))
        }
        let items = page.items.map { item -> JSON in
            var item = item
            item["kind"] = nil
            item["apiVersion"] = nil
            return item
        }
        return Self.json(["kind": .string(resource.listKind), "apiVersion": .string(resource.apiVersion),
                          "metadata": metadata, "items": .array(items)])
    }

    func deleteCollection(_ path: ResourcePath, _ query: QueryParameters, _ options: DeleteOptions) async throws -> Response {
        let resource = path.resource
        let filter = try filter(resource, query)
        let page = try await store.list(resource, namespace: path.namespace, labels: filter.labels, fields: filter.fields)
        var items: [JSON] = []
        for item in page.items {
            let name = item.at(["metadata", "name"])?.stringValue ?? ""
            do {
                items.append(try await store.delete(resource, namespace: item.at(["metadata", "namespace"])?.stringValue, name: name, options: options).object)
            } catch {
                if error.code != 404 { throw error }
            }
        }
        return Self.json(["kind": .string(resource.listKind), "apiVersion": .string(resource.apiVersion),
                          "metadata": ["resourceVersion": .string(String(page.resourceVersion))], "items": .array(items)])
    }

    func watch(_ request: Request, _ path: ResourcePath, _ query: QueryParameters) async throws -> Response {
        let resource = path.resource
        let filter = try filter(resource, query)
        let version = query["resourceVersion"] ?? ""
        var initial: [JSON] = []
        let start: Int
        let sendInitialEvents = query.flag("sendInitialEvents")
        if version.isEmpty || version == "0" || sendInitialEvents {
            let page = try await store.list(resource, namespace: path.namespace, labels: filter.labels, fields: filter.fields)
            initial = page.items
            start = page.resourceVersion + 1
        } else {
            guard let number = Int(version), number > 0 else { throw APIError.badRequest("invalid resourceVersion \"\(version)\"") }
            start = number + 1
        }
        if sendInitialEvents, !query.flag("allowWatchBookmarks") {
            throw APIError.invalid(resource, "", field: "allowWatchBookmarks", "Required value: allowWatchBookmarks must be set to true when sendInitialEvents is set")
        }
        let timeout = Double(try query.integer("timeoutSeconds") ?? 1800)
        let stream = WatchStream(store: store, resource: resource, namespace: path.namespace, filter: filter, startRevision: start,
                                 initial: initial, initialEventsEnd: sendInitialEvents, bookmarks: query.flag("allowWatchBookmarks"),
                                 table: Tables.wantsTable(accept: request.headers[.accept]) ? .some(query["includeObject"]) : .none,
                                 bookmarkInterval: bookmarkInterval, timeout: max(0, timeout))
        let logger = self.logger
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache, private"],
                        body: ResponseBody { writer in
            do {
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await stream.run { line in try await writer.write(ByteBuffer(bytes: line)) }
                }
            } catch is CancellationError {
            } catch {
                logger.debug("watch of \(resource.plural) ended: \(error)")
            }
            try await writer.finish(nil)
        })
    }
}

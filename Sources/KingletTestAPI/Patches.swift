import Foundation

/// The three patch formats kubectl, client-go and the Python client send.
public enum PatchType: Sendable {
    case merge, strategicMerge, json

    public init?(contentType: String) {
        let type = contentType.split(separator: ";").first.map { String($0).trimmingSpaces.lowercased() } ?? ""
        switch type {
        case "application/merge-patch+json": self = .merge
        case "application/strategic-merge-patch+json": self = .strategicMerge
        case "application/json-patch+json": self = .json
        default: return nil
        }
    }
}

public enum Patches {
    public static func apply(_ type: PatchType, patch: JSON, to original: JSON, resource: ResourceType) throws(APIError) -> JSON {
        switch type {
        case .merge:
            guard patch.isObject else { throw .badRequest("a merge patch must be a JSON object") }
            return mergePatch(original, patch)
        case .strategicMerge:
            guard patch.isObject else { throw .badRequest("a strategic merge patch must be a JSON object") }
            return strategicMerge(original, patch, path: [], kind: resource.kind)
        case .json:
            guard case .array(let operations) = patch else { throw .badRequest("a JSON patch must be an array of operations") }
            return try jsonPatch(original, operations)
        }
    }

    // MARK: RFC 7386 merge patch

    public static func mergePatch(_ target: JSON, _ patch: JSON) -> JSON {
        guard case .object(let members) = patch else { return patch }
        var result = target.isObject ? target : .object([:])
        for (key, value) in members {
            if value.isNull { result[key] = nil }
            else { result[key] = mergePatch(result[key] ?? .null, value) }
        }
        return result
    }

    // MARK: Strategic merge patch

    /// List fields merged by a key instead of replaced, per kind (the subset of the
    /// Kubernetes `patchMergeKey` tags the relay and kubectl touch).
    static func mergeKey(kind: String, path: [String]) -> String? {
        let joined = path.joined(separator: ".")
        switch (kind, joined) {
        case ("Pod", "status.conditions"), ("Node", "status.conditions"): return "type"
        case ("Pod", "status.containerStatuses"), ("Pod", "status.initContainerStatuses"),
             ("Pod", "spec.containers"), ("Pod", "spec.initContainers"), ("Pod", "spec.volumes"),
             ("Pod", "spec.containers.env"), ("Pod", "spec.initContainers.env"),
             ("Pod", "spec.containers.volumeMounts"): return joined.hasSuffix("volumeMounts") ? "mountPath" : "name"
        case ("Pod", "spec.containers.ports"): return "containerPort"
        case (_, "metadata.ownerReferences"): return "uid"
        default: return nil
        }
    }

    static func strategicMerge(_ target: JSON, _ patch: JSON, path: [String], kind: String) -> JSON {
        guard case .object(var members) = patch else { return patch }
        if members["$patch"]?.stringValue == "replace" {
            members["$patch"] = nil
            return .object(members.filter { !$0.key.hasPrefix("$") })
        }
        var result = target.isObject ? target : .object([:])
        for (key, value) in members {
            if key.hasPrefix("$setElementOrder/") || key == "$retainKeys" || key == "$patch" { continue }
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                if let remove = value.arrayValue, let current = result[field]?.arrayValue {
                    result[field] = .array(current.filter { !remove.contains($0) })
                }
                continue
            }
            if value.isNull { result[key] = nil; continue }
            let childPath = path + [key]
            switch value {
            case .object:
                result[key] = strategicMerge(result[key] ?? .null, value, path: childPath, kind: kind)
            case .array(let elements):
                if let mergeKey = mergeKey(kind: kind, path: childPath), let current = result[key]?.arrayValue {
                    result[key] = .array(mergeList(current, elements, key: mergeKey, path: childPath, kind: kind))
                } else if key == "finalizers", path == ["metadata"] {
                    let current = result[key]?.arrayValue ?? []
                    result[key] = .array(current + elements.filter { !current.contains($0) })
                } else {
                    result[key] = .array(elements.map { stripDirectives($0) })
                }
            default:
                result[key] = value
            }
        }
        return result
    }

    static func mergeList(_ current: [JSON], _ patch: [JSON], key: String, path: [String], kind: String) -> [JSON] {
        var result = current
        for element in patch {
            guard let keyValue = element[key] else { continue }
            let index = result.firstIndex { $0[key] == keyValue }
            if element["$patch"]?.stringValue == "delete" {
                if let index { result.remove(at: index) }
                continue
            }
            if let index {
                result[index] = strategicMerge(result[index], element, path: path, kind: kind)
            } else {
                result.append(stripDirectives(element))
            }
        }
        return result
    }

    static func stripDirectives(_ value: JSON) -> JSON {
        switch value {
        case .object(let members):
            return .object(members.filter { !$0.key.hasPrefix("$") }.mapValues(stripDirectives))
        case .array(let elements): return .array(elements.map(stripDirectives))
        default: return value
        }
    }

    // MARK: RFC 6902 JSON patch

    static func pointer(_ text: String) throws(APIError) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw .badRequest("invalid JSON pointer \"\(text)\"") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).replacingOccurrences("~1", "/").replacingOccurrences("~0", "~")
        }
    }

    static func jsonPatch(_ original: JSON, _ operations: [JSON]) throws(APIError) -> JSON {
        var document = original
        for operation in operations {
            guard let op = operation["op"]?.stringValue, let pathText = operation["path"]?.stringValue else {
                throw .badRequest("a JSON patch operation needs \"op\" and \"path\"")
            }
            let path = try pointer(pathText)
            switch op {
            case "add": document = try add(document, path, operation["value"] ?? .null, pathText)
            case "remove": document = try remove(document, path, pathText).0
            case "replace":
                _ = try get(document, path, pathText)
                document = try remove(document, path, pathText).0
                document = try add(document, path, operation["value"] ?? .null, pathText)
            case "move", "copy":
                guard let fromText = operation["from"]?.stringValue else { throw .badRequest("\(op) needs \"from\"") }
                let from = try pointer(fromText)
                let value = try get(document, from, fromText)
                if op == "move" { document = try remove(document, from, fromText).0 }
                document = try add(document, path, value, pathText)
            case "test":
                guard try get(document, path, pathText) == (operation["value"] ?? .null) else {
                    throw .badRequest("the test of \(pathText) failed")
                }
            default: throw .badRequest("unknown JSON patch operation \"\(op)\"")
            }
        }
        return document
    }

    static func get(_ document: JSON, _ path: [String], _ text: String) throws(APIError) -> JSON {
        var value = document
        for step in path {
            switch value {
            case .object(let members):
                guard let next = members[step] else { throw .badRequest("path \(text) does not exist") }
                value = next
            case .array(let elements):
                guard let index = Int(step), elements.indices.contains(index) else { throw .badRequest("path \(text) does not exist") }
                value = elements[index]
            default: throw .badRequest("path \(text) does not exist")
            }
        }
        return value
    }

    static func add(_ document: JSON, _ path: [String], _ value: JSON, _ text: String) throws(APIError) -> JSON {
        guard let step = path.first else { return value }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var members):
            if rest.isEmpty { members[step] = value }
            else {
                guard let child = members[step] else { throw .badRequest("path \(text) does not exist") }
                members[step] = try add(child, rest, value, text)
            }
            return .object(members)
        case .array(var elements):
            if rest.isEmpty {
                if step == "-" { elements.append(value); return .array(elements) }
                guard let index = Int(step), index >= 0, index <= elements.count else { throw .badRequest("index out of range in \(text)") }
                elements.insert(value, at: index)
            } else {
                guard let index = Int(step), elements.indices.contains(index) else { throw .badRequest("index out of range in \(text)") }
                elements[index] = try add(elements[index], rest, value, text)
            }
            return .array(elements)
        default: throw .badRequest("path \(text) does not exist")
        }
    }

    static func remove(_ document: JSON, _ path: [String], _ text: String) throws(APIError) -> (JSON, JSON) {
        guard let step = path.first else { throw .badRequest("cannot remove the whole document") }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var members):
            guard let child = members[step] else { throw .badRequest("path \(text) does not exist") }
            if rest.isEmpty { members[step] = nil; return (.object(members), child) }
            let (edited, removed) = try remove(child, rest, text)
            members[step] = edited
            return (.object(members), removed)
        case .array(var elements):
            guard let index = Int(step), elements.indices.contains(index) else { throw .badRequest("index out of range in \(text)") }
            if rest.isEmpty { let removed = elements.remove(at: index); return (.array(elements), removed) }
            let (edited, removed) = try remove(elements[index], rest, text)
            elements[index] = edited
            return (.array(elements), removed)
        default: throw .badRequest("path \(text) does not exist")
        }
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard contains(target) else { return self }
        return components(separatedBy: target).joined(separator: replacement)
    }
}

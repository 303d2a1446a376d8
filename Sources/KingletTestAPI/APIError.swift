/// A failed request, answered as a `Status` object the way kube-apiserver words it.
public struct APIError: Error, CustomStringConvertible, Sendable {
    public let code: Int
    public let reason: String
    public let message: String
    public var details: JSON?

    public init(code: Int, reason: String, message: String, details: JSON? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
    }

    public var description: String { "\(code) \(reason): \(message)" }

    public var status: JSON {
        var status: JSON = ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
                            "message": .string(message), "reason": .string(reason), "code": .int(code)]
        if let details { status["details"] = details }
        return status
    }

    static func qualified(_ resource: ResourceType) -> String {
        resource.group.isEmpty ? resource.plural : "\(resource.plural).\(resource.group)"
    }

    static func objectDetails(_ resource: ResourceType, _ name: String) -> JSON {
        var details: JSON = ["name": .string(name), "kind": .string(resource.plural)]
        if !resource.group.isEmpty { details["group"] = .string(resource.group) }
        return details
    }

    public static func notFound(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "\(qualified(resource)) \"\(name)\" not found",
                 details: objectDetails(resource, name))
    }

    public static func alreadyExists(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(code: 409, reason: "AlreadyExists", message: "\(qualified(resource)) \"\(name)\" already exists",
                 details: objectDetails(resource, name))
    }

    public static func conflict(_ resource: ResourceType, _ name: String, _ why: String) -> APIError {
        APIError(code: 409, reason: "Conflict",
                 message: "Operation cannot be fulfilled on \(qualified(resource)) \"\(name)\": \(why)",
                 details: objectDetails(resource, name))
    }

    public static func staleResourceVersion(_ resource: ResourceType, _ name: String) -> APIError {
        conflict(resource, name, "the object has been modified; please apply your changes to the latest version and try again")
    }

    /// 422 with one cause per field, as the real validation reports it.
    public static func invalid(_ resource: ResourceType, _ name: String, field: String, _ message: String) -> APIError {
        var details = objectDetails(resource, name)
        details["kind"] = .string(resource.kind)
        details["causes"] = [["reason": "FieldValueInvalid", "message": .string(message), "field": .string(field)]]
        return APIError(code: 422, reason: "Invalid",
                        message: "\(resource.kind) \"\(name)\" is invalid: \(field): \(message)", details: details)
    }

    public static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    public static func expired(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    public static func methodNotAllowed(_ message: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }

    public static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    public static func pageNotFound(_ path: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: [:])
    }
}

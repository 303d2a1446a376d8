import KingletDocument

/// Reads one container (app or init) and checks it against its pod's other containers.
enum ContainerDecoder {
    static func decode(_ reader: FieldReader, takenNames: inout [String]) throws(DocumentError) -> Container {
        let object = try reader.object()
        let nameField = try object.required("name")
        let name = try nameField.string()
        if let problem = NameRules.dnsLabelProblem(name) { throw nameField.error(problem) }
        if takenNames.contains(name) { throw nameField.error("duplicate container name '\(name)'") }
        takenNames.append(name)

        var env: [EnvVar] = []
        for item in try object.array("env") { env.append(try decodeEnvVar(item)) }
        var ports: [ContainerPort] = []
        for item in try object.array("ports") { ports.append(try decodePort(item)) }
        var imagePullPolicy = ""
        if let field = object.field("imagePullPolicy") {
            imagePullPolicy = try field.string()
            guard ["Always", "IfNotPresent", "Never"].contains(imagePullPolicy) else {
                throw field.error("unsupported value \"\(imagePullPolicy)\": supported values: \"Always\", \"IfNotPresent\", \"Never\"")
            }
        }

        var container = Container(
            name: name,
            image: try object.requiredString("image"),
            command: try object.stringList("command"),
            args: try object.stringList("args"),
            env: env,
            workingDir: try object.string("workingDir") ?? "",
            ports: ports,
            resources: try decodeResources(object.object("resources")),
            livenessProbe: try object.field("livenessProbe").map { (field) throws(DocumentError) in try ProbeDecoder.decode(field) },
            readinessProbe: try object.field("readinessProbe").map { (field) throws(DocumentError) in try ProbeDecoder.decode(field) },
            startupProbe: try object.field("startupProbe").map { (field) throws(DocumentError) in try ProbeDecoder.decode(field) })
        container.imagePullPolicy = imagePullPolicy
        return container
    }

    static func decodeEnvVar(_ reader: FieldReader) throws(DocumentError) -> EnvVar {
        let object = try reader.object()
        let nameField = try object.required("name")
        let name = try nameField.string()
        if name.isEmpty || name.utf8.contains(UInt8(ascii: "=")) {
            throw nameField.error("environment variable names must be non-empty and must not contain '='")
        }
        if let valueFrom = try object.object("valueFrom") {
            if let ref = try valueFrom.object("configMapKeyRef") {
                return EnvVar(name: name, source: .configMapKey(
                    name: try ref.requiredString("name"), key: try ref.requiredString("key"), optional: try ref.bool("optional") ?? false))
            }
            if let ref = try valueFrom.object("secretKeyRef") {
                return EnvVar(name: name, source: .secretKey(
                    name: try ref.requiredString("name"), key: try ref.requiredString("key"), optional: try ref.bool("optional") ?? false))
            }
            if let ref = try valueFrom.object("fieldRef") {
                return EnvVar(name: name, source: .field(path: try ref.requiredString("fieldPath")))
            }
            throw valueFrom.reader.error("expected one of configMapKeyRef, secretKeyRef or fieldRef")
        }
        return EnvVar(name: name, source: .value(try object.string("value") ?? ""))
    }

    static func decodePort(_ reader: FieldReader) throws(DocumentError) -> ContainerPort {
        let object = try reader.object()
        let portField = try object.required("containerPort")
        let port = try portField.integer()
        if port < 1 || port > 65535 { throw portField.error("port \(port) is outside 1-65535") }
        return ContainerPort(name: try object.string("name") ?? "", containerPort: port,
                             protocolName: try object.string("protocol") ?? "TCP")
    }

    static func decodeResources(_ object: ObjectReader?) throws(DocumentError) -> ResourceRequirements {
        guard let object else { return ResourceRequirements() }
        var resources = ResourceRequirements()
        if let limits = try object.object("limits") {
            resources.cpuLimitMillicores = try quantity(limits.field("cpu"), as: .millis)
            resources.memoryLimitBytes = try quantity(limits.field("memory"), as: .units)
        }
        if let requests = try object.object("requests") {
            resources.cpuRequestMillicores = try quantity(requests.field("cpu"), as: .millis)
            resources.memoryRequestBytes = try quantity(requests.field("memory"), as: .units)
        }
        return resources
    }

    /// Quantities are strings, but YAML authors write `cpu: 1` or `cpu: 0.5` too.
    static func quantity(_ reader: FieldReader?, as unit: Quantity.Unit) throws(DocumentError) -> Int64? {
        guard let reader else { return nil }
        let text: String
        switch reader.node.value {
        case .string(let value): text = value
        case .integer(let value): text = String(value)
        case .double(let value): text = String(value)
        default: throw reader.mismatch("a quantity such as \"500m\" or \"64Mi\"")
        }
        switch Quantity.parse(text, as: unit) {
        case .success(let value): return value
        case .failure(let error): throw reader.error(error.message)
        }
    }
}

/// Reads a probe: exactly one handler, and the timing fields with Kubernetes' defaults.
enum ProbeDecoder {
    static func decode(_ reader: FieldReader) throws(DocumentError) -> Probe {
        let object = try reader.object()
        var actions: [ProbeAction] = []
        if let exec = try object.object("exec") {
            let command = try exec.stringList("command")
            if command.isEmpty { throw exec.reader.error("exec probe needs a command") }
            actions.append(.exec(command: command))
        }
        if let tcp = try object.object("tcpSocket") {
            actions.append(.tcpSocket(host: try tcp.string("host") ?? "", port: try port(tcp.required("port"))))
        }
        if let http = try object.object("httpGet") {
            var headers: [HTTPHeader] = []
            for item in try http.array("httpHeaders") {
                let header = try item.object()
                headers.append(HTTPHeader(name: try header.requiredString("name"), value: try header.string("value") ?? ""))
            }
            let scheme = try http.string("scheme") ?? "HTTP"
            if scheme != "HTTP" && scheme != "HTTPS" {
                throw try http.required("scheme").error("expected scheme HTTP or HTTPS, found '\(scheme)'")
            }
            actions.append(.httpGet(scheme: scheme, host: try http.string("host") ?? "", port: try port(http.required("port")),
                                    path: try http.string("path") ?? "/", headers: headers))
        }
        if object.field("grpc") != nil { throw reader.error("gRPC probes are not supported by this agent") }
        guard actions.count == 1, let action = actions.first else {
            throw reader.error(actions.isEmpty ? "a probe needs one of exec, tcpSocket or httpGet"
                                               : "a probe may have only one of exec, tcpSocket or httpGet")
        }
        return Probe(
            action: action,
            initialDelaySeconds: try nonNegative(object, "initialDelaySeconds", 0),
            periodSeconds: try positive(object, "periodSeconds", 10),
            timeoutSeconds: try positive(object, "timeoutSeconds", 1),
            successThreshold: try positive(object, "successThreshold", 1),
            failureThreshold: try positive(object, "failureThreshold", 3))
    }

    static func port(_ reader: FieldReader) throws(DocumentError) -> IntOrString {
        let port = try reader.intOrString()
        if case .int(let number) = port, number < 1 || number > 65535 {
            throw reader.error("port \(number) is outside 1-65535")
        }
        return port
    }

    static func nonNegative(_ object: ObjectReader, _ key: String, _ fallback: Int64) throws(DocumentError) -> Int64 {
        guard let field = object.field(key) else { return fallback }
        let value = try field.integer()
        if value < 0 { throw field.error("must be 0 or more") }
        return value
    }

    static func positive(_ object: ObjectReader, _ key: String, _ fallback: Int64) throws(DocumentError) -> Int64 {
        guard let field = object.field(key) else { return fallback }
        let value = try field.integer()
        if value < 1 { throw field.error("must be 1 or more") }
        return value
    }
}

/// Kubernetes' `$(VAR_NAME)` expansion for command, args and env values.
///
/// Rules (kubernetes.io "Define a command and arguments", and the kubelet's expansion
/// package): `$(NAME)` becomes the variable's value when NAME is defined; an undefined
/// reference is left as written; `$$` is an escaped `$` (so `$$(NAME)` yields `$(NAME)`);
/// a `$` before anything else, or an unclosed `$(`, is kept literally.
public enum VariableExpansion {
    public static func expand(_ input: String, lookup: (String) -> String?) -> String {
        let bytes = Array(input.utf8)
        guard bytes.contains(UInt8(ascii: "$")) else { return input }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "$"), index + 1 < bytes.count else {
                output.append(byte)
                index += 1
                continue
            }
            let next = bytes[index + 1]
            if next == UInt8(ascii: "$") {
                output.append(byte)
                index += 2
            } else if next == UInt8(ascii: "("), let close = closingParenthesis(bytes, from: index + 2) {
                let name = String(decoding: bytes[(index + 2)..<close], as: UTF8.self)
                if let value = lookup(name) {
                    output.append(contentsOf: value.utf8)
                } else {
                    output.append(contentsOf: bytes[index...close])
                }
                index = close + 1
            } else {
                output.append(byte)
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Expands a list of variables in order: each may reference the ones before it, as
    /// env entries do in a container spec.
    public static func expandInOrder(_ variables: [(String, String)], base: (String) -> String? = { _ in nil }) -> [(String, String)] {
        var expanded: [(String, String)] = []
        expanded.reserveCapacity(variables.count)
        for (name, value) in variables {
            let result = expand(value) { reference in
                // The latest earlier definition wins, as with repeated env names.
                for (earlierName, earlierValue) in expanded.reversed() where earlierName == reference { return earlierValue }
                return base(reference)
            }
            expanded.append((name, result))
        }
        return expanded
    }

    private static func closingParenthesis(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: ")") { return index }
            index += 1
        }
        return nil
    }
}

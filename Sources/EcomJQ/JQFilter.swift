import CJQ

/// What jq said about a program that does not compile, or about input it could not filter.
package struct JQError: Error, Equatable, CustomStringConvertible {
    package var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// A jq program compiled by libjq, applied to JSON text as `jq -r` would: each result on its own,
/// strings raw, everything else as JSON.
///
/// Not thread-safe (libjq's state is not): make one where it is used.
package final class JQFilter {
    private var state: OpaquePointer?
    private let messages = Messages()

    /// Compiles `program`; throws jq's own compile messages.
    package init(_ program: String) throws(JQError) {
        state = jq_init()
        guard state != nil else { throw JQError("jq could not start (out of memory)") }
        // libjq prints errors to standard error by default; collect them for the caller instead.
        jq_set_error_cb(state, { context, message in
            guard let context else { return jv_free(message) }
            Unmanaged<Messages>.fromOpaque(context).takeUnretainedValue().append(jq_format_error(message))
        }, Unmanaged.passUnretained(messages).toOpaque())
        guard jq_compile(state, program) != 0 else { throw JQError(messages.compileErrors) }
    }

    deinit {
        if state != nil { jq_teardown(&state) }
    }

    /// The program's results for the JSON document `text`, each rendered (pretty: indented by two).
    package func apply(toJSON text: String, pretty: Bool) throws(JQError) -> [String] {
        let input = jv_parse(text)
        guard jv_get_kind(input) != JV_KIND_INVALID else { throw JQError("jq: error: \(Self.invalidMessage(input))") }
        jq_start(state, input, 0)
        var results: [String] = []
        var result = jq_next(state)
        while jv_get_kind(result) != JV_KIND_INVALID {
            if jv_get_kind(result) == JV_KIND_STRING {
                results.append(String(cString: jv_string_value(result)))
                jv_free(result)
            } else {
                let dumped = jv_dump_string(result, pretty ? Self.prettyFlags : 0)
                results.append(String(cString: jv_string_value(dumped)))
                jv_free(dumped)
            }
            result = jq_next(state)
        }
        if jv_invalid_has_msg(jv_copy(result)) != 0 { throw JQError("jq: error: \(Self.invalidMessage(result))") }
        jv_free(result)
        return results
    }

    /// `JV_PRINT_INDENT_FLAGS(2)`, a macro Swift does not import.
    private static let prettyFlags = Int32(2 << 8) | Int32(JV_PRINT_PRETTY.rawValue)

    /// The message an invalid value carries (consumed), as text.
    private static func invalidMessage(_ invalid: jv) -> String {
        let message = jv_invalid_get_msg(invalid)
        if jv_get_kind(message) == JV_KIND_STRING {
            defer { jv_free(message) }
            return String(cString: jv_string_value(message))
        }
        let dumped = jv_dump_string(message, 0)
        defer { jv_free(dumped) }
        return String(cString: jv_string_value(dumped)) + " (not a string)"
    }
}

/// What libjq reported through its error callback, in order.
private final class Messages {
    private var texts: [String] = []

    /// Takes ownership of `message`, a string made by `jq_format_error`.
    func append(_ message: jv) {
        if jv_get_kind(message) == JV_KIND_STRING { texts.append(String(cString: jv_string_value(message))) }
        jv_free(message)
    }

    /// The compile errors, without jq's closing count ("jq: 1 compile error").
    var compileErrors: String {
        let errors = texts.filter { !($0.hasPrefix("jq: ") && ($0.hasSuffix("compile error") || $0.hasSuffix("compile errors"))) }
        return (errors.isEmpty ? texts : errors).joined(separator: "\n")
    }
}

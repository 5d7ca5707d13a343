import Foundation

// ecom-embed-file INPUT OUTPUT NAME PATH: writes OUTPUT, a Swift source declaring `package enum
// NAME` that carries INPUT (PATH is how messages and the source name it). Run by the EmbedFiles
// plugin at build time.

let arguments = CommandLine.arguments
guard arguments.count == 5 else {
    FileHandle.standardError.write(Data("usage: ecom-embed-file INPUT OUTPUT NAME PATH\n".utf8))
    exit(64)
}
let (input, output, name, path) = (arguments[1], arguments[2], arguments[3], arguments[4])
guard let data = FileManager.default.contents(atPath: input) else {
    FileHandle.standardError.write(Data("ecom-embed-file: cannot read \(input)\n".utf8))
    exit(1)
}

/// The file as a raw multi-line string literal, when that reproduces it byte for byte: UTF-8 with
/// no control characters but tab and line feed (a literal turns CR LF into LF), and delimited by
/// more `#` than any run of them in the text, so that neither `"""#…` nor `\#…` can occur in it.
func rawStringLiteral(_ data: Data) -> String? {
    guard let text = String(data: data, encoding: .utf8) else { return nil }
    guard text.unicodeScalars.allSatisfy({ $0 == "\n" || $0 == "\t" || !($0.properties.generalCategory == .control) }) else {
        return nil
    }
    var longestRun = 0
    var run = 0
    for character in text.unicodeScalars {
        run = character == "#" ? run + 1 : 0
        longestRun = max(longestRun, run)
    }
    let hashes = String(repeating: "#", count: longestRun + 1)
    return "\(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)"
}

var source = """
    // Generated at build time by the EmbedFiles plugin from \(path); edit that file instead.

    /// `\(path)`, as it was when this binary was built.
    package enum \(name) {
        /// Where the content comes from, relative to the package root.
        package static let path = "\(path)"

    """
if let literal = rawStringLiteral(data) {
    source += "    package static let text = \(literal)\n"
} else {
    let bytes = data.map { "0x" + String($0, radix: 16) }.joined(separator: ",")
    source += "    package static let bytes: [UInt8] = [\(bytes)]\n"
}
source += "}\n"

do {
    // Unchanged content keeps its modification time, so nothing downstream rebuilds.
    if FileManager.default.contents(atPath: output) != Data(source.utf8) {
        try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
    }
} catch {
    FileHandle.standardError.write(Data("ecom-embed-file: cannot write \(output): \(error)\n".utf8))
    exit(1)
}

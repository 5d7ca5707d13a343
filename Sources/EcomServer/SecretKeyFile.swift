import EcomServerKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The embedded default's signing key: made once, kept in the data directory, readable by its owner only.
///
/// The file is created with mode 0600 by `open(2)` itself (`O_CREAT | O_EXCL`), so it is never
/// readable by others, not even between its creation and a later change of mode.
func loadOrCreateSecret(in directory: URL) throws -> String {
    let file = directory.appendingPathComponent("secret.key")
    for _ in 0..<3 {
        if let existing = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
            !existing.isEmpty
        {
            return existing
        }
        // An empty file is what a start that died before writing the key leaves: made again.
        if FileManager.default.fileExists(atPath: file.path) { unlink(file.path) }
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            // Another process made it first: read theirs.
            if errno == EEXIST { continue }
            throw ServeError("cannot create \(file.path): \(String(cString: strerror(errno)))")
        }
        let secret = SigningKey.generateSecret()
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data((secret + "\n").utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            unlink(file.path)
            throw ServeError("cannot write \(file.path): \(error)")
        }
        return secret
    }
    throw ServeError("cannot create \(file.path)")
}

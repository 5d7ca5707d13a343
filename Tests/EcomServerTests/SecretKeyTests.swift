import Foundation
import Testing

@testable import EcomServer

#if canImport(Glibc)
import Glibc
#endif

/// `umask` is process-wide: the tests that change it run one at a time.
@Suite(.serialized) struct SecretKeyTests {
    func withDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    func mode(_ file: URL) throws -> mode_t {
        var info = stat()
        try #require(stat(file.path, &info) == 0)
        return info.st_mode & 0o777
    }

    @Test("the embedded default's key is created owner-only whatever the umask, and is the only file made")
    func createdOwnerOnly() throws {
        let previous = umask(0)
        defer { umask(previous) }
        try withDirectory { directory in
            let secret = try loadOrCreateSecret(in: directory)
            #expect(secret.utf8.count >= 32)
            let file = directory.appendingPathComponent("secret.key")
            #expect(try mode(file) == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["secret.key"])
            #expect(try String(contentsOf: file, encoding: .utf8) == secret + "\n")
        }
    }

    #if os(Linux)
    @Test("the key file is created in place with its final mode: never renamed into place, never re-moded")
    func neverNarrowed() throws {
        try withDirectory { directory in
            let watch = inotify_init1(Int32(IN_NONBLOCK))
            try #require(watch >= 0)
            defer { close(watch) }
            try #require(inotify_add_watch(watch, directory.path, UInt32(IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_MOVED_TO | IN_CLOSE_WRITE)) >= 0)
            _ = try loadOrCreateSecret(in: directory)

            var events: [(mask: UInt32, name: String)] = []
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            let count = read(watch, &buffer, buffer.count)
            var offset = 0
            while count > 0, offset + 16 <= count {
                let mask = buffer[(offset + 4)..<(offset + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
                let length = Int(buffer[(offset + 12)..<(offset + 16)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
                let name = String(decoding: buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }, as: UTF8.self)
                events.append((mask, name))
                offset += 16 + length
            }
            let created = events.filter { $0.mask & UInt32(IN_CREATE) != 0 }.map(\.name)
            #expect(created == ["secret.key"], "\(events)")
            #expect(!events.contains { $0.mask & UInt32(IN_ATTRIB | IN_MOVED_TO) != 0 }, "\(events)")
        }
    }
    #endif

    @Test("an existing key is reused as it is; an empty one left by a start that died is made again")
    func reused() throws {
        try withDirectory { directory in
            let first = try loadOrCreateSecret(in: directory)
            #expect(try loadOrCreateSecret(in: directory) == first)

            let file = directory.appendingPathComponent("secret.key")
            try Data().write(to: file)
            let remade = try loadOrCreateSecret(in: directory)
            #expect(remade != first)
            #expect(remade.utf8.count >= 32)
            #expect(try mode(file) == 0o600)
            #expect(try loadOrCreateSecret(in: directory) == remade)
        }
    }
}

import EcomAPI
import EcomClient
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CredentialsStoreTests {
    func mode(_ url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.posixPermissions] as! NSNumber).intValue & 0o777
    }

    func inode(_ url: URL) throws -> UInt64 {
        var info = stat()
        try #require(stat(url.path, &info) == 0)
        return UInt64(info.st_ino)
    }

    @Test("a saved session reads back, in a 0600 file inside a 0700 directory")
    func savesWithPrivateModes() async throws {
        let store = Fixtures.store()
        #expect(try store.session(for: Fixtures.server) == nil)
        try await store.modify { $0[CredentialsStore.key(for: Fixtures.server)] = Fixtures.session("a", refresh: "r") }
        #expect(try store.session(for: Fixtures.server) == Fixtures.session("a", refresh: "r"))
        #expect(try mode(store.file) == 0o600)
        #expect(try mode(store.directory) == 0o700)
        #expect(try mode(store.lockFile) == 0o600)
    }

    @Test("an existing directory with loose modes is tightened to 0700")
    func tightensDirectory() async throws {
        let store = Fixtures.store()
        try FileManager.default.createDirectory(at: store.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try await store.modify { $0["http://x"] = Fixtures.session("a", refresh: "r") }
        #expect(try mode(store.directory) == 0o700)
    }

    @Test("writes replace the file by rename, keep other servers' sessions, and leave no temporary file")
    func atomicReplace() async throws {
        let store = Fixtures.store()
        try await store.modify { $0["http://one"] = Fixtures.session("1", refresh: "r1") }
        let before = try inode(store.file)
        try await store.modify { $0["http://two"] = Fixtures.session("2", refresh: "r2") }
        #expect(try inode(store.file) != before)
        #expect(try store.session(for: URL(string: "http://one/")!) == Fixtures.session("1", refresh: "r1"))
        #expect(try store.session(for: URL(string: "http://two")!) == Fixtures.session("2", refresh: "r2"))
        let names = try FileManager.default.contentsOfDirectory(atPath: store.directory.path).sorted()
        #expect(names == ["credentials.json", "credentials.lock"])
    }

    @Test("a change that leaves the sessions as they were does not write")
    func noOpDoesNotWrite() async throws {
        let store = Fixtures.store()
        try await store.modify { $0["http://one"] = Fixtures.session("1", refresh: "r1") }
        let before = try inode(store.file)
        try await store.modify { _ in }
        #expect(try inode(store.file) == before)
    }

    @Test("the file is JSON keyed by server URL, with snake_case fields")
    func fileFormat() async throws {
        let store = Fixtures.store()
        try await store.modify { $0[CredentialsStore.key(for: Fixtures.server)] = Fixtures.session("a", refresh: "r") }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: store.file)) as? [String: Any])
        let servers = try #require(json["servers"] as? [String: Any])
        let entry = try #require(servers["http://store.test:8080"] as? [String: Any])
        #expect(entry["token"] as? String == "a")
        #expect(entry["refresh_token"] as? String == "r")
        #expect((entry["user"] as? [String: Any])?["email"] as? String == "ann@example.com")
    }

    @Test("a corrupt file is reported, not silently replaced")
    func corruptFile() async throws {
        let store = Fixtures.store()
        try FileManager.default.createDirectory(at: store.directory, withIntermediateDirectories: true)
        try Data("{not json".utf8).write(to: store.file)
        #expect(throws: CredentialsError.self) { try store.session(for: Fixtures.server) }
    }

    @Test("the file lives under XDG_CONFIG_HOME, else ~/.config")
    func standardLocation() {
        #expect(CredentialsStore.standard(environment: ["XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/a"]).file.path == "/x/cfg/ecom/credentials.json")
        #expect(CredentialsStore.standard(environment: ["HOME": "/home/a"]).file.path == "/home/a/.config/ecom/credentials.json")
        // A relative XDG_CONFIG_HOME is invalid by the spec and ignored.
        #expect(CredentialsStore.standard(environment: ["XDG_CONFIG_HOME": "cfg", "HOME": "/home/a"]).file.path == "/home/a/.config/ecom/credentials.json")
    }

    @Test("server keys ignore a trailing slash")
    func keys() {
        #expect(CredentialsStore.key(for: URL(string: "http://localhost:8080/")!) == "http://localhost:8080")
        #expect(CredentialsStore.key(for: URL(string: "https://shop.example/api")!) == "https://shop.example/api")
    }
}

@Suite struct FileLockTests {
    @Test("two holders of the lock never overlap, even in one process")
    func exclusive() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-lock-\(UUID().uuidString)")
        let log = LockLog()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in ["a", "b", "c"] {
                group.addTask {
                    try await FileLock.withExclusiveLock(on: file, timeout: .seconds(60)) {
                        await log.append("\(name)+")
                        try await Task.sleep(for: .milliseconds(50))
                        await log.append("\(name)-")
                    }
                }
            }
            try await group.waitForAll()
        }
        let entries = await log.entries
        #expect(entries.count == 6)
        for index in stride(from: 0, to: entries.count, by: 2) {
            #expect(entries[index].dropLast() == entries[index + 1].dropLast(), "\(entries)")
        }
    }

    @Test("waiting for a held lock gives up after the timeout")
    func timeout() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-lock-\(UUID().uuidString)")
        let error = try await FileLock.withExclusiveLock(on: file, timeout: .seconds(1)) {
            await #expect(throws: CredentialsError.self) {
                try await FileLock.withExclusiveLock(on: file, timeout: .milliseconds(100)) {}
            }
        }
        #expect(error?.localizedDescription == "\(file.path) is held by another ecom process (pid \(getpid()))")
    }

    @Test("a waiter waits as long as the holder said it would hold the lock, and no longer")
    func holderDeadline() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ecom-lock-\(UUID().uuidString)")
        // Within what the holder declared: the waiter outlasts its own 100 ms and gets the lock.
        try await withThrowingTaskGroup(of: Void.self) { group in
            let held = Counter()
            group.addTask {
                try await FileLock.withExclusiveLock(on: file, timeout: .seconds(1), holdingFor: .seconds(30)) {
                    held.next()
                    try await Task.sleep(for: .milliseconds(800))
                }
            }
            while held.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
            try await FileLock.withExclusiveLock(on: file, timeout: .milliseconds(100)) {}
            try await group.waitForAll()
        }
        // Past what the holder declared: the waiter gives up when the declared time is over.
        let started = ContinuousClock.now
        let error = try await FileLock.withExclusiveLock(on: file, timeout: .seconds(1), holdingFor: .milliseconds(500)) {
            await #expect(throws: CredentialsError.self) {
                try await FileLock.withExclusiveLock(on: file, timeout: .milliseconds(100)) {}
            }
        }
        #expect(error?.localizedDescription == "\(file.path) is held by another ecom process (pid \(getpid()))")
        #expect(ContinuousClock.now - started < .seconds(20))
    }
}

actor LockLog {
    var entries: [String] = []
    func append(_ entry: String) { entries.append(entry) }
}

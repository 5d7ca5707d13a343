import CArgon2
import Crypto
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Argon2id password hashing in PHC string format, through libargon2.
///
/// Each hash pins a core and allocates `memoryKiB`, so hashing runs on a thread pool of its
/// own whose size bounds how many happen at once; the event loops and the Swift concurrency
/// pool never block on it.
package final class PasswordHasher: Sendable {
    package struct Parameters: Sendable {
        package var memoryKiB: UInt32
        package var iterations: UInt32
        package var parallelism: UInt32

        /// OWASP's recommended minimum for Argon2id.
        package static let owasp = Parameters(memoryKiB: 19_456, iterations: 2, parallelism: 1)
    }

    package enum Failure: Error { case hashing(Int32) }

    private let parameters: Parameters
    private let threadPool: NIOThreadPool
    /// A real hash of a random password, verified against when an email is unknown so that
    /// "no such account" costs the same as "wrong password".
    private let decoy: String
    private let verifications = Atomic<Int>(0)

    /// How many verifications this hasher has run, decoys included: what the sign-in throttle bounds.
    package var verificationCount: Int { verifications.load(ordering: .relaxed) }

    package init(parameters: Parameters = .owasp, concurrency: Int = max(1, System.coreCount / 2)) {
        self.parameters = parameters
        self.threadPool = NIOThreadPool(numberOfThreads: concurrency)
        self.threadPool.start()
        self.decoy = (try? Self.hashNow(UUID().uuidString, parameters: parameters)) ?? ""
    }

    package func shutdown() async {
        try? await threadPool.shutdownGracefully()
    }

    package func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        return try await threadPool.runIfActive { try Self.hashNow(password, parameters: parameters) }
    }

    /// Whether `password` matches `encoded`; with `nil` it does the same work and answers false.
    package func verify(_ password: String, against encoded: String?) async throws -> Bool {
        let target = encoded ?? decoy
        verifications.add(1, ordering: .relaxed)
        let matches = try await threadPool.runIfActive { Self.verifyNow(password, encoded: target) }
        return encoded != nil && matches
    }

    static func hashNow(_ password: String, parameters: Parameters) throws -> String {
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        let hashLength = 32
        let encodedLength = argon2_encodedlen(
            parameters.iterations, parameters.memoryKiB, parameters.parallelism,
            UInt32(salt.count), UInt32(hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: encodedLength)
        let bytes = Array(password.utf8)
        let status = bytes.withUnsafeBytes { passwordBuffer in
            salt.withUnsafeBytes { saltBuffer in
                argon2id_hash_encoded(
                    parameters.iterations, parameters.memoryKiB, parameters.parallelism,
                    passwordBuffer.baseAddress, passwordBuffer.count,
                    saltBuffer.baseAddress, saltBuffer.count,
                    hashLength, &encoded, encodedLength)
            }
        }
        guard status == ARGON2_OK.rawValue else { throw Failure.hashing(status) }
        return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func verifyNow(_ password: String, encoded: String) -> Bool {
        let bytes = Array(password.utf8)
        return bytes.withUnsafeBytes { buffer in
            argon2id_verify(encoded, buffer.baseAddress, buffer.count) == ARGON2_OK.rawValue
        }
    }
}

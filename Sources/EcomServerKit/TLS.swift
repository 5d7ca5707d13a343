import AsyncHTTPClient
import NIOSSL
import Synchronization

/// The certificate chain and private key of an HTTPS listener, read from PEM files once, at start.
package struct ListenerTLS: Sendable, Equatable {
    package let certificateFile: String
    package let keyFile: String
    let configuration: TLSConfiguration

    /// Throws `TLSFilesError` naming the file that could not be read.
    package init(certificateFile: String, keyFile: String) throws {
        let chain = try pemCertificates(in: certificateFile)
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw TLSFilesError("cannot read a PEM private key from \(keyFile): \(error)")
        }
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        configuration = .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }

    package static func == (lhs: ListenerTLS, rhs: ListenerTLS) -> Bool {
        lhs.certificateFile == rhs.certificateFile && lhs.keyFile == rhs.keyFile
    }
}

/// The certificates of a PEM file, at least one; throws `TLSFilesError` naming the file.
private func pemCertificates(in file: String) throws -> [NIOSSLCertificate] {
    let certificates: [NIOSSLCertificate]
    do {
        certificates = try NIOSSLCertificate.fromPEMFile(file)
    } catch {
        throw TLSFilesError("cannot read PEM certificates from \(file): \(error)")
    }
    guard !certificates.isEmpty else { throw TLSFilesError("\(file) holds no PEM certificate") }
    return certificates
}

/// A TLS file that is missing or not what it should be.
package struct TLSFilesError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// How this process checks the certificates of the services it calls over `https`: fully (the
/// chain, and the name or address in the URL), against the system's authorities and those of a
/// file it was given (`ECOM_TLS_CA`), so that a private authority can sign the services'
/// certificates.
package enum PeerTLS {
    private static let authorities = Mutex<[NIOSSLCertificate]>([])

    /// Trusts the authorities in `file` (PEM) from now on, besides the system's.
    package static func trust(authoritiesIn file: String) throws {
        let certificates = try pemCertificates(in: file)
        authorities.withLock { $0 = certificates }
    }

    /// The client side's configuration, for `HTTPClient.Configuration.tlsConfiguration`.
    package static var clientConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        let extra = authorities.withLock { $0 }
        if !extra.isEmpty { configuration.additionalTrustRoots = [.certificates(extra)] }
        return configuration
    }
}

import Foundation

/// A PostgreSQL primary with a hot standby replicating from it synchronously, for one test
/// (`start_throwaway_postgres_pair` in `.ci/lib.sh`), on free loopback ports.
package final class PostgresPair: Sendable {
    package let directory: String
    /// A multi-host URL (`target_session_attrs=read-write`) that reaches whichever of the two
    /// accepts writes; it names database `postgres`.
    package let url: String

    /// Starts both and waits until the standby is synchronous; takes a few seconds.
    package static func start() async throws -> PostgresPair {
        let output = try await Shell.run(
            #"ECOM_CI_NO_TRAP=1 start_throwaway_postgres_pair >&2 && printf '%s\n' "$ECOM_TEST_POSTGRES_PAIR_DIR" "$ECOM_TEST_POSTGRES_PAIR_URL""#,
            timeout: .seconds(180))
        let lines = output.split(separator: "\n").map(String.init)
        guard lines.count >= 2, lines[lines.count - 1].hasPrefix("postgresql://") else {
            throw TestBrokerError("the PostgreSQL pair did not start: \(output)")
        }
        return PostgresPair(directory: lines[lines.count - 2], url: lines[lines.count - 1])
    }

    private init(directory: String, url: String) {
        self.directory = directory
        self.url = url
    }

    /// `url` naming database `name` instead.
    package func url(database name: String) -> String {
        url.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
    }

    /// Stops the primary as an operator would (`pg_ctl stop -m fast`): sessions are ended, and
    /// everything committed has reached the standby.
    package func stopPrimary() async throws { try await Shell.run("ecom_postgres_pair_stop_primary '\(directory)'") }

    /// Promotes the standby and waits until it accepts writes.
    package func promoteStandby() async throws { try await Shell.run("ecom_postgres_pair_promote '\(directory)'") }

    /// Stops both servers and deletes everything they had.
    package func remove() async {
        _ = try? await Shell.run("stop_throwaway_postgres_pair '\(directory)'")
    }
}

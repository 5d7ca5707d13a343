import ArgumentParser
import EcomAPI
import EcomClient
import Foundation
import Synchronization

/// A value Tab can offer, with what it names (a product's name for its id).
struct CompletionCandidate: Equatable, Sendable {
    var value: String
    var description: String
}

/// Argument values that only the server knows, named by the arguments' value names, so the REPL
/// (which reads argument-parser's description of the tree) and the shell scripts (which call back
/// into `ecom ---completion`) complete the same values.
enum ServerValues: String, CaseIterable, Sendable {
    case product = "product-id"
    case cartLine = "line-id"
    case order = "order-id"
    case user = "user"

    /// How long the REPL may reuse a fetched list: the catalog and the accounts change slowly,
    /// the cart and the orders with every command.
    var lifetime: Duration {
        switch self {
        case .product, .user: .seconds(30)
        case .cartLine, .order: .seconds(2)
        }
    }

    /// The candidates, through `client`; `admin` for the commands under `ecom admin`, whose
    /// order ids are every customer's.
    func fetch(_ client: GatewayClient, admin: Bool) async throws -> [CompletionCandidate] {
        switch self {
        case .product:
            try await Self.pages(admin ? { try await client.allProducts(page: $0) } : { try await client.products(page: $0) }) {
                CompletionCandidate(value: $0.id.lowercased, description: $0.name)
            }
        case .cartLine:
            try await client.cart().items.map { CompletionCandidate(value: $0.id.lowercased, description: "\($0.name) × \($0.quantity)") }
        case .order:
            try await Self.pages(admin ? { try await client.allOrders(page: $0) } : { try await client.orders(page: $0) }) {
                CompletionCandidate(value: $0.id.lowercased, description: "\($0.status.rawValue), \(Money.format($0.totalCents)), \(Self.day($0.createdAt))")
            }
        case .user:
            try await Self.pages({ try await client.users(page: $0) }) {
                CompletionCandidate(value: $0.email, description: $0.role.rawValue + ($0.disabled ? ", disabled" : ""))
            }
        }
    }

    /// The first few pages: enough to complete from, without walking a large table on every Tab.
    private static func pages<Item>(
        _ fetch: (PageRequest) async throws -> Page<Item>, _ candidate: (Item) -> CompletionCandidate
    ) async throws -> [CompletionCandidate] {
        var request = PageRequest(limit: Pagination.maximumLimit)
        var candidates: [CompletionCandidate] = []
        for _ in 0..<5 {
            let page = try await fetch(request)
            candidates += page.items.map(candidate)
            guard let next = page.nextCursor else { break }
            request.cursor = next
        }
        return candidates
    }

    private static func day(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day())
    }

    /// For the shell scripts: argument-parser runs this in `ecom ---completion …`. Asks the server
    /// named on the line (or by `ECOM_SERVER`) with the stored session, briefly; a server that is
    /// down, slow or refuses completes nothing and prints nothing.
    var completion: CompletionKind {
        .custom { words, _, prefix in await shellCandidates(words: words, prefix: prefix, shell: CompletionShell.requesting) }
    }

    func shellCandidates(words: [String], prefix: String, shell: CompletionShell?) async -> [String] {
        var options = GlobalOptions()
        options.server = Self.server(in: words)
        guard let server = try? options.serverURL() else { return [] }
        let client = GatewayClient(server: server, credentials: .standard(), timeout: Self.timeout)
        // Global options may come before the subcommand (`ecom --server URL admin orders ship`).
        let admin = words.dropFirst().first { !$0.hasPrefix("-") && $0 != options.server } == "admin"
        let fetched = await Self.first(within: Self.timeout) { try await fetch(client, admin: admin) } ?? []
        let typed = prefix.lowercased()
        return Self.format(fetched.filter { $0.value.lowercased().hasPrefix(typed) }, for: shell)
    }

    static let timeout = Duration.seconds(2)

    /// zsh and fish show a description beside each value; bash takes the values alone.
    static func format(_ candidates: [CompletionCandidate], for shell: CompletionShell?) -> [String] {
        let oneLine = { (text: String) in String(text.map { $0 == "\t" || $0.isNewline ? " " : $0 }) }
        return candidates.map { candidate in
            switch shell {
            case .zsh?:
                candidate.value.replacing("\\", with: "\\\\").replacing(":", with: "\\:") + ":" + oneLine(candidate.description)
            case .fish?:
                candidate.value + "\t" + oneLine(candidate.description)
            default:
                candidate.value
            }
        }
    }

    /// `--server URL` or `--server=URL` among the shell's words (verbatim, so unquoted here).
    static func server(in words: [String]) -> String? {
        var found: String?
        for (index, word) in words.enumerated() {
            if word == "--server", index + 1 < words.count {
                found = words[index + 1]
            } else if word.hasPrefix("--server=") {
                found = String(word.dropFirst("--server=".count))
            }
        }
        return found.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) }
    }

    /// `body`'s result, or nil when it fails or takes longer than `limit`; the request is left to
    /// finish on its own, since the process ends once the candidates are printed.
    static func first<T: Sendable>(within limit: Duration, _ body: @escaping @Sendable () async throws -> T) async -> T? {
        let once = Once()
        return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            Task {
                let value = try? await body()
                if once.claim() { continuation.resume(returning: value) }
            }
            Task {
                try? await Task.sleep(for: limit)
                if once.claim() { continuation.resume(returning: nil) }
            }
        }
    }
}

/// True for the first caller only.
private final class Once: Sendable {
    private let claimed = Mutex(false)

    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}

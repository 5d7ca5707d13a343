import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand.Admin {
    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "users",
            abstract: "List accounts, grant or revoke the admin role, disable or enable an account.",
            subcommands: [List.self, GrantAdmin.self, RevokeAdmin.self, Disable.self, Enable.self])
    }
}

/// An account named by its id, the start of its id, or its email address.
enum UserReference: Equatable {
    case id(IDReference)
    case email(String)

    /// The `transform` of account arguments.
    static func parse(_ argument: String) throws -> UserReference {
        if argument.contains("@") { return .email(argument) }
        do {
            return .id(try IDReference.parse(argument))
        } catch {
            throw ValidationError("give the account's email, its id, or at least \(IDReference.minimumPrefixLength) characters of the id")
        }
    }

    /// The account's id; the server finds an id prefix, and an email is looked up in the list of accounts.
    func resolve(with client: GatewayClient) async throws -> UUID {
        switch self {
        case .id(let reference):
            return try await reference.resolve(
                "account", find: { match, page in try await client.users(match: match, page: page) }, id: \.id, label: \.email)
        case .email(let email):
            var page = PageRequest(limit: Pagination.maximumLimit)
            while true {
                let users = try await client.users(page: page)
                if let user = users.items.first(where: { $0.email.caseInsensitiveCompare(email) == .orderedSame }) { return user.id }
                guard let next = users.nextCursor else { throw CommandFailure("no account with the email \(email)") }
                page.cursor = next
            }
        }
    }
}

/// The arguments and the run of the commands that change one account.
protocol UserUpdateCommand: AsyncParsableCommand {
    var options: GlobalOptions { get }
    var user: UserReference { get }
    var update: UserUpdate { get }
}

extension UserUpdateCommand {
    func run() async throws {
        let client = try options.client()
        try options.output.show(try await client.updateUser(try await user.resolve(with: client), update))
    }
}

extension EcomCommand.Admin.Users {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the accounts, oldest first.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @OptionGroup(title: "Paging") var page: PageOptions

        func run() async throws {
            let client = try options.client()
            try await page.show(options.output, noun: "accounts") { try await client.users(page: $0) }
        }
    }

    struct GrantAdmin: UserUpdateCommand {
        static let configuration = CommandConfiguration(commandName: "grant-admin", abstract: "Give an account the admin role.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The account's email, id, or the start of its id.", valueName: "user"), completion: ServerValues.user.completion, transform: UserReference.parse)
        var user: UserReference
        var update: UserUpdate { UserUpdate(role: .admin) }
    }

    struct RevokeAdmin: UserUpdateCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-admin", abstract: "Take the admin role from an account.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The account's email, id, or the start of its id.", valueName: "user"), completion: ServerValues.user.completion, transform: UserReference.parse)
        var user: UserReference
        var update: UserUpdate { UserUpdate(role: .user) }
    }

    struct Disable: UserUpdateCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable",
            abstract: "Disable an account: it cannot sign in, and its sessions end within 15 minutes.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The account's email, id, or the start of its id.", valueName: "user"), completion: ServerValues.user.completion, transform: UserReference.parse)
        var user: UserReference
        var update: UserUpdate { UserUpdate(disabled: true) }
    }

    struct Enable: UserUpdateCommand {
        static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable a disabled account again.")
        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Argument(help: ArgumentHelp("The account's email, id, or the start of its id.", valueName: "user"), completion: ServerValues.user.completion, transform: UserReference.parse)
        var user: UserReference
        var update: UserUpdate { UserUpdate(disabled: false) }
    }
}

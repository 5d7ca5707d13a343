import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

extension EcomCommand {
    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register",
            abstract: "Create an account.",
            discussion: "The password is asked twice without echo, or read from --password-stdin. Sign in afterwards with `ecom login`.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Option(help: ArgumentHelp("The account's email address (asked when omitted on a terminal).", valueName: "email"))
        var email: String?
        @OptionGroup var password: PasswordOptions

        func validate() throws {
            try Login.checkEmail(email, password: password)
        }

        func run() async throws {
            let output = options.output
            let client = try options.client()
            let email = try await Login.email(email)
            let user = try await client.register(email: email, password: try await password.read(output, confirm: true))
            if output.isJSON { try output.show(user) }
            output.message("Registered \(user.email). Sign in with `ecom login --email \(user.email)`.")
        }
    }

    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "login",
            abstract: "Sign in and keep the session for this server.",
            discussion: """
                The password is asked without echo, or read from --password-stdin. The session is \
                kept in the credentials file and its access token renewed as needed.
                """)

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Option(help: ArgumentHelp("The account's email address (asked when omitted on a terminal).", valueName: "email"))
        var email: String?
        @OptionGroup var password: PasswordOptions

        func validate() throws {
            try Self.checkEmail(email, password: password)
        }

        /// An email may be left out only when a person at the terminal can be asked for it.
        static func checkEmail(_ email: String?, password: PasswordOptions) throws {
            if email == nil && (password.passwordStdin || !Terminal.isInteractive) {
                throw ValidationError("--email is required unless a terminal can be asked for it")
            }
        }

        /// The email given, else the answer to a prompt.
        static func email(_ given: String?) async throws -> String {
            if let given { return given }
            return try await Terminal.ask("Email: ")
        }

        func run() async throws {
            let output = options.output
            let client = try options.client()
            let email = try await Self.email(email)
            let user = try await client.login(email: email, password: try await password.read(output, confirm: false))
            if output.isJSON { try output.show(user) }
            output.message("Logged in to \(client.serverName) as \(user.email) (\(user.role.rawValue)).")
        }
    }

    struct Logout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logout",
            abstract: "Sign out: revoke the session on the server and forget it here.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions

        func run() async throws {
            let client = try options.client()
            let loggedOut = try await client.logout()
            options.output.showNoContent()
            if loggedOut {
                options.output.message("Logged out of \(client.serverName).")
            } else {
                options.output.message("Not logged in to \(client.serverName).")
            }
        }
    }

    struct Whoami: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Show the signed-in account.")

        @OptionGroup(title: "Global Options") var options: GlobalOptions

        func run() async throws {
            try options.output.show(try await options.client().me())
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "passwd",
            abstract: "Change your password.",
            discussion: """
                Asks for the current and the new password without echo. With --password-stdin, \
                reads the current password from the first line of standard input and the new one \
                from the second. Other sessions of the account are signed out.
                """)

        @OptionGroup(title: "Global Options") var options: GlobalOptions
        @Flag(help: "Read the current and the new password from the first two lines of standard input.")
        var passwordStdin = false

        func validate() throws {
            if !passwordStdin && !Terminal.isInteractive {
                throw ValidationError("no terminal to ask for passwords; use --password-stdin")
            }
        }

        func run() async throws {
            let current: String
            let new: String
            if passwordStdin {
                current = try await Terminal.readLineFromStandardInput(what: "current password")
                new = try await Terminal.readLineFromStandardInput(what: "new password")
            } else {
                current = try await Terminal.readSecret("Current password: ")
                new = try await PasswordOptions.readConfirmed(prompt: "New password: ", confirmation: "Confirm new password: ")
            }
            try await options.client().changePassword(current: current, new: new)
            options.output.message("Password changed.")
        }
    }
}

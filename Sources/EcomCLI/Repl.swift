import ArgumentParser

extension EcomCommand {
    struct Repl: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "repl",
            abstract: "Run commands in an interactive shell with line editing, history and completion.",
            discussion: """
                Type any command without the `ecom` prefix (`products list`, `cart add ID`), \
                `help [COMMAND]` for help, and `exit`, `quit` or Ctrl-D to leave. Plain `ecom` \
                starts the shell too when standard input and output are a terminal. The prompt \
                shows the server (unless it is the default) and the signed-in account. A failing \
                command prints its error and the shell goes on. Words are quoted as in a shell: \
                `admin products create --name "Gaming Laptop" --price 999`.

                Tab completes commands, options and their values: product, cart line and order \
                ids (listed with what they name, from the server), account emails and file \
                names; Up and Down walk the history; Ctrl-C clears the line, or stops the command running (an order \
                stays placed). Keys are emacs-like; `bind -v` in ~/.editrc turns on vi keys. The \
                history is kept in $XDG_STATE_HOME/ecom/history (default \
                ~/.local/state/ecom/history), mode 0600, at most 1000 lines, never with a line \
                that carries a password (`--password`, `passwd`) or starts with a space.

                When standard input is not a terminal, the shell reads one command per line from \
                it, with no prompt and no history, and exits with the status of the last command \
                that failed, or 0: `printf 'products list\\ncart show\\n' | ecom repl`. Global \
                options given to `repl` apply to every command.
                """)

        @OptionGroup(title: "Global Options") var options: GlobalOptions

        func run() async throws {
            let status = await ReplSession(options: options).run()
            if status != 0 { throw ExitCode(status) }
        }
    }
}

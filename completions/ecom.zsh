#compdef ecom

__ecom_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__ecom_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __ecom_complete "${completions[@]:0:-1}"
    fi
}

__ecom_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_ecom() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'repl:Run commands in an interactive shell with line editing, history and completion.'
            'register:Create an account.'
            'login:Sign in and keep the session for this server.'
            'logout:Sign out: revoke the session on the server and forget it here.'
            'whoami:Show the signed-in account.'
            'passwd:Change your password.'
            'products:Browse the catalog.'
            'cart:Fill and empty your cart.'
            'order:Check out and follow your orders.'
            'listen:Print the store'\''s events as they happen.'
            'admin:Run the store: catalog, orders, accounts and parked events (admins only).'
            'serve:Run the ecom backend: the gateway and its services.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        repl|register|login|logout|whoami|passwd|products|cart|order|listen|admin|serve|help)
            "_ecom_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_repl() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_register() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--email[The account'\''s email address (asked when omitted on a terminal).]:email:'
        '--password-stdin[Read the password from the first line of standard input.]'
        '--password[The password (visible to other users of this machine; prefer the prompt or --password-stdin).]:password:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_login() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--email[The account'\''s email address (asked when omitted on a terminal).]:email:'
        '--password-stdin[Read the password from the first line of standard input.]'
        '--password[The password (visible to other users of this machine; prefer the prompt or --password-stdin).]:password:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_logout() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_whoami() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_passwd() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--password-stdin[Read the current and the new password from the first two lines of standard input.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_products() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'list:List the products on sale.'
            'show:Show one product.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|show)
            "_ecom_products_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_products_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '(-s --search)'{-s,--search}'[Only products whose name or description contains this text.]:text:'
        '--limit[Items per page, 1 to 100 (default\: 20; 100 with --all).]:n:'
        '--cursor[Start at this cursor (printed as '\''next cursor'\'' by an earlier page).]:cursor:'
        '--all[Follow every cursor and print all items.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_products_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':product-id:{__ecom_custom_complete ---completion products show -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_cart() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'show:Show the cart'\''s lines and total.'
            'add:Put a product in the cart.'
            'set:Change the quantity of a cart line.'
            'remove:Take a line out of the cart.'
            'clear:Empty the cart.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        show|add|set|remove|clear)
            "_ecom_cart_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_cart_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_cart_add() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':product-id:{__ecom_custom_complete ---completion cart add -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--quantity[How many units.]:n:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_cart_set() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':line-id:{__ecom_custom_complete ---completion cart set -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        ':quantity:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_cart_remove() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':line-id:{__ecom_custom_complete ---completion cart remove -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_cart_clear() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '(-y --yes)'{-y,--yes}'[Do not ask for confirmation (required when standard input is not a terminal).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_order() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'create:Check out the cart as an order.'
            'list:List your orders, newest first.'
            'show:Show one of your orders and its lines.'
            'watch:Follow an order until it is delivered, rejected or cancelled.'
            'cancel:Cancel a pending or confirmed order; its stock goes back on sale.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        create|list|show|watch|cancel)
            "_ecom_order_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_order_create() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--no-wait[Return as soon as the order is placed, while it is still pending.]'
        '--wait-timeout[Seconds to wait for the order to leave pending.]:seconds:'
        '--idempotency-key[A key naming this checkout; repeating it returns the same order.]:key:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_order_list() {
    local -i ret=1
    local -ar ___status=('pending' 'confirmed' 'rejected' 'cancelled' 'shipped' 'delivered')
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--status[Only orders in this status.]:status:{__ecom_complete "${___status[@]}"}'
        '--limit[Items per page, 1 to 100 (default\: 20; 100 with --all).]:n:'
        '--cursor[Start at this cursor (printed as '\''next cursor'\'' by an earlier page).]:cursor:'
        '--all[Follow every cursor and print all items.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_order_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':order-id:{__ecom_custom_complete ---completion order show -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_order_watch() {
    local -i ret=1
    local -ar ___until=('pending' 'confirmed' 'rejected' 'cancelled' 'shipped' 'delivered')
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':order-id:{__ecom_custom_complete ---completion order watch -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--until[Stop once the order is confirmed, shipped or delivered, as named, or anything after it.]:status:{__ecom_complete "${___until[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_order_cancel() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':order-id:{__ecom_custom_complete ---completion order cancel -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '(-y --yes)'{-y,--yes}'[Do not ask for confirmation (required when standard input is not a terminal).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_listen() {
    local -i ret=1
    local -ar ___types=('order.*' 'order.created' 'order.confirmed' 'order.rejected' 'order.cancelled' 'order.shipped' 'order.delivered' 'stock.*' 'stock.reserved' 'stock.rejected' 'stock.changed' 'stock.low' 'product.*' 'product.created' 'product.changed' 'product.archived' '#')
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--types[Only events of these types\: order.created, order.* (one word), stock.# or # (any words); separate with commas or spaces.]:pattern:{__ecom_complete "${___types[@]}"}'
        '--order[Only the events of this order (its id, or the start of it).]:order-id:{__ecom_custom_complete ---completion listen -- --order "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--after[Start after this stream id, from the events the store keeps (0\: all of them).]:id:'
        '--forward-to[Also POST each event to this URL, signed as a webhook delivery.]:url:'
        '--forward-secret[The secret --forward-to signs with (default\: a new one, printed at the start).]:secret:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'products:Manage the catalog.'
            'orders:Follow every customer'\''s orders and move them through shipping.'
            'users:List accounts, grant or revoke the admin role, disable or enable an account.'
            'events:See and retry events a service stopped retrying (parked).'
            'dead-letters:See, replay or discard what RabbitMQ'\''s dead-letter queue holds.'
            'webhooks:Send store events to your endpoints, signed and retried.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        products|orders|users|events|dead-letters|webhooks)
            "_ecom_admin_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_admin_products() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'list:List every product, including inactive and archived ones.'
            'show:Show one product, on sale or not, with its stock and state.'
            'create:Add a product to the catalog.'
            'update:Change a product; what is not given stays as it is.'
            'delete:Archive a product: it leaves the catalog; past orders keep it.'
            'stock:Add or remove units, with a reason kept in the stock ledger.'
            'import:Create or update products from a catalog file, matched by SKU.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|show|create|update|delete|stock|import)
            "_ecom_admin_products_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_admin_products_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '(-s --search)'{-s,--search}'[Only products whose name or description contains this text.]:text:'
        '--limit[Items per page, 1 to 100 (default\: 20; 100 with --all).]:n:'
        '--cursor[Start at this cursor (printed as '\''next cursor'\'' by an earlier page).]:cursor:'
        '--all[Follow every cursor and print all items.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_products_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':product-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_products_create() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--name[The product'\''s name.]:name:'
        '--price[The price in dollars, like 19.99.]:price:'
        '--sku[A unique stock-keeping unit (made from the id when omitted).]:sku:'
        '--description[What the product is.]:text:'
        '--stock[Units on hand at first.]:n:'
        '--low-stock[Announce stock.low when its available units fall below n (the store'\''s threshold when omitted).]:n:'
        '--active[Put the product on sale.]'
        '--inactive[Take the product off sale (it stays in the catalog).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_products_update() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':product-id:{__ecom_custom_complete ---completion admin products update -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--name[A new name.]:name:'
        '--price[A new price in dollars, like 19.99.]:price:'
        '--sku[A new SKU.]:sku:'
        '--description[A new description.]:text:'
        '--stock[Set the units on hand (not below what orders hold).]:n:'
        '--low-stock[Announce stock.low when its available units fall below n; `default` for the store'\''s threshold.]:n|default:'
        '--active[Put the product on sale.]'
        '--inactive[Take the product off sale (it stays in the catalog).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_products_delete() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':product-id:{__ecom_custom_complete ---completion admin products delete -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '(-y --yes)'{-y,--yes}'[Do not ask for confirmation (required when standard input is not a terminal).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_products_stock() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':product-id:{__ecom_custom_complete ---completion admin products stock -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--delta[Units to add (negative to remove).]:n:'
        '--reason[Why the stock changes.]:text:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_products_import() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':file:_files -g '\''*.json'\'''
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_orders() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'list:List all orders, newest first.'
            'show:Show any customer'\''s order, its lines and the customer'\''s account.'
            'ship:Mark a confirmed order shipped.'
            'deliver:Mark a shipped order delivered.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|show|ship|deliver)
            "_ecom_admin_orders_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_admin_orders_list() {
    local -i ret=1
    local -ar ___status=('pending' 'confirmed' 'rejected' 'cancelled' 'shipped' 'delivered')
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--status[Only orders in this status.]:status:{__ecom_complete "${___status[@]}"}'
        '--limit[Items per page, 1 to 100 (default\: 20; 100 with --all).]:n:'
        '--cursor[Start at this cursor (printed as '\''next cursor'\'' by an earlier page).]:cursor:'
        '--all[Follow every cursor and print all items.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_orders_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':order-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_orders_ship() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':order-id:{__ecom_custom_complete ---completion admin orders ship -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_orders_deliver() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':order-id:{__ecom_custom_complete ---completion admin orders deliver -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_users() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'list:List the accounts, oldest first.'
            'grant-admin:Give an account the admin role.'
            'revoke-admin:Take the admin role from an account.'
            'disable:Disable an account: it cannot sign in, and its sessions end within 15 minutes.'
            'enable:Enable a disabled account again.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|grant-admin|revoke-admin|disable|enable)
            "_ecom_admin_users_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_admin_users_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--limit[Items per page, 1 to 100 (default\: 20; 100 with --all).]:n:'
        '--cursor[Start at this cursor (printed as '\''next cursor'\'' by an earlier page).]:cursor:'
        '--all[Follow every cursor and print all items.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_users_grant-admin() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':user:{__ecom_custom_complete ---completion admin users grant-admin -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_users_revoke-admin() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':user:{__ecom_custom_complete ---completion admin users revoke-admin -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_users_disable() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':user:{__ecom_custom_complete ---completion admin users disable -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_users_enable() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':user:{__ecom_custom_complete ---completion admin users enable -- positional@0 "${current_word_index}" "$(__ecom_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_events() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'list:List parked events: of one service, or of every service.'
            'retry:Deliver a parked event to its service again.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|retry)
            "_ecom_admin_events_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_admin_events_list() {
    local -i ret=1
    local -ar _service=('products' 'cart' 'orders' 'notifications')
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':service:{__ecom_complete "${_service[@]}"}'
        '--limit[Items per page, 1 to 100 (default\: 20; 100 with --all).]:n:'
        '--cursor[Start at this cursor (printed as '\''next cursor'\'' by an earlier page).]:cursor:'
        '--all[Follow every cursor and print all items.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_events_retry() {
    local -i ret=1
    local -ar _service=('products' 'cart' 'orders' 'notifications')
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':service:{__ecom_complete "${_service[@]}"}'
        ':event-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_dead-letters() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'list:List the dead letters, oldest first; they stay in the queue.'
            'replay:Publish dead letters again to the events exchange, then take them out of the queue.'
            'discard:Take dead letters out of the queue for good.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|replay|discard)
            "_ecom_admin_dead-letters_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_admin_dead-letters_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--amqp-url[The broker'\''s URL, a cluster'\''s nodes as URL,URL… (default\: $RABBITMQ_URL).]:url:'
        '--limit[List at most this many (default\: 100).]:n:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_dead-letters_replay() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--amqp-url[The broker'\''s URL, a cluster'\''s nodes as URL,URL… (default\: $RABBITMQ_URL).]:url:'
        '*:id:'
        '--all[Every dead letter.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_dead-letters_discard() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--amqp-url[The broker'\''s URL, a cluster'\''s nodes as URL,URL… (default\: $RABBITMQ_URL).]:url:'
        '*:id:'
        '--all[Every dead letter.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_webhooks() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'add:Add an endpoint; its signing secret is shown once.'
            'list:List the endpoints.'
            'show:Show one endpoint.'
            'disable:Stop deliveries to an endpoint; its events wait until it is enabled.'
            'enable:Resume deliveries to an endpoint, its failure count cleared.'
            'delete:Delete an endpoint and its delivery log.'
            'test:Send an endpoint a webhook.test event; see it with `deliveries`.'
            'deliveries:An endpoint'\''s delivery log, newest first: attempts, status, time.'
            'rotate-secret:Give an endpoint a new secret; the old one still signs for 24 hours.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        add|list|show|disable|enable|delete|test|deliveries|rotate-secret)
            "_ecom_admin_webhooks_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_ecom_admin_webhooks_add() {
    local -i ret=1
    local -ar ___types=('order.*' 'order.created' 'order.confirmed' 'order.rejected' 'order.cancelled' 'order.shipped' 'order.delivered' 'stock.*' 'stock.reserved' 'stock.rejected' 'stock.changed' 'stock.low' 'product.*' 'product.created' 'product.changed' 'product.archived' '#')
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':url:'
        '--types[Only these event types or patterns (order.*, stock.low, #); all by default.]:pattern:{__ecom_complete "${___types[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_webhooks_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_webhooks_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':endpoint-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_webhooks_disable() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':endpoint-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_webhooks_enable() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':endpoint-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_webhooks_delete() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':endpoint-id:'
        '(-y --yes)'{-y,--yes}'[Do not ask for confirmation (required when standard input is not a terminal).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_webhooks_test() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':endpoint-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_webhooks_deliveries() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':endpoint-id:'
        '--limit[Items per page, 1 to 100 (default\: 20; 100 with --all).]:n:'
        '--cursor[Start at this cursor (printed as '\''next cursor'\'' by an earlier page).]:cursor:'
        '--all[Follow every cursor and print all items.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_admin_webhooks_rotate-secret() {
    local -i ret=1
    local -ar arg_specs=(
        '--server[The gateway'\''s URL (default\: $ECOM_SERVER, else http\://localhost\:8080).]:url:'
        '--json[Print the API'\''s JSON on standard output\: an object, or an array for lists.]'
        '--fields[Print only these fields of each JSON object, comma-separated, like id,name,price_cents (implies --json).]:fields:'
        '--jq[Filter the JSON with a jq expression (implies --json); strings print without quotes, like `jq -r`.]:expression:'
        '(-q --quiet)'{-q,--quiet}'[Print no progress or confirmation messages.]'
        '--no-color[Never color the output (as does setting NO_COLOR).]'
        '--no-pager[Never show long tables through a pager ($ECOM_PAGER, else $PAGER, else less -FRX).]'
        ':endpoint-id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_serve() {
    local -i ret=1
    local -ar ___amqp_queue_type=('classic' 'quorum')
    local -ar ___log_level=('trace' 'debug' 'info' 'notice' 'warning' 'error' 'critical')
    local -ar arg_specs=(
        '--only[Run only these services (gateway, users, products, cart, orders, notifications).]:service:'
        '--host[Address the gateway listens on.]:address:'
        '--port[Port of the gateway.]:port:'
        '--service-host[Address the services listen on.]:address:'
        '--database-url[PostgreSQL URL; omit for the embedded database.]:url:'
        '--amqp-url[RabbitMQ URL (amqp\://user\:password@host\:port/vhost, amqps\:// for TLS) for events; a cluster'\''s nodes'\'' URLs separated by commas.]:url:'
        '--amqp-queue-type[Type of the RabbitMQ queues\: classic, or quorum (replicated in a cluster).]:type:{__ecom_complete "${___amqp_queue_type[@]}"}'
        '--data-dir[Directory of the embedded database and key (default\: $XDG_DATA_HOME/ecom).]:path:'
        '--log-level[Log level\: trace, debug, info, notice, warning, error.]:level:{__ecom_complete "${___log_level[@]}"}'
        '--write-units[Write systemd units, one per service (those of --only), and ecom.target, into this directory ('\''-'\'' prints them), then exit.]:directory:_files -/'
        '--unit-executable[The ecom the written units start (default\: this one).]:path:_files'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_ecom_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _ecom ]]; then
    _ecom "${@}"
else
    compdef _ecom ecom
fi

#!/bin/bash

__ecom_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__ecom_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__ecom_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__ecom_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_ecom() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    repl|register|login|logout|whoami|passwd|products|cart|order|listen|admin|serve|help)
        # Offer subcommand argument completions
        "_ecom_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'repl register login logout whoami passwd products cart order listen admin serve help' -- "${cur}"))
        ;;
    esac
}

_ecom_repl() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_register() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --password-stdin --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --email --password)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--email')
        return
        ;;
    '--password')
        return
        ;;
    esac
}

_ecom_login() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --password-stdin --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --email --password)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--email')
        return
        ;;
    '--password')
        return
        ;;
    esac
}

_ecom_logout() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_whoami() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_passwd() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --password-stdin --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_products() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|show)
        # Offer subcommand argument completions
        "_ecom_products_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list show' -- "${cur}"))
        ;;
    esac
}

_ecom_products_list() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --all --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq -s --search --limit --cursor)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '-s'|'--search')
        return
        ;;
    '--limit')
        return
        ;;
    '--cursor')
        return
        ;;
    esac
}

_ecom_products_show() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion products show -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_cart() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    show|add|set|remove|clear)
        # Offer subcommand argument completions
        "_ecom_cart_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'show add set remove clear' -- "${cur}"))
        ;;
    esac
}

_ecom_cart_show() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_cart_add() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --quantity)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--quantity')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion cart add -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_cart_set() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion cart set -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_cart_remove() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion cart remove -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_cart_clear() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager -y --yes --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_order() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|list|show|watch|cancel)
        # Offer subcommand argument completions
        "_ecom_order_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create list show watch cancel' -- "${cur}"))
        ;;
    esac
}

_ecom_order_create() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --no-wait --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --wait-timeout --idempotency-key)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--wait-timeout')
        return
        ;;
    '--idempotency-key')
        return
        ;;
    esac
}

_ecom_order_list() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --all --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --status --limit --cursor)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--status')
        __ecom_add_completions -W 'pending'$'\n''confirmed'$'\n''rejected'$'\n''cancelled'$'\n''shipped'$'\n''delivered'
        return
        ;;
    '--limit')
        return
        ;;
    '--cursor')
        return
        ;;
    esac
}

_ecom_order_show() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion order show -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_order_watch() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --until)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--until')
        __ecom_add_completions -W 'pending'$'\n''confirmed'$'\n''rejected'$'\n''cancelled'$'\n''shipped'$'\n''delivered'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion order watch -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_order_cancel() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager -y --yes --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion order cancel -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_listen() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=(--types)
    non_repeating_options=(--server --fields --jq --order --after --forward-to --forward-secret)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--types')
        __ecom_add_completions -W 'order.*'$'\n''order.created'$'\n''order.confirmed'$'\n''order.rejected'$'\n''order.cancelled'$'\n''order.shipped'$'\n''order.delivered'$'\n''stock.*'$'\n''stock.reserved'$'\n''stock.rejected'$'\n''stock.changed'$'\n''stock.low'$'\n''product.*'$'\n''product.created'$'\n''product.changed'$'\n''product.archived'$'\n''#'
        return
        ;;
    '--order')
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion listen -- --order "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    '--after')
        return
        ;;
    '--forward-to')
        return
        ;;
    '--forward-secret')
        return
        ;;
    esac
}

_ecom_admin() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    products|orders|users|events|dead-letters|webhooks)
        # Offer subcommand argument completions
        "_ecom_admin_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'products orders users events dead-letters webhooks' -- "${cur}"))
        ;;
    esac
}

_ecom_admin_products() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|show|create|update|delete|stock|import)
        # Offer subcommand argument completions
        "_ecom_admin_products_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list show create update delete stock import' -- "${cur}"))
        ;;
    esac
}

_ecom_admin_products_list() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --all --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq -s --search --limit --cursor)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '-s'|'--search')
        return
        ;;
    '--limit')
        return
        ;;
    '--cursor')
        return
        ;;
    esac
}

_ecom_admin_products_show() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_admin_products_create() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --active --inactive --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --name --price --sku --description --stock --low-stock)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--name')
        return
        ;;
    '--price')
        return
        ;;
    '--sku')
        return
        ;;
    '--description')
        return
        ;;
    '--stock')
        return
        ;;
    '--low-stock')
        return
        ;;
    esac
}

_ecom_admin_products_update() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --active --inactive --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --name --price --sku --description --stock --low-stock)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--name')
        return
        ;;
    '--price')
        return
        ;;
    '--sku')
        return
        ;;
    '--description')
        return
        ;;
    '--stock')
        return
        ;;
    '--low-stock')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion admin products update -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_admin_products_delete() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager -y --yes --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion admin products delete -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_admin_products_stock() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --delta --reason)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--delta')
        return
        ;;
    '--reason')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion admin products stock -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_admin_products_import() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -o plusdirs -fX '!*.@(json)'
        return
        ;;
    esac
}

_ecom_admin_orders() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|show|ship|deliver)
        # Offer subcommand argument completions
        "_ecom_admin_orders_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list show ship deliver' -- "${cur}"))
        ;;
    esac
}

_ecom_admin_orders_list() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --all --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --status --limit --cursor)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--status')
        __ecom_add_completions -W 'pending'$'\n''confirmed'$'\n''rejected'$'\n''cancelled'$'\n''shipped'$'\n''delivered'
        return
        ;;
    '--limit')
        return
        ;;
    '--cursor')
        return
        ;;
    esac
}

_ecom_admin_orders_show() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_admin_orders_ship() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion admin orders ship -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_admin_orders_deliver() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion admin orders deliver -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_admin_users() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|grant-admin|revoke-admin|disable|enable)
        # Offer subcommand argument completions
        "_ecom_admin_users_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list grant-admin revoke-admin disable enable' -- "${cur}"))
        ;;
    esac
}

_ecom_admin_users_list() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --all --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --limit --cursor)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--limit')
        return
        ;;
    '--cursor')
        return
        ;;
    esac
}

_ecom_admin_users_grant-admin() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion admin users grant-admin -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_admin_users_revoke-admin() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion admin users revoke-admin -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_admin_users_disable() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion admin users disable -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_admin_users_enable() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W "$(__ecom_custom_complete ---completion admin users enable -- positional@0 "${COMP_CWORD}" "$(__ecom_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ecom_admin_events() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|retry)
        # Offer subcommand argument completions
        "_ecom_admin_events_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list retry' -- "${cur}"))
        ;;
    esac
}

_ecom_admin_events_list() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --all --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --limit --cursor)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--limit')
        return
        ;;
    '--cursor')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W 'products'$'\n''cart'$'\n''orders'$'\n''notifications'
        return
        ;;
    esac
}

_ecom_admin_events_retry() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ecom_add_completions -W 'products'$'\n''cart'$'\n''orders'$'\n''notifications'
        return
        ;;
    esac
}

_ecom_admin_dead-letters() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|replay|discard)
        # Offer subcommand argument completions
        "_ecom_admin_dead-letters_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list replay discard' -- "${cur}"))
        ;;
    esac
}

_ecom_admin_dead-letters_list() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --amqp-url --limit)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--amqp-url')
        return
        ;;
    '--limit')
        return
        ;;
    esac
}

_ecom_admin_dead-letters_replay() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --all --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --amqp-url)
    __ecom_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--amqp-url')
        return
        ;;
    esac
}

_ecom_admin_dead-letters_discard() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --all --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --amqp-url)
    __ecom_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--amqp-url')
        return
        ;;
    esac
}

_ecom_admin_webhooks() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    add|list|show|disable|enable|delete|test|deliveries|rotate-secret)
        # Offer subcommand argument completions
        "_ecom_admin_webhooks_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'add list show disable enable delete test deliveries rotate-secret' -- "${cur}"))
        ;;
    esac
}

_ecom_admin_webhooks_add() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=(--types)
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--types')
        __ecom_add_completions -W 'order.*'$'\n''order.created'$'\n''order.confirmed'$'\n''order.rejected'$'\n''order.cancelled'$'\n''order.shipped'$'\n''order.delivered'$'\n''stock.*'$'\n''stock.reserved'$'\n''stock.rejected'$'\n''stock.changed'$'\n''stock.low'$'\n''product.*'$'\n''product.created'$'\n''product.changed'$'\n''product.archived'$'\n''#'
        return
        ;;
    esac
}

_ecom_admin_webhooks_list() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_admin_webhooks_show() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_admin_webhooks_disable() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_admin_webhooks_enable() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_admin_webhooks_delete() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager -y --yes --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_admin_webhooks_test() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_admin_webhooks_deliveries() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --all --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq --limit --cursor)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    '--limit')
        return
        ;;
    '--cursor')
        return
        ;;
    esac
}

_ecom_admin_webhooks_rotate-secret() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --no-color --no-pager --version -h --help)
    repeating_options=()
    non_repeating_options=(--server --fields --jq)
    __ecom_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--server')
        return
        ;;
    '--fields')
        return
        ;;
    '--jq')
        return
        ;;
    esac
}

_ecom_serve() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--only)
    non_repeating_options=(--host --port --service-host --database-url --amqp-url --amqp-queue-type --data-dir --log-level --write-units --unit-executable)
    __ecom_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--only')
        return
        ;;
    '--host')
        return
        ;;
    '--port')
        return
        ;;
    '--service-host')
        return
        ;;
    '--database-url')
        return
        ;;
    '--amqp-url')
        return
        ;;
    '--amqp-queue-type')
        __ecom_add_completions -W 'classic'$'\n''quorum'
        return
        ;;
    '--data-dir')
        return
        ;;
    '--log-level')
        __ecom_add_completions -W 'trace'$'\n''debug'$'\n''info'$'\n''notice'$'\n''warning'$'\n''error'$'\n''critical'
        return
        ;;
    '--write-units')
        __ecom_add_completions -d
        return
        ;;
    '--unit-executable')
        __ecom_add_completions -f
        return
        ;;
    esac
}

_ecom_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __ecom_offer_flags_options -1
}

complete -o filenames -F _ecom ecom

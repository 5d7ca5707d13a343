# shellcheck shell=bash
# Helpers for throwaway test servers, sourced by .ci/run and .ci/test.
#
#   start_throwaway_postgres   exports ECOM_TEST_DATABASE_URL (+ ECOM_TEST_POSTGRES_DIR)
#   start_throwaway_postgres_pair  a primary with a synchronous standby (see there)
#   start_throwaway_rabbitmq   exports ECOM_TEST_AMQP_URL, ECOM_TEST_RABBITMQCTL,
#                              ECOM_TEST_RABBITMQ_ENV_FILE, ECOM_TEST_RABBITMQ_API_URL
#                              (+ ECOM_TEST_RABBITMQ_DIR), and its TLS listener's
#                              ECOM_TEST_AMQPS_URL (amqps://…@localhost) with the authority
#                              that signed its certificate, ECOM_TEST_RABBITMQ_CA
#
# A test's own vhost, either way (user guest, password guest, from loopback only):
#   "$ECOM_TEST_RABBITMQCTL" add_vhost V
#   "$ECOM_TEST_RABBITMQCTL" set_permissions -p V guest '.*' '.*' '.*'
# or, much cheaper, the management API:
#   PUT $ECOM_TEST_RABBITMQ_API_URL/vhosts/V                    (basic auth guest:guest)
#   PUT $ECOM_TEST_RABBITMQ_API_URL/permissions/V/guest
#       {"configure":".*","write":".*","read":".*"}  (content-type: application/json)
#   DELETE $ECOM_TEST_RABBITMQ_API_URL/vhosts/V                 when done
# then connect to the AMQP URL with the vhost as its path (URL-encoded).
# ECOM_TEST_RABBITMQCTL is a script that loads ECOM_TEST_RABBITMQ_ENV_FILE (literal
# KEY=VALUE lines: the whole environment rabbitmqctl needs) and runs the real rabbitmqctl.
#
# Both listen on 127.0.0.1 only, on free ports, with all state in a fresh temporary
# directory, and are stopped and deleted by an EXIT trap (composed with any trap already
# set; add your own with `ecom_on_exit 'command'`). With ECOM_CI_NO_TRAP=1 no trap is
# registered and the caller stops them with `stop_throwaway_postgres DIR` /
# `stop_throwaway_rabbitmq DIR`; a test helper that needs a private server can use that:
# `ECOM_CI_NO_TRAP=1 start_throwaway_rabbitmq` in a `bash -c` that prints the variables.
# For broker faults, `ecom_rabbitmq_node_stop DIR` / `ecom_rabbitmq_node_start DIR` stop
# and restart the node in DIR (ECOM_TEST_RABBITMQ_DIR) on the same ports, data kept.
#
# A Swift helper not going through ECOM_TEST_RABBITMQCTL: read ECOM_TEST_RABBITMQ_ENV_FILE,
# split each line at its first '=', overlay that on the environment (PATH must still
# reach /usr/bin) and run /usr/lib/rabbitmq/bin/rabbitmqctl (not /usr/sbin/rabbitmqctl,
# which as root switches to the rabbitmq user and HOME, so the cookie no longer matches).

# --- cleanup -------------------------------------------------------------------------

_ecom_cleanups=()
_ecom_trap_owner=
_ecom_prev_exit_trap=

_ecom_run_cleanups() {
    local rc=$? i
    set +e
    for ((i = ${#_ecom_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${_ecom_cleanups[i]}"
    done
    _ecom_cleanups=()
    if [[ -n $_ecom_prev_exit_trap ]]; then
        eval "$_ecom_prev_exit_trap"
    fi
    return "$rc"
}

# ecom_on_exit COMMAND: run COMMAND (eval'd) when the shell exits, last registered first.
ecom_on_exit() {
    _ecom_cleanups+=("$1")
    if [[ $_ecom_trap_owner != "$BASHPID" ]]; then
        # Keep whatever EXIT trap the caller already had and run it after ours.
        local prev
        prev=$(trap -p EXIT)
        if [[ -n $prev && $prev != *_ecom_run_cleanups* ]]; then
            prev=${prev#trap -- }
            prev=${prev% EXIT}
            eval "_ecom_prev_exit_trap=$prev"
        fi
        trap _ecom_run_cleanups EXIT
        # Turn the usual terminating signals into an exit so the EXIT trap runs.
        local sig code
        for sig in HUP:129 INT:130 TERM:143; do
            code=${sig#*:} sig=${sig%:*}
            if [[ -z $(trap -p "$sig") ]]; then trap "exit $code" "$sig"; fi
        done
        _ecom_trap_owner=$BASHPID
    fi
}

# --- small helpers -------------------------------------------------------------------

_ecom_log() { printf '%s\n' "$*" >&2; }

_ecom_ports_given=" "

# True if something accepts connections on 127.0.0.1:PORT (or holds it, when ss exists).
_ecom_port_busy() {
    local port=$1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        return 0
    fi
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Htan "( sport = :$port )" 2>/dev/null) ]] && return 0
    fi
    return 1
}

# ecom_free_port: print a TCP port that is free on 127.0.0.1. Ports come from 20000–32767,
# below Linux's ephemeral range, so outgoing connections do not take them meanwhile; a
# port is never handed out twice by the same shell.
ecom_free_port() {
    local port tries
    for ((tries = 0; tries < 200; tries++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        [[ $_ecom_ports_given == *" $port "* ]] && continue
        _ecom_port_busy "$port" && continue
        _ecom_ports_given+="$port "
        printf '%s\n' "$port"
        return 0
    done
    _ecom_log "ecom_free_port: no free port found"
    return 1
}

_ecom_random_word() { # N lowercase letters/digits
    local n=${1:-8} chars=abcdefghijklmnopqrstuvwxyz0123456789 s= i
    for ((i = 0; i < n; i++)); do s+=${chars:RANDOM % 36:1}; done
    printf '%s\n' "$s"
}

# Wait up to SECONDS for a TCP connect to 127.0.0.1:PORT; fail early if PID dies.
_ecom_wait_for_port() {
    local port=$1 seconds=$2 pid=${3:-} deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.2
    done
    return 1
}

# --- PostgreSQL ----------------------------------------------------------------------

# Newest /usr/lib/postgresql/*/bin with server binaries (pg_config --bindir may name the
# client-only directory).
ecom_postgres_bindir() {
    local dir best=
    for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
        [[ -x $dir/postgres && -x $dir/initdb && -x $dir/pg_ctl ]] && best=$dir
    done
    if [[ -z $best ]] && command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir)
        [[ -x $dir/postgres ]] && best=$dir
    fi
    if [[ -z $best ]]; then
        _ecom_log "no PostgreSQL server binaries found (install the postgresql package: .ci/deps)"
        return 1
    fi
    printf '%s\n' "$best"
}

# Run a PostgreSQL server binary: as the postgres user when root (they refuse root),
# from inside DIR so the postgres user can stat the working directory.
_ecom_pg_run() {
    local dir=$1
    shift
    if ((EUID == 0)); then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

# _ecom_pg_initdb DIR BINDIR DATA: a cluster in DATA (superuser postgres, trust, UTF-8, C).
_ecom_pg_initdb() {
    local dir=$1 bindir=$2 data=$3
    if ! _ecom_pg_run "$dir" "$bindir/initdb" -D "$data" -U postgres --auth=trust \
        -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        _ecom_log "initdb failed:"
        cat "$dir/initdb.log" >&2
        return 1
    fi
}

start_throwaway_postgres() {
    local bindir dir port tries
    bindir=$(ecom_postgres_bindir) || return 1
    if ((EUID == 0)); then
        # The postgres user must reach it: not under /root, whatever TMPDIR says.
        dir=$(mktemp -d /tmp/ecom-pg.XXXXXX) || return 1
        chown postgres: "$dir" || return 1
    else
        dir=$(mktemp -d "${TMPDIR:-/tmp}/ecom-pg.XXXXXX") || return 1
    fi
    chmod 700 "$dir"
    [[ ${ECOM_CI_NO_TRAP:-} == 1 ]] || ecom_on_exit "stop_throwaway_postgres '$dir'"

    _ecom_pg_initdb "$dir" "$bindir" "$dir/data" || return 1
    # Tests trade durability for speed; ECOM_PG_DURABLE=1 (the benchmarks) keeps PostgreSQL's
    # durable defaults, as the embedded cluster does, and counts statements and their plannings
    # (pg_stat_statements).
    local settings="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [[ ${ECOM_PG_DURABLE:-} == 1 ]]; then
        settings="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
        settings+=" -c pg_stat_statements.track_planning=on"
    fi
    # ECOM_PG_OPTIONS='-c name=value …': more server settings (the benchmarks try them so).
    settings+=" ${ECOM_PG_OPTIONS:-}"
    # ECOM_PG_SSL_CERT=FILE ECOM_PG_SSL_KEY=FILE: TLS with that certificate and key.
    if [[ -n ${ECOM_PG_SSL_CERT:-} ]]; then
        cp "$ECOM_PG_SSL_CERT" "$dir/server.pem" && cp "$ECOM_PG_SSL_KEY" "$dir/server.key" || return 1
        ((EUID == 0)) && chown postgres: "$dir/server.pem" "$dir/server.key"
        chmod 600 "$dir/server.key"
        settings+=" -c ssl=on -c ssl_cert_file=$dir/server.pem -c ssl_key_file=$dir/server.key"
    fi
    # ECOM_PG_LISTEN=ADDRESS: listen there too, trusting its /24 (a test's network namespaces).
    local listen=127.0.0.1
    if [[ -n ${ECOM_PG_LISTEN:-} ]]; then
        listen+=",$ECOM_PG_LISTEN"
        printf 'host all all %s.0/24 trust\n' "${ECOM_PG_LISTEN%.*}" >>"$dir/data/pg_hba.conf"
    fi
    for ((tries = 0; tries < 5; tries++)); do
        port=$(ecom_free_port) || return 1
        if _ecom_pg_run "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
            -w -t 60 -s start -o "-c listen_addresses=$listen -p $port -k $dir $settings \
            -c max_connections=500" >>"$dir/pg_ctl.log" 2>&1; then
            printf '%s\n' "$bindir" >"$dir/bindir"
            export ECOM_TEST_POSTGRES_DIR=$dir
            # A generous connect timeout: when the whole suite starts at once, hundreds of
            # connections queue at the postmaster of a 2-core machine for seconds.
            export ECOM_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres?connect_timeout=30"
            return 0
        fi
        # Most likely the port was taken in the meantime: try another one.
        tail -n 5 "$dir/postgres.log" >&2 2>/dev/null || true
    done
    _ecom_log "could not start PostgreSQL; log in $dir/postgres.log:"
    cat "$dir/pg_ctl.log" "$dir/postgres.log" >&2 2>/dev/null
    return 1
}

stop_throwaway_postgres() {
    local dir=$1 bindir
    [[ -d $dir ]] || return 0
    if [[ -f $dir/data/postmaster.pid ]]; then
        bindir=$(cat "$dir/bindir" 2>/dev/null || ecom_postgres_bindir)
        _ecom_pg_run "$dir" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 -s stop \
            >/dev/null 2>&1 || true
    fi
    rm -rf -- "$dir"
}

# start_throwaway_postgres_pair: a primary and a hot standby streaming from it, with
# synchronous replication (a commit is acknowledged once the standby has flushed it), for
# failover tests. Exports ECOM_TEST_POSTGRES_PAIR_DIR and ECOM_TEST_POSTGRES_PAIR_URL, a
# multi-host URL (database "postgres") that reaches whichever of the two accepts writes.
#   ecom_postgres_pair_stop_primary DIR    pg_ctl stop -m fast of the primary
#   ecom_postgres_pair_promote DIR         promotes the standby (waits until it accepts writes)
#   stop_throwaway_postgres_pair DIR       stops both and deletes everything
# The standby is configured without synchronous standbys of its own: promoted, it commits alone.
start_throwaway_postgres_pair() {
    local bindir dir primary_port standby_port settings i state
    bindir=$(ecom_postgres_bindir) || return 1
    dir=$(mktemp -d /tmp/ecom-pgpair.XXXXXX) || return 1
    ((EUID == 0)) && { chown postgres: "$dir" || return 1; }
    chmod 700 "$dir"
    printf '%s\n' "$bindir" >"$dir/bindir"
    [[ ${ECOM_CI_NO_TRAP:-} == 1 ]] || ecom_on_exit "stop_throwaway_postgres_pair '$dir'"
    _ecom_pg_initdb "$dir" "$bindir" "$dir/primary" || return 1
    primary_port=$(ecom_free_port) || return 1
    standby_port=$(ecom_free_port) || return 1
    # Durable enough for what failover tests check: a fast shutdown flushes everything, and
    # synchronous_commit=on waits for the standby's flush.
    settings="-c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c full_page_writes=off \
        -c max_connections=200 -c wal_level=replica -c max_wal_senders=4 -c hot_standby=on"
    if ! _ecom_pg_run "$dir" "$bindir/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w -t 60 -s start \
        -o "$settings -p $primary_port -c synchronous_standby_names=ecom_standby -c synchronous_commit=on" \
        >>"$dir/pg_ctl.log" 2>&1; then
        _ecom_log "the primary did not start:"
        tail -n 20 "$dir/primary.log" >&2
        return 1
    fi
    if ! _ecom_pg_run "$dir" "$bindir/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
        -D "$dir/standby" -X stream --no-sync >>"$dir/basebackup.log" 2>&1; then
        _ecom_log "pg_basebackup failed:"
        cat "$dir/basebackup.log" >&2
        return 1
    fi
    _ecom_pg_run "$dir" touch "$dir/standby/standby.signal"
    printf "primary_conninfo = 'host=127.0.0.1 port=%s user=postgres application_name=ecom_standby'\n" \
        "$primary_port" | _ecom_pg_run "$dir" tee -a "$dir/standby/postgresql.auto.conf" >/dev/null
    if ! _ecom_pg_run "$dir" "$bindir/pg_ctl" -D "$dir/standby" -l "$dir/standby.log" -w -t 60 -s start \
        -o "$settings -p $standby_port" >>"$dir/pg_ctl.log" 2>&1; then
        _ecom_log "the standby did not start:"
        tail -n 20 "$dir/standby.log" >&2
        return 1
    fi
    for ((i = 0; i < 300; i++)); do
        state=$(_ecom_pg_run "$dir" "$bindir/psql" -h 127.0.0.1 -p "$primary_port" -U postgres -d postgres -Atq \
            -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'ecom_standby'" 2>/dev/null)
        [[ $state == sync ]] && break
        sleep 0.1
    done
    if [[ $state != sync ]]; then
        _ecom_log "the standby is not a synchronous standby after 30 s:"
        tail -n 20 "$dir/standby.log" >&2
        return 1
    fi
    printf '%s\n' "$primary_port" >"$dir/primary_port"
    printf '%s\n' "$standby_port" >"$dir/standby_port"
    export ECOM_TEST_POSTGRES_PAIR_DIR=$dir
    export ECOM_TEST_POSTGRES_PAIR_URL="postgresql://postgres@127.0.0.1:$primary_port,127.0.0.1:$standby_port/postgres?target_session_attrs=read-write&connect_timeout=5"
}

ecom_postgres_pair_stop_primary() {
    local dir=$1
    _ecom_pg_run "$dir" "$(cat "$dir/bindir")/pg_ctl" -D "$dir/primary" -m fast -w -t 60 -s stop
}

ecom_postgres_pair_promote() {
    local dir=$1
    _ecom_pg_run "$dir" "$(cat "$dir/bindir")/pg_ctl" -D "$dir/standby" -w -t 60 -s promote
}

stop_throwaway_postgres_pair() {
    local dir=$1 bindir node
    [[ -d $dir ]] || return 0
    bindir=$(cat "$dir/bindir" 2>/dev/null || ecom_postgres_bindir)
    for node in standby primary; do
        if [[ -f $dir/$node/postmaster.pid ]]; then
            _ecom_pg_run "$dir" "$bindir/pg_ctl" -D "$dir/$node" -m immediate -w -t 30 -s stop >/dev/null 2>&1 || true
        fi
    done
    rm -rf -- "$dir"
}

# --- the distributable build -----------------------------------------------------------

# ecom_static_build ARGS…: `swift build` of the distributable ecom with ARGS (`--product ecom`,
# `--show-bin-path`): release, the Swift runtime and Foundation linked in, in .build-static.
# Linked by lld with packed relative relocations (DT_RELR, which glibc 2.36 applies: 29 KB
# instead of 3.6 MB of relocation entries read at each start) and without exporting the
# executable's own symbols (the static runtime's link arguments export them all, 50,000, which
# the loader and the runtime's start-up search): a one-shot command starts about a millisecond
# sooner with 5 MB less resident (README, "Benchmarks"). The system's libcurl, which
# FoundationNetworking names for linking, is left out: a libcurl of its own, HTTP and HTTPS only
# (ecom_minimal_curl), is linked whole with OpenSSL's static libraries instead, its functions
# taking the place of the weak ones CLazyLibraries defines to open the system's at the first
# call. libpq and librabbitmq stay opened at their first call, by `ecom serve` only.
ecom_static_build() {
    local curl=()
    if [[ " $* " != *" --show-bin-path "* ]]; then
        local archive
        archive=$(ecom_minimal_curl) || return 1
        curl=(-Xlinker --whole-archive -Xlinker "$archive" -Xlinker --no-whole-archive
            -Xlinker -l:libssl.a -Xlinker -l:libcrypto.a)
    fi
    # Generic types' metadata got through direct accessors rather than by demangling their
    # names, which checks each generic requirement with a search of the binary's 12,000
    # conformance records; and each function in a section of its own, so that lld can put the
    # ones .ci/startup.order lists (what one-shot commands run) side by side.
    local order=()
    [[ -s .ci/startup.order ]] &&
        order=(-Xlinker "--symbol-ordering-file=$PWD/.ci/startup.order" -Xlinker --no-warn-symbol-ordering)
    swift build -c release --static-swift-stdlib --scratch-path .build-static -Xswiftc -use-ld=lld \
        -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
        -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
        -Xswiftc -Xfrontend -Xswiftc -disable-autolink-library -Xswiftc -Xfrontend -Xswiftc curl \
        -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections "${order[@]}" "${curl[@]}" "$@"
}

# ecom_minimal_curl: prints the path of a libcurl.a that speaks HTTP and HTTPS only, for the
# distributable ecom to link, built once (in .build-static) from the Debian source of the
# libcurl that .ci/deps installed, Debian's patches applied, so it has the same fixes. Debian's
# own libcurl is built with every protocol and brings 30 libraries (LDAP, RTMP, SSH, Kerberos,
# GnuTLS, …), whose loading was most of what a one-shot request waited for. It is linked with
# OpenSSL's static libraries (libssl-dev), so the binary needs neither libcurl4 nor libssl3.
ecom_minimal_curl() {
    local version dir apt_dir sources
    version=$(dpkg-query -W -f='${source:Version}' libcurl4-openssl-dev) || return 1
    dir="$PWD/.build-static/curl-$version"
    if [[ ! -s $dir/libcurl.a ]]; then
        _ecom_log "building libcurl $version (HTTP and HTTPS only) for the distributable ecom"
        rm -rf "$dir" && mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/apt/sources" || return 1
        # The source lists of the Debian archives this machine installs from, read by an apt of
        # its own, so that the system's configuration is left as it is.
        sources=$(sed -n 's/^Types: deb$/Types: deb-src/p; /^Types:/!p' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
        [[ -n $sources ]] || sources=$(sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list 2>/dev/null)
        if [[ $sources == *Types:* ]]; then
            printf '%s\n' "$sources" >"$dir/apt/sources/debian.sources"
        else
            printf '%s\n' "$sources" >"$dir/apt/sources/debian.list"
        fi
        apt_dir=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$dir/apt/sources"
            -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache" -o Debug::NoLocking=1)
        (
            cd "$dir" &&
                apt-get -qq "${apt_dir[@]}" update &&
                # The archive may have moved on to a later update: its source then, the same release.
                { apt-get -qq "${apt_dir[@]}" source --download-only "curl=$version" ||
                    apt-get -qq "${apt_dir[@]}" source --download-only curl; } &&
                dpkg-source -x --no-check ./curl_*.dsc source &&
                cd source &&
                CC=$(command -v clang || echo cc) CFLAGS="-O2 -fPIC" ./configure --disable-shared --enable-static --with-pic \
                    --with-openssl --without-zlib --without-brotli --without-zstd --without-nghttp2 --without-libpsl \
                    --without-libidn2 --without-libssh2 --without-librtmp --without-gssapi --disable-ldap --disable-ldaps \
                    --disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb \
                    --disable-smtp --disable-gopher --disable-mqtt --disable-ftp --disable-file --disable-manual --disable-docs \
                    --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --with-ca-path=/etc/ssl/certs &&
                make -j"$(nproc)" -C lib &&
                cp lib/.libs/libcurl.a "$dir/libcurl.a.part" &&
                mv "$dir/libcurl.a.part" "$dir/libcurl.a"
        ) >"$dir/build.log" 2>&1 || {
            _ecom_log "building libcurl failed; the end of $dir/build.log:"
            tail -n 30 "$dir/build.log" >&2
            return 1
        }
    fi
    printf '%s\n' "$dir/libcurl.a"
}

# The libraries that resolve most of the dynamic loader's symbol look-ups at start, first among
# those it loads. Each look-up searches the loaded objects in load order until one defines the
# symbol, and OpenSSL's libcrypto (mostly its own symbols, which it binds through the search),
# libstdc++ and libc answer three quarters of ecom's 12,000; linked in the order the linker
# meets libraries, they came after 20 to 40 others. Since libcurl is linked in and libpq and
# librabbitmq are opened at their first call (Sources/CLazyLibraries), only libstdc++ and libc of these are
# loaded at start; the rest come with libcurl, in the order of its own needed libraries.
_ecom_libraries_first=(libcrypto.so.3 libstdc++.so.6 libc.so.6 libssl.so.3 libgnutls.so.30 libnettle.so.8 libunistring.so.2)

# ecom_libraries_first BINARY: lists first, as its first needed libraries, those of
# _ecom_libraries_first that BINARY loads anyway (directly or through another library), so
# it loads the same libraries, in an order that makes its start cheaper. The change is made on a
# copy and kept only if the dynamic loader accepts the copy and it runs.
ecom_libraries_first() {
    local binary=$1 loaded needed wanted=() library copy
    loaded=$(ldd "$binary") || return 1
    for library in "${_ecom_libraries_first[@]}"; do
        grep -q "^[[:space:]]*$library " <<<"$loaded" && wanted+=("$library")
    done
    needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    copy="$binary.reordered"
    if cp -p "$binary" "$copy" && _ecom_put_needed_first "$copy" "$needed" "${wanted[@]}" &&
        "$(patchelf --print-interpreter "$copy")" --verify "$copy" && "$copy" --version >/dev/null; then
        mv -f "$copy" "$binary"
    else
        _ecom_log "the dynamic loader refused $binary with its libraries reordered; kept as linked"
        rm -f "$copy"
    fi
}

# _ecom_put_needed_first BINARY NEEDED LIBRARY…: makes the LIBRARYs BINARY's first needed
# libraries, in that order (NEEDED: its needed libraries before, one per line).
_ecom_put_needed_first() {
    local binary=$1 needed=$2 library i
    shift 2
    for library in "$@"; do
        if grep -qx "$library" <<<"$needed"; then patchelf --remove-needed "$library" "$binary" || return 1; fi
    done
    # Each addition goes first.
    for ((i = $#; i >= 1; i--)); do
        patchelf --add-needed "${!i}" "$binary" || return 1
    done
}

# ecom_distributable BINARY OUT: the file users get (the Debian package's, the one the bench
# measures): BINARY without its debug information and symbols, its libraries in the order
# ecom_libraries_first gives them.
ecom_distributable() {
    local binary=$1 out=$2
    install -m 755 "$binary" "$out.part" &&
        strip --strip-unneeded --remove-section=.comment --remove-section=.note "$out.part" &&
        ecom_libraries_first "$out.part" &&
        mv -f "$out.part" "$out"
}

# --- certificates --------------------------------------------------------------------

# ecom_test_ca DIR NAME: a throwaway certificate authority (DIR/NAME-ca.pem, its key
# NAME-ca.key) and a server certificate it signed for 127.0.0.1 and localhost, valid two days
# (NAME-server.pem, NAME-server.key).
ecom_test_ca() {
    local dir=$1 name=$2
    {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj "/CN=ecom test authority $name" -keyout "$dir/$name-ca.key" -out "$dir/$name-ca.pem" &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
                -keyout "$dir/$name-server.key" -out "$dir/$name-server.csr" &&
            printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=CA:FALSE' \
                'keyUsage=digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' >"$dir/$name-server.ext" &&
            openssl x509 -req -in "$dir/$name-server.csr" -CA "$dir/$name-ca.pem" -CAkey "$dir/$name-ca.key" \
                -CAcreateserial -days 2 -extfile "$dir/$name-server.ext" -out "$dir/$name-server.pem"
    } 2>"$dir/$name-openssl.log" || {
        _ecom_log "making a test certificate failed:"
        cat "$dir/$name-openssl.log" >&2
        return 1
    }
}

# --- network namespaces ----------------------------------------------------------------

# ecom_netns_lab_start N: N network namespaces ("hosts") on a bridge of their own, each with
# its address on a random 10.x.y.0/24 whose .1 is the bridge's (this namespace's way in).
# Root only; needs iproute2. Prints the lab's directory: its `hosts` file has a line per host,
# "NAMESPACE ADDRESS"; `bridge_address` the bridge's. Stop with ecom_netns_lab_stop DIR.
ecom_netns_lab_start() {
    local n=$1 dir id subnet bridge i host
    if ((EUID != 0)) || ! command -v ip >/dev/null 2>&1; then
        _ecom_log "network namespaces need root and iproute2 (.ci/deps)"
        return 1
    fi
    dir=$(mktemp -d /tmp/ecom-lab.XXXXXX) || return 1
    id=$(_ecom_random_word 4)
    subnet="10.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
    bridge="ecbr$id"
    printf '%s\n' "$bridge" >"$dir/bridge"
    printf '%s\n' "$subnet.1" >"$dir/bridge_address"
    : >"$dir/hosts"
    ip link add "$bridge" type bridge || return 1
    ip addr add "$subnet.1/24" dev "$bridge" && ip link set "$bridge" up || return 1
    for ((i = 1; i <= n; i++)); do
        host="ecom$id$i"
        ip netns add "$host" || return 1
        printf '%s %s\n' "$host" "$subnet.$((10 + i))" >>"$dir/hosts"
        ip link add "ev$id${i}a" type veth peer name "ev$id${i}b" || return 1
        ip link set "ev$id${i}a" master "$bridge" up || return 1
        ip link set "ev$id${i}b" netns "$host" || return 1
        ip -n "$host" addr add "$subnet.$((10 + i))/24" dev "ev$id${i}b" || return 1
        ip -n "$host" link set "ev$id${i}b" up && ip -n "$host" link set lo up || return 1
    done
    printf '%s\n' "$dir"
}

ecom_netns_lab_stop() {
    local dir=$1 host address
    [[ -d $dir ]] || return 0
    while read -r host address; do
        ip netns del "$host" 2>/dev/null || true
    done <"$dir/hosts"
    ip link del "$(cat "$dir/bridge")" 2>/dev/null || true
    rm -rf -- "$dir"
}

# --- RabbitMQ ------------------------------------------------------------------------

ECOM_RABBITMQ_SBIN=${ECOM_RABBITMQ_SBIN:-/usr/lib/rabbitmq/bin}

# _ecom_rabbitmq_env DIR: export the variables of DIR/env (KEY=VALUE lines, taken literally).
_ecom_rabbitmq_env() {
    local line key value
    while IFS= read -r line || [[ -n $line ]]; do
        [[ -z $line || $line == \#* ]] && continue
        key=${line%%=*} value=${line#*=}
        export "$key=$value"
    done <"$1/env"
}

# Start (or restart) the node whose state lives in DIR; it runs in its own session with
# its pid in DIR/pid, and must answer on the AMQP port within 180 s: it boots in about 10 s,
# but on a 2-core machine running the whole test suite at once it has been seen to take 60.
ecom_rabbitmq_node_start() {
    local dir=$1 pid port
    port=$(sed -n 's/^RABBITMQ_NODE_PORT=//p' "$dir/env")
    rm -f "$dir/pid"
    (
        _ecom_rabbitmq_env "$dir"
        cd "$dir" || exit 1
        # Forked into its own session (no child left for a caller's `wait`); the node's
        # pid is also its session and process group id. Signals get their default handling
        # back: a caller that ignores SIGTERM (a test process watching for it does) would
        # pass that on, and the node would not stop when told to.
        exec setsid -f env --default-signal bash -c 'echo $$ >"$1/pid"; exec "$2/rabbitmq-server"' _ "$dir" \
            "$ECOM_RABBITMQ_SBIN" </dev/null >>"$dir/log/console.log" 2>&1
    )
    local deadline=$((SECONDS + 10))
    while [[ ! -s $dir/pid ]] && ((SECONDS < deadline)); do sleep 0.05; done
    pid=$(cat "$dir/pid" 2>/dev/null || true)
    if [[ -z $pid ]] || ! _ecom_wait_for_port "$port" 180 "$pid"; then
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            _ecom_log "RabbitMQ did not answer on port $port within 180 s; last lines of $dir/log:"
        else
            _ecom_log "RabbitMQ exited while starting; last lines of $dir/log:"
        fi
        # The console has the boot; once logging is configured, the node writes to its own file.
        tail -n 15 "$dir/log/console.log" >&2 2>/dev/null || true
        tail -n 25 "$dir"/log/*@*.log >&2 2>/dev/null || true
        return 1
    fi
}

# Stop the node of DIR (data kept). SIGTERM makes the Erlang VM stop RabbitMQ gracefully, as
# `rabbitmqctl stop` does, without booting a second VM to ask it (seconds of CPU on a loaded
# machine); whatever is left of its process group after 90 s is killed.
ecom_rabbitmq_node_stop() {
    local dir=$1 pid i
    pid=$(cat "$dir/pid" 2>/dev/null || true)
    [[ -n $pid ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 450; i++)); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid"
}

# Ports are picked free but bound only when the node starts, and parallel tests pick from
# the same range: a node that fails to start (a port taken meanwhile makes a plugin return
# eaddrinuse) is deleted and started again on fresh ports, up to three times.
start_throwaway_rabbitmq() {
    local attempt
    if [[ ! -x $ECOM_RABBITMQ_SBIN/rabbitmq-server ]]; then
        _ecom_log "no $ECOM_RABBITMQ_SBIN/rabbitmq-server (install rabbitmq-server: .ci/deps)"
        return 1
    fi
    for attempt in 1 2 3; do
        _ecom_rabbitmq_attempt_dir=
        if _ecom_start_rabbitmq_once; then
            return 0
        fi
        if [[ -n $_ecom_rabbitmq_attempt_dir ]]; then
            stop_throwaway_rabbitmq "$_ecom_rabbitmq_attempt_dir"
        fi
        ((attempt < 3)) && _ecom_log "RabbitMQ did not start (attempt $attempt of 3); trying again on other ports"
    done
    return 1
}

_ecom_start_rabbitmq_once() {
    local dir node amqp_port epmd_port dist_port api_port ctl_min
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ecom-rabbitmq.XXXXXX") || return 1
    _ecom_rabbitmq_attempt_dir=$dir
    chmod 700 "$dir"
    [[ ${ECOM_CI_NO_TRAP:-} == 1 ]] || ecom_on_exit "stop_throwaway_rabbitmq '$dir'"
    mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"

    node="ecomtest$(_ecom_random_word 8)@localhost"
    # A cluster's nodes share an epmd (so they find each other) and a cookie; see start_throwaway_rabbitmq_cluster.
    amqp_port=$(ecom_free_port) && epmd_port=${_ecom_rabbitmq_cluster_epmd_port:-$(ecom_free_port)} &&
        dist_port=$(ecom_free_port) && api_port=$(ecom_free_port) || return 1
    # A node of its own (not a cluster's) also listens with TLS, its certificate signed by a
    # throwaway authority, for `amqps://` (the server certificate names localhost and 127.0.0.1).
    local tls_port=
    if [[ -z ${_ecom_rabbitmq_cluster_epmd_port:-} ]]; then
        tls_port=$(ecom_free_port) && ecom_test_ca "$dir" rabbitmq || return 1
    fi
    # Each running rabbitmqctl listens on a distribution port from a range (default: 11
    # ports); parallel tests run it in parallel, so give it a wider range of its own.
    ctl_min=$((33000 + RANDOM % 3000))

    if [[ -n ${_ecom_rabbitmq_cluster_cookie:-} ]]; then
        printf '%s' "$_ecom_rabbitmq_cluster_cookie" >"$dir/home/.erlang.cookie"
    else
        _ecom_random_word 32 | tr a-z A-Z | tr -d '\n' >"$dir/home/.erlang.cookie"
    fi
    chmod 400 "$dir/home/.erlang.cookie"
    : >"$dir/rabbitmq-env.conf"
    # The management plugin costs about a second at start and makes creating a vhost an
    # HTTP request (≈ 30 ms) instead of a rabbitmqctl run (≈ 1 s of CPU).
    echo '[rabbitmq_management].' >"$dir/enabled_plugins"
    cat >"$dir/rabbitmq.conf" <<EOF
loopback_users.guest = true
log.console = false
log.file.level = info
disk_free_limit.absolute = 10MB
management.tcp.ip = 127.0.0.1
management.tcp.port = $api_port
management_agent.disable_metrics_collector = true
EOF
    if [[ -n $tls_port ]]; then
        cat >>"$dir/rabbitmq.conf" <<EOF
listeners.ssl.default = 127.0.0.1:$tls_port
ssl_options.cacertfile = $dir/rabbitmq-ca.pem
ssl_options.certfile = $dir/rabbitmq-server.pem
ssl_options.keyfile = $dir/rabbitmq-server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
EOF
    fi
    # The node's and the CLI's whole environment; rabbitmqctl needs it all (cookie in
    # HOME, node name, private epmd). Literal KEY=VALUE lines, no quoting.
    cat >"$dir/env" <<EOF
HOME=$dir/home
LC_ALL=C.UTF-8
RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
RABBITMQ_NODENAME=$node
RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
RABBITMQ_NODE_PORT=$amqp_port
RABBITMQ_DIST_PORT=$dist_port
RABBITMQ_MNESIA_BASE=$dir/mnesia
RABBITMQ_LOG_BASE=$dir/log
RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
RABBITMQ_PID_FILE=$dir/rabbitmq.pid
RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}
RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}
RABBITMQ_CTL_DIST_PORT_MIN=$ctl_min
RABBITMQ_CTL_DIST_PORT_MAX=$((ctl_min + 100))
ERL_EPMD_ADDRESS=127.0.0.1
ERL_EPMD_PORT=$epmd_port
EOF
    cat >"$dir/rabbitmqctl" <<EOF
#!/usr/bin/env bash
# rabbitmqctl for the throwaway node in $dir
while IFS= read -r line || [[ -n \$line ]]; do
    [[ -z \$line || \$line == \\#* ]] && continue
    export "\${line%%=*}=\${line#*=}"
done <"$dir/env"
exec "$ECOM_RABBITMQ_SBIN/rabbitmqctl" "\$@"
EOF
    chmod 755 "$dir/rabbitmqctl"

    ecom_rabbitmq_node_start "$dir" || return 1
    if ! _ecom_wait_for_port "$api_port" 30; then
        _ecom_log "RabbitMQ's management API is not listening; see $dir/log"
        return 1
    fi
    export ECOM_TEST_RABBITMQ_DIR=$dir
    export ECOM_TEST_RABBITMQ_ENV_FILE=$dir/env
    export ECOM_TEST_RABBITMQCTL=$dir/rabbitmqctl
    export ECOM_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:$amqp_port/"
    export ECOM_TEST_RABBITMQ_API_URL="http://127.0.0.1:$api_port/api"
    if [[ -n $tls_port ]]; then
        export ECOM_TEST_AMQPS_URL="amqps://guest:guest@localhost:$tls_port/"
        export ECOM_TEST_RABBITMQ_CA=$dir/rabbitmq-ca.pem
    fi
}

stop_throwaway_rabbitmq() {
    local dir=$1 epmd_port
    [[ -d $dir ]] || return 0
    ecom_rabbitmq_node_stop "$dir"
    # epmd outlives the node; ours is alone on its private port.
    epmd_port=$(sed -n 's/^ERL_EPMD_PORT=//p' "$dir/env" 2>/dev/null)
    if [[ -n $epmd_port ]]; then
        ERL_EPMD_PORT=$epmd_port ERL_EPMD_ADDRESS=127.0.0.1 epmd -kill >/dev/null 2>&1 || true
    fi
    rm -rf -- "$dir"
}

# start_throwaway_rabbitmq_cluster N: N nodes on this machine (ports of their own, one epmd and one
# cookie between them) joined into one cluster. Exports ECOM_TEST_RABBITMQ_CLUSTER_DIRS (the nodes'
# directories, space-separated, the first node first) and ECOM_TEST_AMQP_URLS (their AMQP URLs,
# comma-separated). Each node stops and starts with ecom_rabbitmq_node_stop/_start on its directory.
start_throwaway_rabbitmq_cluster() {
    local count=$1 i first_node dir
    local -a dirs=() urls=()
    local _ecom_rabbitmq_cluster_epmd_port _ecom_rabbitmq_cluster_cookie
    _ecom_rabbitmq_cluster_epmd_port=$(ecom_free_port) || return 1
    _ecom_rabbitmq_cluster_cookie=$(_ecom_random_word 32 | tr a-z A-Z)
    for ((i = 0; i < count; i++)); do
        if ! start_throwaway_rabbitmq; then
            for dir in "${dirs[@]}"; do stop_throwaway_rabbitmq "$dir"; done
            return 1
        fi
        dirs+=("$ECOM_TEST_RABBITMQ_DIR")
        urls+=("$ECOM_TEST_AMQP_URL")
        if ((i == 0)); then
            first_node=$(sed -n 's/^RABBITMQ_NODENAME=//p' "$ECOM_TEST_RABBITMQ_DIR/env")
            continue
        fi
        if ! { "$ECOM_TEST_RABBITMQCTL" -q stop_app && "$ECOM_TEST_RABBITMQCTL" -q reset &&
            "$ECOM_TEST_RABBITMQCTL" -q join_cluster "$first_node" && "$ECOM_TEST_RABBITMQCTL" -q start_app; } >&2; then
            _ecom_log "node $((i + 1)) of $count could not join $first_node"
            for dir in "${dirs[@]}"; do stop_throwaway_rabbitmq "$dir"; done
            return 1
        fi
    done
    export ECOM_TEST_RABBITMQ_CLUSTER_DIRS="${dirs[*]}"
    ECOM_TEST_AMQP_URLS=$(IFS=,; printf '%s' "${urls[*]}")
    export ECOM_TEST_AMQP_URLS
}

// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// What every service module builds on. Services never depend on one another.
let serviceDependencies: [Target.Dependency] = [
    "EcomAPI",
    "EcomServerKit",
    "EcomPostgres",
    "EcomMessaging",
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "HTTPTypes", package: "swift-http-types"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "Metrics", package: "swift-metrics"),
    .product(name: "AsyncHTTPClient", package: "async-http-client"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
]

let serviceTestDependencies: [Target.Dependency] = [
    "EcomAPI",
    "EcomTestSupport",
    "EcomServerKit",
    "EcomPostgres",
    "EcomMessaging",
    .product(name: "HummingbirdTesting", package: "hummingbird"),
    .product(name: "NIOFoundationCompat", package: "swift-nio"),
    .product(name: "Logging", package: "swift-log"),
]

let package = Package(
    name: "ecom",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ecom", targets: ["ecom"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit", exact: "5.8.0"),
    ],
    targets: [
        // The executable hands over to EcomCLI at once.
        .executableTarget(
            name: "ecom",
            dependencies: ["EcomCLI"],
            swiftSettings: swiftSettings
        ),

        // Command line: the argument-parser tree, output formatting, the REPL and `serve`.
        .target(
            name: "EcomCLI",
            dependencies: [
                "EcomAPI",
                "EcomClient",
                "EcomLineEditor",
                "EcomJQ",
                "EcomServer",
                "EcomMessaging",
                "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Wire types shared by the client and the services. Depends on nothing of ours.
        .target(
            name: "EcomAPI",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // Plumbing every service shares: context, auth, errors, health, metrics, config.
        .target(
            name: "EcomServerKit",
            dependencies: [
                "EcomAPI",
                "EcomPostgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Services: each its own module; they never import one another.
        .target(
            name: "EcomUsers",
            dependencies: [
                "EcomAPI",
                "EcomServerKit",
                "EcomPostgres",
                "CArgon2",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EcomProducts",
            dependencies: serviceDependencies,
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EcomCart",
            dependencies: serviceDependencies,
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EcomOrders",
            dependencies: serviceDependencies,
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EcomNotifications",
            dependencies: serviceDependencies,
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EcomGateway",
            dependencies: [
                "EcomAPI",
                "EcomServerKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            // The OpenAPI document, carried inside the binary as OpenAPIDocument (embedded-files.json).
            exclude: ["openapi.json", "embedded-files.json"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedFiles"]
        ),

        // Composition root for `ecom serve`: the only module that imports every service.
        .target(
            name: "EcomServer",
            dependencies: [
                "EcomAPI",
                "EcomServerKit",
                "EcomPostgres",
                "EcomUsers",
                "EcomProducts",
                "EcomCart",
                "EcomOrders",
                "EcomNotifications",
                "EcomGateway",
                "EcomMessaging",
                "CMalloc",
                "CLazyLibraries",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // What the embedded default serves (fixtures/catalog.json), carried inside the binary.
            exclude: ["embedded-files.json"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedFiles"]
        ),

        // Package files as Swift constants, made at build time: the plugin, and the tool it runs.
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["ecom-embed-file"], path: "Sources/EmbedFiles"),
        .executableTarget(name: "ecom-embed-file", swiftSettings: swiftSettings),

        // PostgreSQL over libpq: pool, rows, transactions, migrations, embedded cluster.
        .target(
            name: "EcomPostgres",
            dependencies: [
                "EcomAPI",
                "CLibPQ",
                "CLazyLibraries",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Events: outbox relay, inbox worker with retries and parking; local and RabbitMQ transports.
        .target(
            name: "EcomMessaging",
            dependencies: [
                "EcomAPI",
                "EcomPostgres",
                "EcomServerKit",
                "CRabbitMQ",
                "CLazyLibraries",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The typed gateway client the CLI uses, over URLSession; credentials and token refresh.
        .target(
            name: "EcomClient",
            dependencies: [
                "EcomAPI",
                "CLazyLibraries",
                // The event streams only: one-shot requests go through URLSession.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Line editing for the REPL over libedit: prompt, history, completion; the only user of CEditLine.
        .target(
            name: "EcomLineEditor",
            dependencies: ["CEditLine"],
            swiftSettings: swiftSettings
        ),

        // `--jq` over libjq; the only user of CJQ.
        .target(
            name: "EcomJQ",
            dependencies: ["CJQ"],
            swiftSettings: swiftSettings
        ),

        // glibc's malloc tuning; part of the C library, so there is no package to name.
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        // The headers only: CLazyLibraries defines the functions ecom calls and opens the library
        // when one is first called.
        .systemLibrary(name: "CLibPQ", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CRabbitMQ", providers: [.apt(["librabbitmq-dev"])]),
        // libcurl (FoundationNetworking's), libpq and librabbitmq, opened when first called rather
        // than loaded with the 30 libraries they bring at every start (include/lazy_libraries.h).
        .target(name: "CLazyLibraries"),
        .systemLibrary(name: "CArgon2", pkgConfig: "libargon2", providers: [.apt(["libargon2-dev"])]),
        // Debian's libjq-dev has no libjq.pc; the module map links "jq".
        .systemLibrary(name: "CJQ", providers: [.apt(["libjq-dev"])]),

        // The bare Hummingbird JSON route `.ci/bench/run` measures as this machine's ceiling; not shipped.
        .executableTarget(
            name: "ecom-bench-ceiling",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Test helpers: throwaway databases, RabbitMQ virtual hosts and private brokers, and what the services' route tests share.
        .target(
            name: "EcomTestSupport",
            dependencies: [
                "EcomMessaging", "EcomPostgres", .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Tests/EcomTestSupport", swiftSettings: swiftSettings),

        .testTarget(
            name: "EcomAPITests",
            dependencies: ["EcomAPI"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomPostgresTests",
            dependencies: ["EcomPostgres", "EcomTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomServerKitTests",
            dependencies: [
                "EcomServerKit",
                "EcomPostgres",
                "EcomTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomUsersTests",
            dependencies: [
                "EcomUsers",
                "EcomServerKit",
                "EcomPostgres",
                "EcomTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomMessagingTests",
            dependencies: [
                "EcomMessaging", "EcomPostgres", "EcomAPI", "EcomServerKit", "EcomTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomProductsTests",
            dependencies: serviceTestDependencies + ["EcomProducts"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomCartTests",
            dependencies: serviceTestDependencies + ["EcomCart"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomOrdersTests",
            dependencies: serviceTestDependencies + ["EcomOrders"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomClientTests",
            dependencies: ["EcomClient", "EcomAPI"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomLineEditorTests",
            dependencies: ["EcomLineEditor"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomCLITests",
            dependencies: [
                "EcomCLI", "EcomClient", "EcomAPI", "EcomJQ", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomServerTests",
            dependencies: [
                "EcomServer", "EcomGateway", "EcomServerKit", "EcomProducts", "EcomUsers", "EcomMessaging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EcomEndToEndTests",
            dependencies: [
                "EcomAPI",
                "EcomTestSupport",
                "EcomPostgres",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

import EcomPostgres
import Testing

@Suite struct PostgresURLTests {
    @Test("Replacing the database keeps everything else in the URL", arguments: [
        ("postgresql://postgres@127.0.0.1:5433/postgres", "postgresql://postgres@127.0.0.1:5433/ecom_users"),
        ("postgres://user:secret@db.example:5432/shop?sslmode=require", "postgres://user:secret@db.example:5432/ecom_users?sslmode=require"),
        ("postgresql://localhost", "postgresql://localhost/ecom_users"),
        ("postgresql://", "postgresql:///ecom_users"),
        ("postgresql://[::1]:5432/shop", "postgresql://[::1]:5432/ecom_users"),
        ("POSTGRESQL://localhost/shop", "POSTGRESQL://localhost/ecom_users"),
        ("postgresql:///postgres?host=/tmp/ecom/socket&port=5432&user=ecom", "postgresql:///ecom_users?host=/tmp/ecom/socket&port=5432&user=ecom"),
        ("postgresql://localhost?user=ecom", "postgresql://localhost/ecom_users?user=ecom"),
        ("postgresql://localhost/?dbname=shop&user=ecom", "postgresql://localhost/?dbname=ecom_users&user=ecom"),
        ("host=localhost dbname=postgres user=ecom", "host=localhost dbname=ecom_users user=ecom"),
        ("dbname = 'my shop' host=localhost", "dbname = ecom_users host=localhost"),
        ("host=/tmp/socket user=ecom", "host=/tmp/socket user=ecom dbname=ecom_users"),
        ("", "dbname=ecom_users"),
    ])
    func replaceDatabase(url: String, expected: String) {
        #expect(postgresURL(url, replacingDatabaseWith: "ecom_users") == expected)
        #expect(postgresDatabaseName(of: expected) == "ecom_users")
    }

    @Test("The database name is read from either URL format", arguments: [
        ("postgresql://localhost/shop", "shop"),
        ("postgresql://localhost/my%20shop?sslmode=disable", "my shop"),
        ("postgresql://localhost/shop?dbname=other", "other"),
        ("host=localhost dbname='my shop'", "my shop"),
        ("host=localhost dbname=a dbname=b", "b"),
    ] as [(String, String?)])
    func databaseName(url: String, expected: String?) {
        #expect(postgresDatabaseName(of: url) == expected)
    }

    @Test("A URL without a database name has none", arguments: [
        "postgresql://localhost", "postgresql://localhost/", "postgres:///?host=/tmp", "host=localhost user=ecom", "",
    ])
    func noDatabaseName(url: String) {
        #expect(postgresDatabaseName(of: url) == nil)
    }

    @Test("Names that need it are quoted or percent-encoded")
    func quoting() {
        #expect(postgresURL("host=localhost", replacingDatabaseWith: "it's mine") == #"host=localhost dbname='it\'s mine'"#)
        #expect(postgresDatabaseName(of: #"host=localhost dbname='it\'s mine'"#) == "it's mine")
        #expect(postgresURL("postgresql://localhost/shop", replacingDatabaseWith: "my shop") == "postgresql://localhost/my%20shop")
    }
}

import Foundation
import Hummingbird
import Logging

// The ceiling of this machine for `bench/run`: a bare Hummingbird application with one JSON
// route and nothing else (no middleware, no database), built and run like `ecom serve`'s
// listeners. Not part of the shipped product.
//
//     ecom-bench-ceiling PORT    then GET http://127.0.0.1:PORT/json
//
// It is also the events bench's webhook receiver: `POST /hook/N` answers 204 to any body. A
// receiver on the same cores as the store should cost as little as one can.

/// A small fixed body, about the size of one product.
struct Greeting: ResponseEncodable {
    var id: String
    var name: String
    var priceCents: Int
    var stock: Int
    var isActive: Bool
}

let arguments = CommandLine.arguments
guard arguments.count == 2, let port = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: ecom-bench-ceiling PORT\n".utf8))
    exit(64)
}

var logger = Logger(label: "ecom-bench-ceiling")
logger.logLevel = .warning
let router = Router()
router.get("/json") { _, _ in
    Greeting(id: "6f1c2a9e-0b4d-4f3a-9c57-1d2e3f4a5b6c", name: "Aurora Wireless Headphones", priceCents: 12999, stock: 45, isActive: true)
}
router.post("/hook/:n") { request, _ -> HTTPResponse.Status in
    _ = try await request.body.collect(upTo: 1 << 20)
    return .noContent
}
let app = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil), logger: logger)
try await app.runService()
